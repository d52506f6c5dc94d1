//! Limits on the call queue, through the real HTTP API and WebSocket: calls waiting at once are
//! capped per client address (429 `too_many_waiting`) and in total (503 `queue_full`), both with
//! our JSON error body and Retry-After, and a freed place is usable again; after the longest queue
//! wait the caller is told (`long_wait`) and may keep waiting, which starts the wait again, while a
//! caller who does not answer has the call ended. Each is counted in /metrics.
use crate::common;

use common::metrics::{samples_with, scrape};
use common::ws::{caller_in_call, create_call, WsClient};
use common::{spawn_app, test_settings, TestApp};
use hotline_bridge::app::AppState;
use hotline_bridge::config::Settings;
use serde_json::{json, Value};
use std::net::{IpAddr, Ipv4Addr};

/// POST /api/calls from the loopback address `127.0.0.<last>`.
async fn create_from(app: &TestApp, last: u8) -> reqwest::Response {
    let from = IpAddr::V4(Ipv4Addr::new(127, 0, 0, last));
    reqwest::Client::builder()
        .local_address(from)
        .build()
        .expect("client")
        .post(app.url("/api/calls"))
        .json(&json!({"chosen": "pt"}))
        .send()
        .await
        .expect("create call")
}

async fn refused(r: reqwest::Response, status: u16, code: &str) {
    assert_eq!(r.status(), status, "refused with {status}");
    assert!(
        r.headers().get("retry-after").is_some(),
        "Retry-After is set"
    );
    let v: Value = r.json().await.expect("json error body");
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
}

/// Whether /metrics has a sample of `name` labelled `key="value"`.
fn counted(metrics: &str, name: &str, label: (&str, &str)) -> bool {
    !samples_with(metrics, name, label).is_empty()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_calls_are_capped_per_address_and_in_total() {
    let mut s = test_settings();
    s.calls.create_burst = 20;
    s.calls.create_per_minute = 60;
    s.calls.max_waiting_per_address = 2;
    s.calls.max_waiting = 3;
    let app = spawn_app(AppState::in_memory(s)).await;

    let first = create_from(&app, 1).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.expect("json");
    assert_eq!(create_from(&app, 1).await.status(), 201);
    refused(create_from(&app, 1).await, 429, "too_many_waiting").await;
    // Another address still gets in, until the queue holds three calls.
    assert_eq!(create_from(&app, 2).await.status(), 201);
    refused(create_from(&app, 3).await, 503, "queue_full").await;
    refused(create_from(&app, 2).await, 503, "queue_full").await;

    // A call of the first address ends: its place is free again.
    let id = first["call_id"].as_str().expect("id");
    let token = first["token"].as_str().expect("token");
    let r = reqwest::Client::new()
        .post(app.url(&format!("/api/calls/{id}/hangup")))
        .bearer_auth(token)
        .send()
        .await
        .expect("hang up");
    assert_eq!(r.status(), 204);
    let again = async {
        loop {
            // The queue drops the call when its task has ended it: poll for the free place.
            let r = create_from(&app, 1).await;
            if r.status() == 201 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(common::dispatch::WAIT, again)
        .await
        .expect("a freed place is usable again");

    let m = scrape(app.url("/metrics")).await;
    assert!(counted(
        &m,
        "hotline_calls_refused_total",
        ("reason", "per_address")
    ));
    assert!(counted(
        &m,
        "hotline_calls_refused_total",
        ("reason", "total")
    ));
}

fn long_wait_settings(reply_s: u64) -> Settings {
    let mut s = test_settings();
    s.calls.max_queue_wait_s = 1;
    s.calls.queue_wait_reply_s = reply_s;
    s
}

async fn caller(app: &TestApp) -> (String, WsClient) {
    let (call_id, token, _) = create_call(&app.url(""), json!({"chosen": "fr"})).await;
    let ws = caller_in_call(app.addr, &call_id, &token).await;
    (call_id, ws)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_told_of_the_long_wait_may_keep_waiting_and_is_asked_again_later() {
    let app = spawn_app(AppState::in_memory(long_wait_settings(30))).await;
    let (call_id, mut ws) = caller(&app).await;

    let asked = ws.wait_for("long_wait").await;
    assert!(
        asked["waited_ms"].as_u64().expect("waited_ms") >= 1000,
        "{asked}"
    );
    let (reply_by, now) = (
        asked["reply_by"].as_u64().expect("reply_by"),
        asked["now"].as_u64().expect("now"),
    );
    assert!(reply_by > now, "{asked}");
    ws.send(json!({"type": "keep_waiting"})).await;
    // The wait starts again: asked a second time, the call still queued meanwhile.
    let again = ws.wait_for("long_wait").await;
    assert!(again["reply_by"].as_u64().expect("reply_by") > reply_by);
    let view = app
        .state
        .calls
        .get(&hotline_bridge::domain::CallId::parse(&call_id).expect("id"))
        .expect("the call still waits")
        .view()
        .await
        .expect("view");
    assert_eq!(view.state, hotline_bridge::api::messages::CallState::Queued);
    let m = scrape(app.url("/metrics")).await;
    assert!(counted(&m, "hotline_events_total", ("kind", "long_wait")));
    assert!(counted(
        &m,
        "hotline_events_total",
        ("kind", "keep_waiting")
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_who_does_not_answer_the_long_wait_question_has_the_call_ended() {
    let app = spawn_app(AppState::in_memory(long_wait_settings(1))).await;
    let (_call_id, mut ws) = caller(&app).await;
    ws.wait_for("long_wait").await;
    let left = ws.wait_for("left").await;
    assert_eq!(left["reason"], "no_reply");
    let m = scrape(app.url("/metrics")).await;
    assert!(counted(
        &m,
        "hotline_events_total",
        ("kind", "long_wait_no_reply")
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeping_waiting_unasked_is_refused() {
    let app = spawn_app(AppState::in_memory(test_settings())).await;
    let (_call_id, mut ws) = caller(&app).await;
    ws.send(json!({"type": "keep_waiting"})).await;
    assert_eq!(ws.error_code().await, "conflict");
}
