//! Partner universities for tests: settings with API keys configured, an app with two
//! universities and a client that calls it with their keys, and a sample interpreter.

use super::{spawn_app, test_settings, TestApp};
use hotline_bridge::app::AppState;
use hotline_bridge::auth;
use hotline_bridge::config::{Settings, UniversityAuth};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Adds a fresh API key for each university id; returns the keys by id.
pub fn with_keys(settings: &mut Settings, ids: &[&str]) -> BTreeMap<String, String> {
    let mut keys = BTreeMap::new();
    for id in ids {
        let key = auth::new_secret();
        settings.universities.insert(
            (*id).to_owned(),
            UniversityAuth {
                api_key_sha256: auth::sha256_hex(&key),
            },
        );
        keys.insert((*id).to_owned(), key);
    }
    keys
}

pub struct Env {
    pub app: TestApp,
    pub keys: BTreeMap<String, String>,
    pub http: reqwest::Client,
}

/// An app on the in-memory pool with universities `bfsu` and `sisu`.
pub async fn env() -> Env {
    env_on(None).await
}

/// As `env`, on the Redis pool at `redis_url` when given.
pub async fn env_on(redis_url: Option<String>) -> Env {
    let mut settings = test_settings();
    let keys = with_keys(&mut settings, &["bfsu", "sisu"]);
    let state = match redis_url {
        None => AppState::in_memory(settings),
        Some(url) => {
            settings.redis.url = url;
            hotline_bridge::app::build_state(settings)
                .await
                .expect("state on redis")
        }
    };
    Env {
        app: spawn_app(state).await,
        keys,
        http: reqwest::Client::new(),
    }
}

pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub text: String,
    pub location: Option<String>,
}

impl Env {
    /// `key` is a university id whose key to send, or `None` for no Authorization header.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self.http.request(method, self.app.url(path));
        if let Some(k) = key {
            req = req.bearer_auth(self.keys.get(k).map_or(k, String::as_str));
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        answer(req.send().await.expect("request")).await
    }

    pub async fn create(&self, uni: &str, body: Value) -> Answer {
        let path = format!("/api/universities/{uni}/interpreters");
        self.call(Method::POST, &path, Some(uni), Some(body)).await
    }
}

/// Status and JSON body (panics when a non-empty body is not JSON: every answer must be).
pub async fn answer(r: reqwest::Response) -> Answer {
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = r.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
    };
    Answer {
        status,
        body,
        text,
        location,
    }
}

/// A valid interpreter registration with id `id`.
pub fn ana(id: &str) -> Value {
    json!({
        "id": id,
        "name": "Ana Lima",
        "languages": [{ "language": "pt", "level": "native" }, { "language": "en", "level": "professional" }],
        "timezone": "America/Sao_Paulo",
        "shifts": [
            { "day": "mon", "start": "09:00", "end": "17:00" },
            { "day": "sat", "start": "22:00", "end": "06:00" }
        ]
    })
}
