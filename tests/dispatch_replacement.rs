//! Replacing an interpreter mid-call (real redis-server, bots on real WebSockets with real media):
//! when the joined interpreter's console drops, the call goes on (caller and operator stay in it
//! and keep hearing each other), the operator is told and a replacement is rung and joins; the
//! operator may cancel that search. The operator may also replace or remove the interpreter.
use crate::common;

use common::dispatch::{
    add_interpreter, answered_call, app_on, bot, bot_with, call_view, drain, event_kinds, expect,
    hears_more, join_media, on_request_settings, progress, status, AnsweredCall, WAIT,
};
use common::redis::TestRedis;
use common::TestApp;
use hotline_bridge::api::messages::CallState;
use hotline_bridge::domain::EventKind;
use hotline_bridge::domain::{Level, Role};
use hotline_bridge::sfu::peer::PeerConfig;
use hotline_bridge::testkit::interpreter_bot::{Answer, BotCommand, InterpreterBot};
use serde_json::json;

const CALLER_TAG: u32 = 1;
const OPERATOR_TAG: u32 = 2;
const FIRST_TAG: u32 = 3;
const SECOND_TAG: u32 = 4;

fn settings() -> hotline_bridge::config::Settings {
    let mut s = on_request_settings();
    s.dispatch.ring_timeout_s = 5;
    // A dropped console is given up after one second (the production default is 30 s).
    s.calls.reconnect_grace_s = 1;
    // Long enough that an interpreter sent out is still in wrap-up when the next request comes.
    s.dispatch.wrap_up_s = 5;
    s
}

/// Requests an interpreter on `call` and waits until `who` has accepted and joined it.
async fn joined(call: &mut AnsweredCall, who: &mut InterpreterBot, id: &str) {
    call.operator
        .send(json!({"type": "request_interpreter"}))
        .await;
    let accepted = progress(&mut call.operator, "accepted").await;
    assert_eq!(accepted["progress"]["interpreter"], id);
    expect(who, "joined", "the interpreter joins").await;
}

/// The Redis, the app, a call, and interpreters `first` and `second`.
type FirstJoined = (
    TestRedis,
    TestApp,
    AnsweredCall,
    InterpreterBot,
    InterpreterBot,
);

/// A call in `language` that interpreter `first` (native, so rung first) has joined, with
/// `second` (professional, answering as `second_answers`) signed in too.
async fn first_joined(language: &str, second_answers: Answer) -> FirstJoined {
    let redis = TestRedis::start();
    let app = app_on(&redis, settings()).await;
    let t1 = add_interpreter(&app, "first", &[language], Level::Native).await;
    let t2 = add_interpreter(&app, "second", &[language], Level::Professional).await;
    let mut first = bot(&app, &t1, Answer::Accept, FIRST_TAG).await;
    let second = bot(&app, &t2, second_answers, SECOND_TAG).await;
    let mut call = answered_call(&app, language).await;
    joined(&mut call, &mut first, "first").await;
    (redis, app, call, first, second)
}

