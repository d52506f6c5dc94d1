//! Supervisor accounts over HTTP: a supervisor logs in with the configured argon2 password and
//! gets a session of their own; a wrong password or an unknown name is 401 JSON; an operator's
//! session is refused 403 at the supervisors' doors and a supervisor's at the operators'; logout
//! ends the session; logins are limited per address like the operators'. Supervisors read the
//! audit (the pool's newest events), operators do not.
use crate::common;

use common::supervisors::{supervisor_login, with_supervisor, SUPERVISOR, SUPERVISOR_PASSWORD};
use common::ws::{operator_login, settings_with_operator};
use common::{spawn_app, TestApp};
use hotline_bridge::app::build_state;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

async fn app() -> TestApp {
    let mut s = with_supervisor(settings_with_operator());
    // Room for every login these tests make from 127.0.0.1.
    s.limits.login_burst = 20;
    spawn_app(build_state(s).await.expect("state")).await
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut r = Client::new().get(app.url(path));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.expect("get");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn login(app: &TestApp, name: &str, password: &str) -> (StatusCode, Value) {
    let r = Client::new()
        .post(app.url("/api/supervisor/login"))
        .json(&json!({"name": name, "password": password}))
        .send()
        .await
        .expect("login");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_supervisor_logs_in_and_sees_who_they_are() {
    let app = app().await;
    let (status, v) = login(&app, SUPERVISOR, SUPERVISOR_PASSWORD).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["name"], SUPERVISOR);
    let token = v["token"].as_str().expect("token");
    assert!(token.len() >= 32, "a random token: {token}");
    let (status, me) = get(&app, "/api/supervisor/me", Some(token)).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["name"], SUPERVISOR);
    assert_eq!(me["expires_at"], v["expires_at"]);
}

#[tokio::test]
async fn a_wrong_password_or_an_unknown_name_is_refused_with_401_json() {
    let app = app().await;
    for (name, password) in [
        (SUPERVISOR, "wrong"),
        ("nobody", SUPERVISOR_PASSWORD),
        // An operator's account is not a supervisor's.
        (common::ws::OPERATOR, common::ws::OPERATOR_PASSWORD),
    ] {
        let (status, v) = login(&app, name, password).await;
        assert_eq!(status, 401, "{name}: {v}");
        assert_eq!(v["error"]["code"], "unauthorized", "{v}");
    }
    let (status, v) = get(&app, "/api/supervisor/me", None).await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(v["error"]["code"], "unauthorized");
    let (status, v) = get(&app, "/api/supervisor/me", Some("not-a-session")).await;
    assert_eq!(status, 401, "{v}");
}

#[tokio::test]
async fn operators_and_supervisors_cannot_use_each_others_doors() {
    let app = app().await;
    let base = app.url("");
    let op = operator_login(&base).await;
    let sup = supervisor_login(&base).await;
    let (status, v) = get(&app, "/api/supervisor/me", Some(&op)).await;
    assert_eq!(status, 403, "operator at the supervisors' door: {v}");
    assert_eq!(v["error"]["code"], "forbidden");
    let (status, v) = get(&app, "/api/operator/me", Some(&sup)).await;
    assert_eq!(status, 403, "supervisor at the operators' door: {v}");
    assert_eq!(v["error"]["code"], "forbidden");
    // Each still works at its own.
    assert_eq!(get(&app, "/api/operator/me", Some(&op)).await.0, 200);
    assert_eq!(get(&app, "/api/supervisor/me", Some(&sup)).await.0, 200);
}

#[tokio::test]
async fn logout_ends_the_supervisors_session() {
    let app = app().await;
    let token = supervisor_login(&app.url("")).await;
    let r = Client::new()
        .post(app.url("/api/supervisor/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), 204);
    let (status, v) = get(&app, "/api/supervisor/me", Some(&token)).await;
    assert_eq!(status, 401, "{v}");
}

#[tokio::test]
async fn supervisor_logins_are_limited_per_address() {
    let mut s = with_supervisor(settings_with_operator());
    s.limits.login_per_minute = 1;
    s.limits.login_burst = 2;
    let app = spawn_app(build_state(s).await.expect("state")).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(login(&app, SUPERVISOR, "wrong").await.0.as_u16());
    }
    assert_eq!(statuses, [401, 401, 429, 429]);
    let (status, v) = login(&app, SUPERVISOR, SUPERVISOR_PASSWORD).await;
    assert_eq!(status, 429, "even the right password waits: {v}");
    assert_eq!(v["error"]["code"], "rate_limited", "{v}");
}

#[tokio::test]
async fn a_supervisor_reads_the_newest_audit_events_and_an_operator_cannot() {
    use hotline_bridge::domain::{CallId, EventKind};
    use hotline_bridge::pool::PoolEvent;
    let app = app().await;
    let base = app.url("");
    for (i, kind) in [EventKind::Request, EventKind::Offer, EventKind::CallEnded]
        .into_iter()
        .enumerate()
    {
        app.state
            .pool
            .record(&PoolEvent {
                kind,
                at: 1_000 + i as u64,
                call_id: CallId::parse("audited").ok(),
                interpreter: None,
                language: None,
                offer_id: None,
                detail: format!("step {i}"),
            })
            .await
            .expect("record");
    }
    let sup = supervisor_login(&base).await;
    let (status, v) = get(&app, "/api/supervisor/audit?limit=2", Some(&sup)).await;
    assert_eq!(status, 200, "{v}");
    let details: Vec<&str> = v["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["detail"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        details,
        ["step 1", "step 2"],
        "the newest two, oldest first"
    );
    let (status, v) = get(&app, "/api/supervisor/audit", Some(&sup)).await;
    assert_eq!(status, 200);
    assert_eq!(v["events"].as_array().map(Vec::len), Some(3));
    for bad in ["0", "1001", "many"] {
        let (status, v) = get(
            &app,
            &format!("/api/supervisor/audit?limit={bad}"),
            Some(&sup),
        )
        .await;
        assert!(status == 422 || status == 400, "limit={bad}: {status} {v}");
        assert!(v["error"]["code"].is_string(), "{v}");
    }
    let op = operator_login(&base).await;
    let (status, v) = get(&app, "/api/supervisor/audit", Some(&op)).await;
    assert_eq!(status, 403, "{v}");
    let (status, _) = get(&app, "/api/supervisor/audit", None).await;
    assert_eq!(status, 401);
}
