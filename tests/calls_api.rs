//! The calls and operator HTTP API over real HTTP: creating a call (validation, rate limit per
//! address), reading and hanging up with the right token only, rating 1–5 once after the end,
//! operator login (good and bad), and every operator mutation refused without a session.
use crate::common;

use common::spawn_app;
use common::ws::{create_call, operator_login, settings_with_operator};
use hotline_bridge::app::AppState;
use hotline_bridge::domain::EventKind;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

async fn error_code(r: reqwest::Response) -> String {
    let v: Value = r.json().await.expect("json error body");
    v["error"]["code"].as_str().expect("error.code").to_owned()
}

#[tokio::test]
async fn a_call_is_created_with_a_token_ws_url_and_ice_servers() {
    let app = spawn_app(AppState::in_memory(settings_with_operator())).await;
    let (id, token, v) = create_call(
        &app.url(""),
        json!({"chosen": null, "browser_languages": ["pt-BR", "en"], "text": ""}),
    )
    .await;
    assert_eq!(id.len(), 32);
    assert!(token.len() >= 22, "128-bit token, base64url: {token}");
    assert_eq!(v["ws_url"], "/ws");
    assert!(v["ice_servers"].is_array());
    assert_eq!(v["ice_transport_policy"], "all");
    assert_eq!(v["language"]["code"], "pt");
    assert_eq!(v["language"]["source"], "browser");

    let c = Client::new();
    // The caller reads its own call; anybody else is refused.
    let r = c
        .get(app.url(&format!("/api/calls/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    let view: Value = r.json().await.expect("json");
    assert_eq!(view["state"], "queued");
    let r = c
        .get(app.url(&format!("/api/calls/{id}")))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = c
        .get(app.url(&format!("/api/calls/{id}")))
        .bearer_auth("not-the-token")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bad_call_requests_get_clear_errors() {
    let app = spawn_app(AppState::in_memory(settings_with_operator())).await;
    let c = Client::new();
    let post = |body: &'static str| {
        c.post(app.url("/api/calls"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let r = post("{oops").await.expect("post");
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "bad_request");
    let r = post(r#"{"chosen": "xx"}"#).await.expect("post");
    assert_eq!(r.status(), 422);
    let r = post(r#"{"chosen": "portuguese"}"#).await.expect("post");
    assert_eq!(r.status(), 422);
    let long = format!(r#"{{"text": "{}"}}"#, "a".repeat(5000));
    let r = c
        .post(app.url("/api/calls"))
        .header("content-type", "application/json")
        .body(long)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"]["field"], "text");
}

#[tokio::test]
async fn call_creation_is_rate_limited_per_address() {
    let mut s = settings_with_operator();
    s.calls.create_per_minute = 1;
    s.calls.create_burst = 2;
    let app = spawn_app(AppState::in_memory(s)).await;
    create_call(&app.url(""), json!({})).await;
    create_call(&app.url(""), json!({})).await;
    let r = Client::new()
        .post(app.url("/api/calls"))
        .json(&json!({}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(error_code(r).await, "rate_limited");
}

#[tokio::test]
async fn a_call_is_rated_once_with_1_to_5_stars_after_it_ends() {
    let app = spawn_app(AppState::in_memory(settings_with_operator())).await;
    let (id, token, _) = create_call(&app.url(""), json!({"chosen": "ar"})).await;
    let (_other, other_token, _) = create_call(&app.url(""), json!({})).await;
    let c = Client::new();
    let rate = |stars: Value, token: Option<String>| {
        let mut r = c
            .post(app.url(&format!("/api/calls/{id}/rating")))
            .json(&json!({ "stars": stars }));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let r = rate(json!(5), Some(token.clone())).await.expect("rate");
    assert_eq!(r.status(), StatusCode::CONFLICT, "not ended yet");
    assert_eq!(error_code(r).await, "not_ended");

    let r = c
        .post(app.url(&format!("/api/calls/{id}/hangup")))
        .bearer_auth(&other_token)
        .send()
        .await
        .expect("hangup");
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "another call's token");
    let r = c
        .post(app.url(&format!("/api/calls/{id}/hangup")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("hangup");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    // The call task finishes asynchronously: the rating window opens once the call has left the
    // live calls. (Checking the stars comes first, so a 422 says nothing about the call.)
    let call_id = hotline_bridge::domain::CallId::parse(&id).expect("call id");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while app.state.calls.get(&call_id).is_some() {
        assert!(std::time::Instant::now() < deadline, "the call did not end");
        tokio::task::yield_now().await;
    }
    for bad in [json!(0), json!(6), json!(-1), json!("five"), json!(2.5)] {
        let r = rate(bad.clone(), Some(token.clone())).await.expect("rate");
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let r = rate(json!(4), None).await.expect("rate");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = rate(json!(4), Some(other_token)).await.expect("rate");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = rate(json!(4), Some(token.clone())).await.expect("rate");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = rate(json!(5), Some(token.clone())).await.expect("rate");
    assert_eq!(r.status(), StatusCode::CONFLICT, "rated twice");
    assert_eq!(error_code(r).await, "already_rated");

    let events = app.state.pool.recent_events(20).await.expect("events");
    assert!(events.iter().any(|e| e.kind == EventKind::Rating
        && e.detail == "4"
        && e.call_id.as_ref().map(|c| c.as_str()) == Some(id.as_str())));
    assert!(events.iter().any(|e| e.kind == EventKind::CallEnded));
}

#[tokio::test]
async fn operator_login_accepts_the_right_password_only() {
    let app = spawn_app(AppState::in_memory(settings_with_operator())).await;
    let c = Client::new();
    for (name, password) in [
        ("wang", "wrong"),
        ("nobody", "correct horse battery"),
        ("", ""),
    ] {
        let r = c
            .post(app.url("/api/operator/login"))
            .json(&json!({"name": name, "password": password}))
            .send()
            .await
            .expect("login");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{name}/{password}");
    }
    let token = operator_login(&app.url("")).await;
    let r = c
        .get(app.url("/api/operator/me"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("me");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["name"], "wang");
    let r = c
        .post(app.url("/api/operator/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = c
        .get(app.url("/api/operator/me"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("me");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "logged out");
}

#[tokio::test]
async fn operator_mutations_need_an_operator_session() {
    let app = spawn_app(AppState::in_memory(settings_with_operator())).await;
    let (id, caller_token, _) = create_call(&app.url(""), json!({"chosen": "pt"})).await;
    let c = Client::new();
    let invite = |token: Option<String>, body: Value| {
        let mut r = c
            .post(app.url(&format!("/api/calls/{id}/participants")))
            .json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let body = json!({"interpreter_id": "u-pt-1"});
    let r = invite(None, body.clone()).await.expect("invite");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = invite(Some(caller_token.clone()), body.clone())
        .await
        .expect("invite");
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "a caller token is no operator"
    );
    let r = c
        .delete(app.url(&format!("/api/calls/{id}/participants/caller")))
        .bearer_auth(&caller_token)
        .send()
        .await
        .expect("remove");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let op = operator_login(&app.url("")).await;
    let r = invite(Some(op.clone()), body.clone())
        .await
        .expect("invite");
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "no such interpreter");
    let r = invite(Some(op.clone()), json!({"interpreter_id": "Not Valid"}))
        .await
        .expect("invite");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = c
        .get(app.url(&format!("/api/calls/{id}")))
        .bearer_auth(&op)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200, "operators read any call");
    let r = c
        .post(app.url(&format!("/api/calls/{id}/hangup")))
        .bearer_auth(&op)
        .send()
        .await
        .expect("hangup");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn the_calls_and_operator_routes_are_in_the_openapi_document() {
    let app = spawn_app(AppState::in_memory(settings_with_operator())).await;
    let doc: Value = reqwest::get(app.url("/api/openapi.json"))
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    for (path, method) in [
        ("/api/calls", "post"),
        ("/api/calls/{id}", "get"),
        ("/api/calls/{id}/hangup", "post"),
        ("/api/calls/{id}/rating", "post"),
        ("/api/calls/{id}/record", "get"),
        ("/api/calls/{id}/participants", "post"),
        ("/api/calls/{id}/participants/{participant}", "delete"),
        ("/api/operator/login", "post"),
        ("/api/operator/logout", "post"),
        ("/api/operator/me", "get"),
    ] {
        assert!(
            doc["paths"][path][method]["responses"].is_object(),
            "{method} {path} is not documented"
        );
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert!(schemes["caller_token"].is_object() && schemes["operator_session"].is_object());
    assert!(doc["components"]["schemas"]["CallView"].is_object());
}
