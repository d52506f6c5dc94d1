//! The administrator's recovery API: what is stuck, release an interpreter, end a call; only
//! with an administrator's key.

use super::support::{Api, ADMIN_KEY, BFSU_KEY};
use axum::http::StatusCode;
use hotline_bridge::domain::CallId;
use hotline_bridge::drivers::clock::now_ms;

#[tokio::test]
async fn only_an_administrators_key_gets_in() {
    let api = Api::new();
    let op = api.operator_token();
    for (method_post, path) in [
        (false, "/api/admin/stuck"),
        (true, "/api/admin/interpreters/bfsu-ana/release"),
        (true, "/api/admin/calls/0123456789abcdef/end"),
    ] {
        let req = || {
            if method_post {
                api.post(path)
            } else {
                api.get(path)
            }
        };
        req()
            .send()
            .await
            .error(StatusCode::UNAUTHORIZED, "unauthorized");
        let v = req().auth("not-a-key").send().await;
        v.error(StatusCode::UNAUTHORIZED, "unauthorized");
        req()
            .auth(&op)
            .send()
            .await
            .error(StatusCode::FORBIDDEN, "forbidden");
        req()
            .auth(BFSU_KEY)
            .send()
            .await
            .error(StatusCode::FORBIDDEN, "forbidden");
    }
}

#[tokio::test]
async fn stuck_lists_the_interpreters_held() {
    let api = Api::new();
    api.register("bfsu", BFSU_KEY, "bfsu-ana").await;
    api.engage("bfsu-ana").await;
    let v = api.get("/api/admin/stuck").auth(ADMIN_KEY).send().await;
    let body = v.ok(StatusCode::OK);
    let held = body["interpreters"].as_array().expect("interpreters");
    assert_eq!(held.len(), 1, "{}", v.text);
    assert_eq!(held[0]["interpreter"], "bfsu-ana", "{}", v.text);
}

#[tokio::test]
async fn an_interpreter_is_released_only_when_held() {
    let api = Api::new();
    api.register("bfsu", BFSU_KEY, "bfsu-ana").await;
    let path = "/api/admin/interpreters/bfsu-ana/release";
    let v = api.post(path).auth(ADMIN_KEY).send().await;
    v.error(StatusCode::CONFLICT, "conflict");
    api.engage("bfsu-ana").await;
    let v = api.post(path).auth(ADMIN_KEY).send().await;
    assert_eq!(v.ok(StatusCode::OK)["outcome"], "released", "{}", v.text);
    let v = api.post(path).auth(ADMIN_KEY).send().await;
    v.error(StatusCode::CONFLICT, "conflict");
    let v = api
        .post("/api/admin/interpreters/bfsu-nobody/release")
        .auth(ADMIN_KEY);
    v.send().await.error(StatusCode::NOT_FOUND, "not_found");
    let v = api
        .post("/api/admin/interpreters/NOT-AN-ID/release")
        .auth(ADMIN_KEY);
    v.send().await.error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn a_recorded_call_is_ended_once() {
    let api = Api::new();
    let call = CallId::parse("0123456789abcdef").expect("call id");
    let node = api.state.lease.node();
    api.state
        .pool
        .call_opened(
            &call,
            node,
            &hotline_bridge::auth::sha256_hex("t"),
            now_ms(),
        )
        .await
        .expect("call recorded");
    let path = format!("/api/admin/calls/{call}/end");
    let v = api.post(&path).auth(ADMIN_KEY).send().await;
    assert_eq!(v.ok(StatusCode::OK)["was_live"], true, "{}", v.text);
    let v = api.post(&path).auth(ADMIN_KEY).send().await;
    v.error(StatusCode::CONFLICT, "conflict");
    let v = api
        .post("/api/admin/calls/fedcba9876543210/end")
        .auth(ADMIN_KEY);
    v.send().await.error(StatusCode::NOT_FOUND, "not_found");
    let v = api.post("/api/admin/calls/NOT-AN-ID/end").auth(ADMIN_KEY);
    v.send().await.error(StatusCode::NOT_FOUND, "not_found");
}
