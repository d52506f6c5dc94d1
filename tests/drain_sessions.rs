//! A node that drains (in process, without signals): `/readyz` and `POST /api/calls` answer 503
//! `draining`, every authenticated page is told (also one that signs in during the drain), an
//! operator's new interpreter request and an interpreter's "available" are refused with
//! `draining`, and when the node stops its sockets close with 1001 so the pages reconnect.
use crate::common;

use common::dispatch::{add_interpreter, answered_call};
use common::spawn_app;
use common::ws::{settings_with_operator, Got, WsClient};
use hotline_bridge::app::AppState;
use hotline_bridge::domain::Level;
use serde_json::{json, Value};
use std::time::Duration;

/// The next `error` message's code, skipping other messages.
async fn error_code(ws: &mut WsClient) -> String {
    ws.wait_for("error").await["code"]
        .as_str()
        .expect("code")
        .to_owned()
}

/// The close frame the server sends next, skipping messages.
async fn close_code(ws: &mut WsClient) -> u16 {
    loop {
        match ws.next().await {
            Got::Json(_) => continue,
            Got::Close(code, _) => return code,
            Got::Gone(why) => panic!("closed without a close frame: {why}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_node_refuses_new_calls_and_offers_and_tells_its_pages() {
    let mut s = settings_with_operator();
    // The operator asks for the interpreter themselves (after the drain began).
    s.dispatch.predispatch = false;
    let app = spawn_app(AppState::in_memory(s)).await;
    let token = add_interpreter(&app, "bfsu-pt-01", &["pt"], Level::Native).await;
    let mut console = WsClient::connect(app.addr).await;
    console.send(json!({"type": "hello", "token": token})).await;
    console.wait_for("welcome").await;
    let mut call = answered_call(&app, "pt").await;

    let drain = app
        .state
        .lifecycle
        .begin_drain(Duration::from_secs(60))
        .expect("the drain begins");

    let http = reqwest::Client::new();
    let r = http.get(app.url("/readyz")).send().await.expect("readyz");
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "draining", "{body}");
    let r = http
        .post(app.url("/api/calls"))
        .json(&json!({"chosen": "pt"}))
        .send()
        .await
        .expect("create call");
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "draining", "{body}");

    for ws in [&mut call.operator, &mut call.caller, &mut console] {
        let told = ws.wait_for("draining").await;
        assert_eq!(told["deadline"], drain.deadline, "{told}");
        assert!(told["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    call.operator
        .send(json!({"type": "request_interpreter", "language": "pt"}))
        .await;
    assert_eq!(error_code(&mut call.operator).await, "draining");
    console
        .send(json!({"type": "set_availability", "availability": "available"}))
        .await;
    assert_eq!(error_code(&mut console).await, "draining");

    // A page that signs in during the drain is told right after its welcome.
    let (op_token, _) = app.state.operators.open(
        common::ws::OPERATOR,
        hotline_bridge::drivers::clock::now_ms(),
    );
    let mut late = WsClient::connect(app.addr).await;
    late.send(json!({"type": "hello", "token": op_token})).await;
    late.wait_for("welcome").await;
    late.wait_for("draining").await;

    // The node stops: every socket closes with 1001 ("going away"), and pages reconnect.
    app.state.lifecycle.root().cancel();
    for ws in [&mut call.operator, &mut console, &mut late] {
        assert_eq!(close_code(ws).await, 1001);
    }
}
