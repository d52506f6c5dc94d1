//! Supervisor sign-in, the session it opens, sign-out, the audit, and the dashboard (its live
//! stream's refusals; the stream itself is read in tests/dashboard_api.rs).

use super::support::{cheap_argon2, settings, Api};
use axum::http::{Method, StatusCode};
use hotline_bridge::config::SupervisorAccount;
use hotline_bridge::drivers::clock::now_ms;
use serde_json::json;

const SUPERVISOR: &str = "zhao";
const PASSWORD: &str = "the whole floor at a glance";

fn api() -> Api {
    let mut s = settings();
    s.supervisors.insert(
        SUPERVISOR.into(),
        SupervisorAccount {
            password_argon2: cheap_argon2(PASSWORD),
        },
    );
    Api::with(s)
}

#[tokio::test]
async fn a_supervisor_signs_in_reads_their_session_and_signs_out() {
    let api = api();
    let login = json!({ "name": SUPERVISOR, "password": PASSWORD });
    let v = api.post("/api/supervisor/login").json(login).send().await;
    let body = v.ok(StatusCode::OK);
    assert_eq!(body["name"], SUPERVISOR);
    let token = body["token"].as_str().expect("token").to_owned();
    let v = api.get("/api/supervisor/me").auth(&token).send().await;
    assert_eq!(v.ok(StatusCode::OK)["name"], SUPERVISOR);
    let v = api.post("/api/supervisor/logout").auth(&token).send().await;
    assert_eq!(v.status, StatusCode::NO_CONTENT);
    let v = api.get("/api/supervisor/me").auth(&token).send().await;
    v.error(StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn bad_sign_ins_are_refused_with_their_code() {
    let api = api();
    let v = api
        .post("/api/supervisor/login")
        .json(json!({ "name": SUPERVISOR, "password": "no" }))
        .send()
        .await;
    v.error(StatusCode::UNAUTHORIZED, "unauthorized");
    let v = api
        .post("/api/supervisor/login")
        .json(json!({ "name": SUPERVISOR, "password": "x".repeat(300) }))
        .send()
        .await;
    v.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    let v = api
        .post("/api/supervisor/login")
        .json(json!({ "name": SUPERVISOR, "password": PASSWORD, "role": "admin" }))
        .send()
        .await;
    assert!(v.status.is_client_error(), "unknown field: {}", v.text);
    assert!(v.json["error"]["code"].is_string(), "{}", v.text);
}

#[tokio::test]
async fn the_dashboard_and_the_audit_are_for_supervisors_only() {
    let api = api();
    let sup = api.state.supervisors.open(SUPERVISOR, now_ms()).0;
    let op = api.operator_token();
    for path in [
        "/api/dashboard",
        "/api/dashboard/live",
        "/api/supervisor/audit",
        "/api/supervisor/me",
        "/api/supervisor/logout",
    ] {
        let method = if path.ends_with("logout") {
            Method::POST
        } else {
            Method::GET
        };
        api.refused(
            (method.clone(), path, None),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        )
        .await;
        api.refused(
            (method.clone(), path, Some("not-a-session")),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        )
        .await;
        api.refused(
            (method, path, Some(&op)),
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
    let v = api.get("/api/dashboard").auth(&sup).send().await;
    let body = v.ok(StatusCode::OK);
    assert_eq!(body["record"], false, "no record in these settings");
    assert_eq!(body["today"], serde_json::Value::Null);
    assert_eq!(body["totals"]["live"], 0);
    let v = api
        .get("/api/supervisor/audit?limit=5")
        .auth(&sup)
        .send()
        .await;
    assert!(v.ok(StatusCode::OK)["events"].is_array(), "{}", v.text);
    let v = api
        .get("/api/supervisor/audit?limit=0")
        .auth(&sup)
        .send()
        .await;
    v.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    // A supervisor is not an operator.
    api.refused(
        (Method::GET, "/api/operator/me", Some(&sup)),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}
