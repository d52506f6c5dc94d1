//! A call set up entirely through the service's own front door: created over HTTP, joined over the
//! real WebSocket (caller token, operator session, interpreter personal token), media over real UDP
//! on loopback with in-process WebRTC test peers. Caller and operator hear each other; an
//! interpreter invited by the operator joins and all three hear each other; the consoles get
//! `connected`, `slots` and `levels` from the call (the caller's page gets no levels); a hang-up
//! ends everyone's session.
use crate::common;

use common::dispatch::join_media;
use common::spawn_app;
use common::ws::{
    answer, caller_in_call, create_call, invited_interpreter, operator_login, operator_session,
    settings_with_operator, Got, WsClient,
};
use hotline_bridge::app::AppState;
use hotline_bridge::sfu::peer::PeerConfig;
use hotline_bridge::testkit::TestPeer;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);
/// Packets (of 50 per second) that prove a stream flows, not a stray one.
const FLOWING: u64 = 25;

/// Polls until `listener` has received `FLOWING` packets from each of `tags`.
async fn hears(listener: &TestPeer, tags: &[u32], who: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        if tags.iter().all(|t| listener.packets_from(*t) >= FLOWING) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{who} should hear {tags:?}: got {:?}",
            tags.iter()
                .map(|t| (t, listener.packets_from(*t)))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The next message of type `kind` satisfying `pred`.
async fn next_where(ws: &mut WsClient, kind: &str, pred: impl Fn(&Value) -> bool) -> Value {
    loop {
        let v = ws.wait_for(kind).await;
        if pred(&v) {
            return v;
        }
    }
}

async fn state_where(ws: &mut WsClient, pred: impl Fn(&Value) -> bool) -> Value {
    next_where(ws, "call_state", |v| pred(&v["call"])).await["call"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_operator_and_interpreter_hear_each_other_through_the_real_front_door() {
    let app = spawn_app(AppState::in_memory(settings_with_operator())).await;
    let base = app.url("");
    let config = PeerConfig::new().expect("peer config");

    // Caller: create over HTTP, hello over the socket.
    let (call_id, token, _) = create_call(&base, json!({"chosen": "pt"})).await;
    let mut caller_ws = caller_in_call(app.addr, &call_id, &token).await;
    let caller = join_media(&mut caller_ws, &config, 1).await;

    // Operator: login, hello, answer, offer.
    let op_token = operator_login(&base).await;
    let mut op_ws = operator_session(app.addr, &op_token).await;
    let queue = op_ws.wait_for("queue").await;
    assert_eq!(queue["calls"][0]["call_id"], call_id.as_str());
    answer(&mut op_ws, &call_id).await;
    let operator = join_media(&mut op_ws, &config, 2).await;

    hears(&caller, &[2], "caller").await;
    hears(&operator, &[1], "operator").await;
    let both = state_where(&mut caller_ws, |c| {
        c["participants"]
            .as_array()
            .is_some_and(|p| p.len() == 2 && p.iter().all(|x| x["connected"] == true))
    })
    .await;
    assert_eq!(both["state"], "answered");
    // The operator's console learns which slot carries the caller, and who is speaking.
    next_where(&mut op_ws, "slots", |v| {
        v["slots"]
            .as_array()
            .is_some_and(|s| s.iter().any(|x| x["participant"] == "caller"))
    })
    .await;
    next_where(&mut op_ws, "levels", |v| {
        v["levels"].as_array().is_some_and(|l| {
            l.iter()
                .any(|x| x["participant"] == "caller" && x["speaking"] == true)
        })
    })
    .await;

    // Interpreter: registered in the pool with a personal token, invited by the operator over
    // HTTP, joins with its token over the socket.
    let mut int_ws = invited_interpreter(&app, &op_token, &call_id).await;
    int_ws
        .send(json!({"type": "join_call", "call_id": call_id}))
        .await;
    int_ws.wait_for("joined").await;
    let interpreter = join_media(&mut int_ws, &config, 3).await;

    // Counts from now on: everyone hears both others.
    caller.take();
    operator.take();
    hears(&caller, &[2, 3], "caller").await;
    hears(&operator, &[1, 3], "operator").await;
    hears(&interpreter, &[1, 2], "interpreter").await;
    let three = state_where(&mut op_ws, |c| c["state"] == "interpreted").await;
    assert_eq!(three["participants"].as_array().map(Vec::len), Some(3));

    // The operator hangs up: every session learns it; the caller's socket closes.
    op_ws.send(json!({"type": "hang_up"})).await;
    // The caller's page shows no speaking indicators: its session is sent no levels (the
    // interpreter's arrival made the call report every level afresh to the others).
    let left = loop {
        match caller_ws.next().await {
            Got::Json(v) if v["type"] == "left" => break v,
            Got::Json(v) => assert_ne!(v["type"], "levels", "levels reached the caller: {v}"),
            other => panic!("expected left, got {other:?}"),
        }
    };
    assert!(left["reason"].as_str().is_some_and(|r| r.contains("ended")));
    int_ws.wait_for("left").await;
    let r = reqwest::get(app.url("/healthz")).await.expect("healthz");
    assert_eq!(r.status(), 200);
}
