//! Escalation (real redis-server, bots on real WebSockets, a one-second escalation deadline):
//! with nobody on shift for pt the request waits; past the deadline a present but off-shift pt
//! interpreter is offered; with nobody present at all it turns to the relay language configured
//! for pt (en), tells the operator, and the first pt–en interpreter to come is rung.
use crate::common;

use common::dispatch::{
    add_interpreter_with, answered_call, app_on, bot, event_kinds, expect, on_request_settings,
    progress,
};
use common::fixtures::lang;
use common::redis::TestRedis;
use hotline_bridge::domain::EventKind;
use hotline_bridge::domain::Level;
use hotline_bridge::testkit::interpreter_bot::Answer;
use serde_json::json;

fn settings() -> hotline_bridge::config::Settings {
    let mut s = on_request_settings();
    s.dispatch.ring_timeout_s = 10;
    s.dispatch.escalate_after_s = 1;
    s.dispatch.relay = [(lang("pt"), lang("en"))].into_iter().collect();
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_deadline_a_present_off_shift_interpreter_is_offered() {
    let redis = TestRedis::start();
    let app = app_on(&redis, settings()).await;
    let token = add_interpreter_with(&app, "night", &["pt"], Level::Native, false).await;
    let mut night = bot(&app, &token, Answer::Accept, 3).await;
    let mut call = answered_call(&app, "pt").await;

    let asked = hotline_bridge::drivers::clock::now_ms();
    call.operator
        .send(json!({"type": "request_interpreter"}))
        .await;
    // Present and available, but off shift: not a candidate before the deadline.
    let waiting = progress(&mut call.operator, "waiting").await;
    assert_eq!(waiting["progress"]["position"], 1);
    assert_eq!(waiting["progress"]["language"], "pt");
    let escalated = progress(&mut call.operator, "escalated").await;
    assert_eq!(escalated["progress"]["to"]["kind"], "off_shift");
    let escalated_at = escalated["progress"]["at"].as_u64().expect("at");
    // Not before the deadline (the request was made after `asked`).
    assert!(escalated_at >= asked + 1_000, "{asked} → {escalated_at}");

    let ring = expect(&mut night, "ring", "the off-shift interpreter is rung").await;
    assert_eq!(ring["call_id"], call.call_id.as_str());
    assert!(ring["now"].as_u64().expect("now") >= escalated_at);
    let accepted = progress(&mut call.operator, "accepted").await;
    assert_eq!(accepted["progress"]["interpreter"], "night");
    assert!(accepted["progress"]["relay"].is_null());
    expect(&mut night, "joined", "the off-shift interpreter joins").await;
    let kinds = event_kinds(&app, 50).await;
    assert!(kinds.contains(&EventKind::Escalate), "{kinds:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_nobody_present_the_request_turns_to_the_relay_language() {
    let redis = TestRedis::start();
    let app = app_on(&redis, settings()).await;
    // Registered for pt but never signed in: the language is served, just not now.
    add_interpreter_with(&app, "away", &["pt"], Level::Native, true).await;
    let relay_token =
        add_interpreter_with(&app, "bridge", &["pt", "en"], Level::Professional, false).await;
    let mut call = answered_call(&app, "pt").await;

    call.operator
        .send(json!({"type": "request_interpreter"}))
        .await;
    progress(&mut call.operator, "waiting").await;
    let off_shift = progress(&mut call.operator, "escalated").await;
    assert_eq!(off_shift["progress"]["to"]["kind"], "off_shift");
    let relay = progress(&mut call.operator, "escalated").await;
    assert_eq!(relay["progress"]["to"]["kind"], "relay");
    assert_eq!(relay["progress"]["to"]["language"], "en");
    assert_eq!(relay["progress"]["operator_language"], "en");

    // A pt–en interpreter signs in (off shift): the relayed request rings them.
    let mut bridge = bot(&app, &relay_token, Answer::Accept, 4).await;
    let ring = expect(&mut bridge, "ring", "the relay interpreter is rung").await;
    assert_eq!(ring["call_id"], call.call_id.as_str());
    let accepted = progress(&mut call.operator, "accepted").await;
    assert_eq!(accepted["progress"]["interpreter"], "bridge");
    assert_eq!(accepted["progress"]["relay"], "en");
    expect(&mut bridge, "joined", "the relay interpreter joins").await;
}
