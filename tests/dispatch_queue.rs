//! Waiting for an interpreter (real redis-server, bots on real WebSockets): with nobody free the
//! request waits in the language's queue and the operator sees its position; it is served as soon
//! as an interpreter becomes available, and an interpreter in wrap-up after a call is not rung
//! before the wrap-up ends.
use crate::common;

use common::dispatch::{
    add_interpreter, answered_call, app_on, bot, expect, on_request_settings, progress, status,
};
use common::redis::TestRedis;
use hotline_bridge::domain::Level;
use hotline_bridge::testkit::interpreter_bot::Answer;
use serde_json::json;

fn settings() -> hotline_bridge::config::Settings {
    let mut s = on_request_settings();
    s.dispatch.wrap_up_s = 2;
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_free_waits_in_the_queue_then_is_served_when_one_becomes_available() {
    let redis = TestRedis::start();
    let app = app_on(&redis, settings()).await;
    let token = add_interpreter(&app, "late", &["ja"], Level::Native).await;
    let mut call = answered_call(&app, "ja").await;

    call.operator
        .send(json!({"type": "request_interpreter"}))
        .await;
    let waiting = progress(&mut call.operator, "waiting").await;
    assert_eq!(waiting["progress"]["position"], 1);
    assert_eq!(waiting["progress"]["language"], "ja");

    // The interpreter signs in and goes available: the waiting request rings them.
    let mut late = bot(&app, &token, Answer::Accept, 3).await;
    let ring = expect(&mut late, "ring", "the waiting request rings").await;
    assert_eq!(ring["call_id"], call.call_id.as_str());
    assert!(ring["caller_waited_ms"].as_u64().is_some());
    progress(&mut call.operator, "accepted").await;
    expect(&mut late, "joined", "late joins").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrap_up_is_respected_before_the_next_ring() {
    let redis = TestRedis::start();
    let app = app_on(&redis, settings()).await;
    let token = add_interpreter(&app, "solo", &["ko"], Level::Native).await;
    let mut solo = bot(&app, &token, Answer::Accept, 3).await;

    let mut first = answered_call(&app, "ko").await;
    first
        .operator
        .send(json!({"type": "request_interpreter"}))
        .await;
    expect(&mut solo, "joined", "solo joins the first call").await;
    // The operator sends the interpreter out: wrap-up starts.
    first
        .operator
        .send(json!({"type": "remove_interpreter"}))
        .await;
    let wrap = status(&mut solo, "wrap_up", "wrap-up status").await;
    let until = wrap["until"].as_u64().expect("until");
    assert!(until >= wrap["now"].as_u64().expect("now") + 1_500);

    // A second call asks at once: it waits until the wrap-up is over, then rings solo.
    let mut second = answered_call(&app, "ko").await;
    second
        .operator
        .send(json!({"type": "request_interpreter"}))
        .await;
    progress(&mut second.operator, "waiting").await;
    let ring = expect(&mut solo, "ring", "solo is rung after wrap-up").await;
    assert_eq!(ring["call_id"], second.call_id.as_str());
    assert!(
        ring["now"].as_u64().expect("now") >= until,
        "rung at {} before the wrap-up ended at {until}",
        ring["now"]
    );
}
