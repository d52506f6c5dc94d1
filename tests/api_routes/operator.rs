//! Operator sign-in, the session it opens, and sign-out.

use super::support::{address, settings, Answer, Api, OPERATOR, PASSWORD};
use axum::http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn an_operator_signs_in_reads_their_session_and_signs_out() {
    let api = Api::new();
    let login = json!({ "name": OPERATOR, "password": PASSWORD });
    let v = api.post("/api/operator/login").json(login).send().await;
    let body = v.ok(StatusCode::OK);
    assert_eq!(body["name"], OPERATOR);
    assert!(body["expires_at"].as_u64().is_some(), "{}", v.text);
    let token = body["token"].as_str().expect("token").to_owned();

    let v = api.get("/api/operator/me").auth(&token).send().await;
    assert_eq!(v.ok(StatusCode::OK)["name"], OPERATOR);
    let v = api.post("/api/operator/logout").auth(&token).send().await;
    assert_eq!(v.status, StatusCode::NO_CONTENT);
    let v = api.get("/api/operator/me").auth(&token).send().await;
    v.error(StatusCode::UNAUTHORIZED, "unauthorized");
    let v = api.post("/api/operator/logout").auth(&token).send().await;
    v.error(StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn me_and_logout_need_a_live_session() {
    let api = Api::new();
    let (me, logout) = ("/api/operator/me", "/api/operator/logout");
    let unauthorized = |v: Answer| {
        v.error(StatusCode::UNAUTHORIZED, "unauthorized");
    };
    unauthorized(api.get(me).send().await);
    unauthorized(api.get(me).auth("not-a-session").send().await);
    unauthorized(api.post(logout).send().await);
    unauthorized(api.post(logout).auth("not-a-session").send().await);
    // Another scheme than Bearer is no session either.
    unauthorized(
        api.get(me)
            .header("authorization", "Basic d2FuZzp4")
            .send()
            .await,
    );
}

#[tokio::test]
async fn a_wrong_password_or_a_bad_body_is_refused() {
    let api = Api::new();
    let login = |body| api.post("/api/operator/login").json(body);
    let v = login(json!({ "name": OPERATOR, "password": "wrong" }))
        .send()
        .await;
    v.error(StatusCode::UNAUTHORIZED, "unauthorized");
    let long = "x".repeat(300);
    let v = login(json!({ "name": OPERATOR, "password": long }))
        .send()
        .await;
    assert_eq!(
        v.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid")["field"],
        "password"
    );
    let v = login(json!({ "name": OPERATOR })).send().await;
    v.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    let v = api
        .post("/api/operator/login")
        .raw("application/json", "name=wang");
    v.send().await.error(StatusCode::BAD_REQUEST, "bad_request");
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_address() {
    let mut s = settings();
    s.limits.login_per_minute = 1;
    s.limits.login_burst = 2;
    let api = Api::with(s);
    let wrong = json!({ "name": OPERATOR, "password": "wrong" });
    for _ in 0..2 {
        let v = api
            .post("/api/operator/login")
            .json(wrong.clone())
            .send()
            .await;
        v.error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let right = json!({ "name": OPERATOR, "password": PASSWORD });
    let v = api
        .post("/api/operator/login")
        .json(right.clone())
        .send()
        .await;
    v.limited("rate_limited");
    let v = api
        .post("/api/operator/login")
        .from(address(2))
        .json(right)
        .send()
        .await;
    v.ok(StatusCode::OK);
}
