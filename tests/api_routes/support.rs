//! The router under test, driven with `tower::ServiceExt::oneshot` (no listener): an in-memory
//! `AppState` with operator `wang`, universities `bfsu` and `sisu` and administrator `li`, requests
//! from a chosen client address (`ConnectInfo`), and answers read as JSON.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode};
use axum::Router;
use hotline_bridge::app::AppState;
use hotline_bridge::config::{AdminKey, OperatorAccount, Settings, UniversityAuth};
use hotline_bridge::domain::{CallId, InterpreterId, Language, NodeId, OfferId};
use hotline_bridge::drivers::clock::now_ms;
use hotline_bridge::pool::{Availability, ClaimRequest};
use serde_json::{json, Value};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;
use tower::ServiceExt;

pub const OPERATOR: &str = "wang";
pub const PASSWORD: &str = "correct horse battery staple";
pub const ADMIN_KEY: &str = "admin-key-of-li-0123456789abcdef";
pub const BFSU_KEY: &str = "university-key-of-bfsu-0123456789";
pub const SISU_KEY: &str = "university-key-of-sisu-0123456789";

/// The defaults (no roster, any free media port) with the accounts above.
pub fn settings() -> Settings {
    let mut s = Settings::load_with_env(None, Vec::new()).expect("default settings");
    s.roster.file = String::new();
    s.media.udp_port = 0;
    s.operators.insert(
        OPERATOR.into(),
        OperatorAccount {
            password_argon2: cheap_argon2(PASSWORD),
            languages: vec![],
        },
    );
    s.admins.insert(
        "li".into(),
        AdminKey {
            api_key_sha256: hotline_bridge::auth::sha256_hex(ADMIN_KEY),
        },
    );
    for (id, key) in [("bfsu", BFSU_KEY), ("sisu", SISU_KEY)] {
        s.universities.insert(
            id.into(),
            UniversityAuth {
                api_key_sha256: hotline_bridge::auth::sha256_hex(key),
            },
        );
    }
    s
}

/// An argon2 PHC string with small parameters (read from the string when verifying), so a
/// sign-in costs milliseconds, not seconds, in a debug build.
pub fn cheap_argon2(password: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let params = argon2::Params::new(256, 1, 1, None).expect("params");
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::encode_b64(b"0123456789abcdef").expect("salt");
    a.hash_password(password.as_bytes(), &salt)
        .expect("hash")
        .to_string()
}

/// A client address of its own (TEST-NET-2), so per-address limits of one request do not
/// touch another's.
pub fn address(n: u8) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, n)), 40000)
}

/// The app's router over its state; the state's tasks stop when it is dropped.
pub struct Api {
    pub state: AppState,
    router: Router,
    next_address: AtomicU8,
}

impl Api {
    pub fn new() -> Self {
        Self::with(settings())
    }

    pub fn with(settings: Settings) -> Self {
        let state = AppState::in_memory(settings);
        Self {
            router: hotline_bridge::api::router(state.clone()),
            state,
            next_address: AtomicU8::new(100),
        }
    }