/// Caller and operator are still in a live call, without an interpreter.
async fn still_live_without_interpreter(app: &TestApp, call_id: &str) {
    let view = call_view(app, call_id).await;
    assert!(!view.state.is_final(), "{:?}", view.state);
    assert_eq!(view.state, CallState::Answered);
    let roles: Vec<Role> = view.participants.iter().map(|p| p.role).collect();
    assert!(roles.contains(&Role::Caller), "{roles:?}");
    assert!(roles.contains(&Role::Operator), "{roles:?}");
    assert!(!roles.contains(&Role::Interpreter), "{roles:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_interpreter_is_replaced_while_caller_and_operator_talk_on() {
    let redis = TestRedis::start();
    let app = app_on(&redis, settings()).await;
    let config = PeerConfig::new().expect("peer config");
    // The native speaker is ranked first; the professional is the replacement.
    let t1 = add_interpreter(&app, "first", &["pt"], Level::Native).await;
    let t2 = add_interpreter(&app, "second", &["pt"], Level::Professional).await;
    let mut first = bot_with(&app, &t1, Answer::Accept, FIRST_TAG, true).await;
    let mut second = bot_with(&app, &t2, Answer::Accept, SECOND_TAG, true).await;
    let mut call = answered_call(&app, "pt").await;
    let caller = join_media(&mut call.caller, &config, CALLER_TAG).await;
    let operator = join_media(&mut call.operator, &config, OPERATOR_TAG).await;

    joined(&mut call, &mut first, "first").await;
    hears_more(&caller, &[OPERATOR_TAG, FIRST_TAG], "the caller").await;

    // The first interpreter's console and media vanish without a goodbye.
    let _ = first.commands.send(BotCommand::Vanish);
    let replace = progress(&mut call.operator, "replacement_requested").await;
    assert_eq!(replace["progress"]["lost"], "first");
    assert_eq!(replace["progress"]["why"], "disconnected");
    still_live_without_interpreter(&app, &call.call_id).await;
    // Caller and operator keep hearing each other while a replacement is sought.
    hears_more(&caller, &[OPERATOR_TAG], "the caller").await;
    hears_more(&operator, &[CALLER_TAG], "the operator").await;

    let ringing = progress(&mut call.operator, "ringing").await;
    assert_eq!(ringing["progress"]["interpreter"], "second");
    let ring = expect(&mut second, "ring", "the replacement is rung").await;
    assert_eq!(ring["call_id"], call.call_id.as_str());
    let accepted = progress(&mut call.operator, "accepted").await;
    assert_eq!(accepted["progress"]["interpreter"], "second");
    expect(&mut second, "joined", "the replacement joins").await;
    let view = call_view(&app, &call.call_id).await;
    assert_eq!(view.state, CallState::Interpreted);
    let peer = loop {
        if let Some(p) = second.peer.lock().await.take() {
            break p;
        }
        second
            .wait_kind("answer", WAIT)
            .await
            .expect("the replacement's media is answered");
    };
    assert!(peer.wait_connected(WAIT).await, "the replacement's media");
    hears_more(&caller, &[OPERATOR_TAG, SECOND_TAG], "the caller").await;
    hears_more(&peer, &[CALLER_TAG, OPERATOR_TAG], "the replacement").await;

    let kinds = event_kinds(&app, 100).await;
    assert!(kinds.contains(&EventKind::Replace), "{kinds:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_may_cancel_the_automatic_replacement() {
    // The replacement lets it ring, so the operator cancels while it rings.
    let (_redis, app, mut call, first, mut second) = first_joined("es", Answer::Ignore).await;

    let _ = first.commands.send(BotCommand::Vanish);
    progress(&mut call.operator, "replacement_requested").await;
    expect(&mut second, "ring", "the replacement rings").await;
    call.operator
        .send(json!({"type": "cancel_interpreter"}))
        .await;
    let cancelled = progress(&mut call.operator, "cancelled").await;
    assert_eq!(cancelled["progress"]["call"], call.call_id.as_str());
    let ended = expect(&mut second, "offer_ended", "the ring is taken back").await;
    assert_eq!(ended["reason"], "cancelled");
    still_live_without_interpreter(&app, &call.call_id).await;
    // Nothing is left to cancel.
    call.operator
        .send(json!({"type": "cancel_interpreter"}))
        .await;
    assert_eq!(call.operator.error_code().await, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_replaces_the_interpreter() {
    let (_redis, app, mut call, mut first, mut second) = first_joined("fr", Answer::Accept).await;

    call.operator
        .send(json!({"type": "replace_interpreter"}))
        .await;
    let replace = progress(&mut call.operator, "replacement_requested").await;
    assert_eq!(replace["progress"]["lost"], "first");
    assert_eq!(replace["progress"]["why"], "replaced");
    let left = expect(&mut first, "left", "the replaced interpreter leaves").await;
    assert_eq!(left["call_id"], call.call_id.as_str());
    status(
        &mut first,
        "wrap_up",
        "the replaced interpreter goes to wrap-up",
    )
    .await;
    // The replaced interpreter is not rung again for this call: the other one is.
    let ringing = progress(&mut call.operator, "ringing").await;
    assert_eq!(ringing["progress"]["interpreter"], "second");
    progress(&mut call.operator, "accepted").await;
    expect(&mut second, "joined", "the replacement joins").await;
    assert_eq!(
        call_view(&app, &call.call_id).await.state,
        CallState::Interpreted
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_removes_the_interpreter_and_nobody_else_is_rung() {
    let (_redis, app, mut call, mut first, mut second) = first_joined("de", Answer::Accept).await;

    call.operator
        .send(json!({"type": "remove_interpreter"}))
        .await;
    let removed = progress(&mut call.operator, "removed").await;
    assert_eq!(removed["progress"]["interpreter"], "first");
    expect(&mut first, "left", "the removed interpreter leaves").await;
    // Wrap-up, then available again: by then a replacement would have been rung.
    status(&mut first, "wrap_up", "wrap-up").await;
    still_live_without_interpreter(&app, &call.call_id).await;
    let seen = drain(&mut second);
    assert!(
        !seen.iter().any(|m| m["type"] == "ring"),
        "nobody is rung after a removal: {seen:?}"
    );
    // A new request afterwards is served as usual (by the one not in wrap-up).
    call.operator
        .send(json!({"type": "request_interpreter"}))
        .await;
    let accepted = progress(&mut call.operator, "accepted").await;
    assert_eq!(accepted["progress"]["interpreter"], "second");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interpreter_whose_media_stops_is_taken_out_and_replaced() {
    let redis = TestRedis::start();
    let mut s = settings();
    // The media plane reports a peer silent after 2 s without packets; out after 3 s.
    s.dispatch.interpreter_silence_s = 3;
    let app = app_on(&redis, s).await;
    let config = PeerConfig::new().expect("peer config");
    let t1 = add_interpreter(&app, "first", &["ja"], Level::Native).await;
    let t2 = add_interpreter(&app, "second", &["ja"], Level::Professional).await;
    let mut first = bot_with(&app, &t1, Answer::Accept, FIRST_TAG, true).await;
    let mut second = bot(&app, &t2, Answer::Accept, SECOND_TAG).await;
    let mut call = answered_call(&app, "ja").await;
    let caller = join_media(&mut call.caller, &config, CALLER_TAG).await;
    let operator = join_media(&mut call.operator, &config, OPERATOR_TAG).await;
    joined(&mut call, &mut first, "first").await;
    let peer = loop {
        if let Some(p) = first.peer.lock().await.take() {
            break p;
        }
        first
            .wait_kind("answer", WAIT)
            .await
            .expect("the interpreter's media is answered");
    };
    assert!(peer.wait_connected(WAIT).await, "the interpreter's media");
    hears_more(&caller, &[FIRST_TAG], "the caller").await;

    // The interpreter's microphone stops sending altogether; the console stays connected.
    peer.set_sending(false);
    let left = expect(&mut first, "left", "the silent interpreter is taken out").await;
    assert_eq!(left["reason"], "media_silent");
    let replace = progress(&mut call.operator, "replacement_requested").await;
    assert_eq!(replace["progress"]["lost"], "first");
    assert_eq!(replace["progress"]["why"], "media_silent");
    still_live_without_interpreter(&app, &call.call_id).await;
    hears_more(&operator, &[CALLER_TAG], "the operator").await;
    let accepted = progress(&mut call.operator, "accepted").await;
    assert_eq!(accepted["progress"]["interpreter"], "second");
    expect(&mut second, "joined", "the replacement joins").await;
}
