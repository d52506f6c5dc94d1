//! The operator asks for one interpreter by name (`POST /api/calls/{id}/participants`): the
//! dispatcher rings that interpreter first, even off shift and ahead of a better-ranked one;
//! after their decline the usual search goes on; a second search for the same call is refused.
//! Real redis-server, interpreter bots on real WebSockets.
use crate::common;

use common::dispatch::{
    add_interpreter, add_interpreter_with, answered_call, app_on, bot, dispatch_settings, expect,
    progress,
};
use common::redis::TestRedis;
use hotline_bridge::domain::Level;
use hotline_bridge::testkit::interpreter_bot::Answer;
use serde_json::{json, Value};

fn by_request_only() -> hotline_bridge::config::Settings {
    let mut s = dispatch_settings();
    s.dispatch.predispatch = false;
    s
}

async fn ask_for(app: &common::TestApp, call_id: &str, who: &str) -> (u16, Value) {
    let (op_token, _) = app.state.operators.open(
        common::ws::OPERATOR,
        hotline_bridge::drivers::clock::now_ms(),
    );
    let r = reqwest::Client::new()
        .post(app.url(&format!("/api/calls/{call_id}/participants")))
        .bearer_auth(op_token)
        .json(&json!({ "interpreter_id": who }))
        .send()
        .await
        .expect("ask by name");
    let status = r.status().as_u16();
    (status, r.json().await.expect("json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_interpreter_asked_for_is_rung_first_and_after_a_decline_the_search_goes_on() {
    let redis = TestRedis::start();
    let app = app_on(&redis, by_request_only()).await;
    // "best" would be rung first by the usual ranking; the operator asks for "known", a
    // student interpreter off shift who helped this caller before.
    let best = add_interpreter(&app, "best", &["pt"], Level::Native).await;
    let known = add_interpreter_with(&app, "known", &["pt"], Level::Student, false).await;
    // Registered, never signed in: not engaged, so a request for them reaches the dispatcher.
    add_interpreter(&app, "third", &["pt"], Level::Native).await;
    let mut best = bot(&app, &best, Answer::Accept, 1).await;
    let mut known = bot(&app, &known, Answer::Decline, 2).await;
    let mut call = answered_call(&app, "pt").await;

    let (status, view) = ask_for(&app, &call.call_id, "known").await;
    assert_eq!(status, 202, "{view}");
    let ringing = progress(&mut call.operator, "ringing").await;
    assert_eq!(ringing["progress"]["interpreter"], "known");
    expect(&mut known, "ring", "the interpreter asked for is rung").await;

    // A second search for the same call is refused while this one runs.
    let (status, body) = ask_for(&app, &call.call_id, "third").await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conflict");

    // "known" declines: the usual search rings "best", who accepts and joins.
    progress(&mut call.operator, "declined").await;
    let next = progress(&mut call.operator, "ringing").await;
    assert_eq!(next["progress"]["interpreter"], "best");
    expect(&mut best, "ring", "best is rung after the decline").await;
    progress(&mut call.operator, "accepted").await;
    expect(&mut best, "joined", "best joins the call").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asking_for_a_busy_or_unknown_interpreter_is_refused() {
    let redis = TestRedis::start();
    let app = app_on(&redis, by_request_only()).await;
    let li = add_interpreter(&app, "li", &["pt"], Level::Native).await;
    let mut li = bot(&app, &li, Answer::Accept, 1).await;
    let mut first = answered_call(&app, "pt").await;
    let (status, _) = ask_for(&app, &first.call_id, "li").await;
    assert_eq!(status, 202);
    progress(&mut first.operator, "accepted").await;
    expect(&mut li, "joined", "li joins the first call").await;

    let second = answered_call(&app, "pt").await;
    let (status, body) = ask_for(&app, &second.call_id, "li").await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "interpreter_engaged");
    let (status, body) = ask_for(&app, &second.call_id, "nobody").await;
    assert_eq!(status, 404, "{body}");
}