    /// A request from `address(1)`.
    pub fn request(&self, method: Method, path: &str) -> Req<'_> {
        Req {
            router: &self.router,
            request: Request::builder().method(method).uri(path),
            body: Body::empty(),
            from: address(1),
        }
    }

    pub fn get(&self, path: &str) -> Req<'_> {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> Req<'_> {
        self.request(Method::POST, path)
    }

    /// Asserts that `method path`, with `key` as the bearer token if any, is refused with
    /// `status` and the error `code` (one row of a table of refusals).
    pub async fn refused(
        &self,
        (method, path, key): (Method, &str, Option<&str>),
        status: StatusCode,
        code: &str,
    ) {
        let req = self.request(method, path);
        let req = match key {
            Some(k) => req.auth(k),
            None => req,
        };
        req.send().await.error(status, code);
    }

    /// A fresh client address for each call (per-address caps stay out of the way).
    pub fn fresh_address(&self) -> SocketAddr {
        address(self.next_address.fetch_add(1, Ordering::Relaxed))
    }

    /// A live operator session token (logged in without the password check).
    pub fn operator_token(&self) -> String {
        self.state.operators.open(OPERATOR, now_ms()).0
    }

    /// Creates a call for a caller who picked Portuguese; returns its id and caller token.
    pub async fn create_call(&self) -> (String, String) {
        let a = self
            .post("/api/calls")
            .from(self.fresh_address())
            .json(json!({ "chosen": "pt" }))
            .send()
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        let id = a.json["call_id"].as_str().expect("call_id").to_owned();
        let token = a.json["token"].as_str().expect("token").to_owned();
        (id, token)
    }

    /// Waits (without sleeping) until the call's task has ended it.
    pub async fn wait_ended(&self, id: &str) {
        let id = CallId::parse(id).expect("call id");
        let calls = &self.state.calls;
        let mut live = calls.live_count();
        tokio::time::timeout(
            Duration::from_secs(5),
            live.wait_for(|_| calls.get(&id).is_none()),
        )
        .await
        .expect("the call ends within 5 s")
        .expect("the registry is alive");
    }

    /// Registers interpreter `id` (speaking Portuguese) at university `uni` through the API.
    pub async fn register(&self, uni: &str, key: &str, id: &str) {
        let a = self
            .post(&format!("/api/universities/{uni}/interpreters"))
            .auth(key)
            .json(interpreter(id))
            .send()
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    }

    /// Puts a live offer on interpreter `id` (as if the dispatcher were ringing them).
    pub async fn engage(&self, id: &str) {
        let iid = InterpreterId::parse(id).expect("interpreter id");
        let pool = &self.state.pool;
        let now = now_ms();
        pool.set_availability(&iid, Availability::Available, now)
            .await
            .expect("available");
        let claimed = pool
            .claim(&ClaimRequest {
                offer_id: OfferId::random(),
                node: NodeId::new(7),
                call_id: CallId::random(),
                language: Language::parse("pt").expect("pt"),
                candidates: vec![iid],
                now,
                deadline: now + 60_000,
                presence_ttl_ms: 60_000,
            })
            .await
            .expect("claim");
        assert!(claimed.is_some(), "{id} could not be offered a call");
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        self.state.lifecycle.root().cancel();
    }
}

/// A valid interpreter registration with id `id`.
pub fn interpreter(id: &str) -> Value {
    json!({
        "id": id,
        "name": "Ana Lima",
        "languages": [{ "language": "pt", "level": "native" }],
        "timezone": "America/Sao_Paulo",
        "shifts": [{ "day": "mon", "start": "09:00", "end": "17:00" }]
    })
}

/// One request being built.
pub struct Req<'a> {
    router: &'a Router,
    request: axum::http::request::Builder,
    body: Body,
    from: SocketAddr,
}

impl Req<'_> {
    pub fn auth(self, token: &str) -> Self {
        self.header(header::AUTHORIZATION.as_str(), &format!("Bearer {token}"))
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.request = self.request.header(name, value);
        self
    }

    pub fn json(self, body: Value) -> Self {
        self.raw("application/json", body.to_string())
    }

    /// A body of `content_type` as it is (malformed JSON, a body too large).
    pub fn raw(mut self, content_type: &str, body: impl Into<Body>) -> Self {
        self.request = self.request.header(header::CONTENT_TYPE, content_type);
        self.body = body.into();
        self
    }

    /// From the client address `from` instead of `address(1)`.
    pub fn from(mut self, from: SocketAddr) -> Self {
        self.from = from;
        self
    }

    pub async fn send(self) -> Answer {
        let mut request = self.request.body(self.body).expect("request");
        request.extensions_mut().insert(ConnectInfo(self.from));
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            text,
            json,
        }
    }
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    /// The body as JSON (`Null` when it is not JSON).
    pub json: Value,
}

impl Answer {
    pub fn header(&self, name: header::HeaderName) -> Option<&HeaderValue> {
        self.headers.get(name)
    }

    /// Asserts a success status.
    pub fn ok(&self, status: StatusCode) -> &Value {
        assert_eq!(self.status, status, "{}", self.text);
        &self.json
    }

    /// Asserts an error in the API's format: `status`, a JSON body `{"error": {"code", "message"}}`
    /// with `code`.
    pub fn error(&self, status: StatusCode, code: &str) -> &Value {
        assert_eq!(self.status, status, "{}", self.text);
        let content_type = self.header(header::CONTENT_TYPE);
        assert!(
            content_type.is_some_and(|v| v.as_bytes().starts_with(b"application/json")),
            "{status} without a JSON body: {content_type:?} {}",
            self.text
        );
        let e = &self.json["error"];
        assert_eq!(e["code"], code, "{}", self.text);
        assert!(
            e["message"].as_str().is_some_and(|m| !m.is_empty()),
            "no message: {}",
            self.text
        );
        e
    }

    /// Asserts a refusal by a rate limit: 429 `code` with a Retry-After of at least a second.
    pub fn limited(&self, code: &str) {
        self.error(StatusCode::TOO_MANY_REQUESTS, code);
        let retry = self
            .header(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        assert!(retry.is_some_and(|s| s >= 1), "Retry-After: {retry:?}");
    }
}
