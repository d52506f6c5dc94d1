//! Callback requests through a running app with a SQLite record: a caller asked after the longest
//! queue wait leaves a number (refused before the question, refused when malformed), the call
//! ends `ended_by` callback, and an operator lists the request (number in full, language,
//! description) and marks it done once, each step counted as an audit event. Only the caller
//! may leave a number, and every callback route wants an operator session (a supervisor's is
//! refused with 403); a node
//! without a record does not offer the choice, refuses it, and the call keeps waiting.

use crate::common;

use common::metrics::{samples_with, scrape};
use common::supervisors::{supervisor_login, with_supervisor};
use common::ws::{
    caller_in_call, create_call, operator_login, operator_session, settings_with_operator, WsClient,
};
use common::{spawn_app, TestApp};
use hotline_bridge::app::{build_state, AppState};
use hotline_bridge::config::Settings;
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

fn long_wait(mut s: Settings) -> Settings {
    s.calls.max_queue_wait_s = 1;
    s.calls.queue_wait_reply_s = 60;
    s
}

async fn request(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut r = Client::new().request(method, app.url(path));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.expect("request");
    let status = r.status();
    let text = r.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The next call state that says who ended the call.
async fn ended(ws: &mut WsClient) -> Value {
    loop {
        let v = ws.wait_for("call_state").await;
        if v["call"]["ended_by"].is_string() {
            return v;
        }
    }
}

fn callback(number: &str) -> Value {
    json!({"type": "request_callback", "number": number, "language": "pt",
           "description": "Problema com o aluguel"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_asked_after_the_long_wait_leaves_a_number_that_an_operator_marks_done() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut s = long_wait(with_supervisor(settings_with_operator()));
    s.records.database = format!("sqlite://{}", dir.path().join("hotline.db").display());
    let app = spawn_app(build_state(s).await.expect("state")).await;
    let base = app.url("");
    let (call_id, token, _) = create_call(&base, json!({"chosen": "pt"})).await;
    let mut caller = caller_in_call(app.addr, &call_id, &token).await;

    // Before the question, leaving a number is refused and changes nothing.
    caller.send(callback("+55 11 98765 4321")).await;
    assert_eq!(caller.error_code().await, "conflict");

    let asked = caller.wait_for("long_wait").await;
    assert_eq!(asked["callback"], true, "{asked}");
    // Only the caller may leave their number.
    let op = operator_login(&base).await;
    let mut op_ws = operator_session(app.addr, &op).await;
    op_ws.send(callback("+55 11 98765 4321")).await;
    assert_eq!(op_ws.error_code().await, "forbidden");
    for bad in ["12ab56", "12345", "+55-11-98765"] {
        caller.send(callback(bad)).await;
        assert_eq!(caller.error_code().await, "invalid", "{bad}");
    }
    caller.send(callback("+55 11 98765 4321")).await;
    let end = ended(&mut caller).await;
    assert_eq!(end["call"]["ended_by"], "callback", "{end}");

    let path = "/api/callbacks";
    let (status, body) = request(&app, Method::GET, path, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized");
    // The caller's own token is no operator's.
    let (status, _) = request(&app, Method::GET, path, Some(&token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A supervisor's session is staff, but not an operator's: refused, not unknown.
    let sup = supervisor_login(&base).await;
    let (status, body) = request(&app, Method::GET, path, Some(&sup), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    let (status, list) = request(&app, Method::GET, path, Some(&op), None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let list = list.as_array().expect("list").clone();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["call_id"], call_id.as_str());
    assert_eq!(list[0]["number"], "+55 11 98765 4321");
    assert_eq!(list[0]["language"], "pt");
    assert_eq!(list[0]["description"], "Problema com o aluguel");
    assert_eq!(list[0]["status"], "open");

    let (status, body) = request(
        &app,
        Method::GET,
        "/api/callbacks?status=later",
        Some(&op),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let one = format!("/api/callbacks/{call_id}");
    let done = Some(json!({"status": "done"}));
    let (status, _) = request(&app, Method::PATCH, &one, None, done.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = request(&app, Method::PATCH, &one, Some(&sup), done.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = request(
        &app,
        Method::PATCH,
        &one,
        Some(&op),
        Some(json!({"status": "open"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "bad_request", "{body}");
    let (status, body) = request(
        &app,
        Method::PATCH,
        "/api/callbacks/no-such-call",
        Some(&op),
        done.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "not_found");

    let (status, body) = request(&app, Method::PATCH, &one, Some(&op), done).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "done");
    assert_eq!(body["done_by"], "wang");
    let (_, open) = request(&app, Method::GET, path, Some(&op), None).await;
    assert_eq!(open, json!([]));
    let (_, all) = request(
        &app,
        Method::GET,
        "/api/callbacks?status=done",
        Some(&op),
        None,
    )
    .await;
    assert_eq!(all.as_array().map(Vec::len), Some(1), "{all}");
    let m = scrape(app.url("/metrics")).await;
    for kind in ["callback_requested", "callback_done"] {
        assert_eq!(
            samples_with(&m, "hotline_events_total", ("kind", kind)),
            [1.0],
            "{kind}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_without_a_record_does_not_offer_a_callback_and_the_call_keeps_waiting() {
    let app = spawn_app(AppState::in_memory(long_wait(settings_with_operator()))).await;
    let base = app.url("");
    let (call_id, token, _) = create_call(&base, json!({"chosen": "pt"})).await;
    let mut caller = caller_in_call(app.addr, &call_id, &token).await;
    let asked = caller.wait_for("long_wait").await;
    assert_eq!(asked["callback"], false, "{asked}");
    caller.send(callback("+55 11 98765 4321")).await;
    assert_eq!(caller.error_code().await, "conflict");
    // Still asked: keeping waiting is accepted, and the call is queued.
    caller.send(json!({"type": "keep_waiting"})).await;
    let view = app
        .state
        .calls
        .get(&hotline_bridge::domain::CallId::parse(&call_id).expect("id"))
        .expect("the call still waits")
        .view()
        .await
        .expect("view");
    assert_eq!(view.state, hotline_bridge::api::messages::CallState::Queued);

    let op = operator_login(&base).await;
    let (status, body) = request(&app, Method::GET, "/api/callbacks", Some(&op), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "no_record");
}
