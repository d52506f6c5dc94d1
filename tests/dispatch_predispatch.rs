//! Pre-dispatch (real redis-server, bots on real WebSockets): a queued call whose language is
//! confidently detected and not the operators' own rings an interpreter before any operator
//! answers; the interpreter is brought in once one does. A call below the confidence threshold,
//! a call in the operators' language (zh), or any call with pre-dispatch off rings nobody.
mod common;

use common::dispatch::{
    add_interpreter, app_on, bot, call_view, dispatch_settings, drain, expect, lang,
    operator_answers, progress,
};
use common::redis::TestRedis;
use common::ws::WsClient;
use common::TestApp;
use hotline_bridge::api::messages::{CallStateView, LanguageSource, LanguageView};
use hotline_bridge::domain::{CallId, Level};
use hotline_bridge::drivers::dispatch::DispatchRefused;
use hotline_bridge::engine::dispatch::DispatchError;
use hotline_bridge::testkit::interpreter_bot::Answer;
use serde_json::json;

fn settings(predispatch: bool) -> hotline_bridge::config::Settings {
    let mut s = dispatch_settings();
    s.dispatch.predispatch = predispatch;
    s.dispatch.ring_timeout_s = 10;
    s.detect.threshold = 0.8;
    s
}

/// A queued call detected as `code` with `confidence`, its caller connected (so it is not
/// abandoned); no operator yet.
async fn queued_call(app: &TestApp, code: &str, confidence: f32) -> (String, WsClient) {
    let (call, token) = app.state.calls.create(LanguageView {
        code: Some(lang(code)),
        source: LanguageSource::Text,
        confidence,
    });
    let call_id = call.id().to_string();
    let mut caller = WsClient::connect(app.addr).await;
    caller
        .send(json!({"type": "hello", "token": token, "call_id": call_id}))
        .await;
    caller.wait_for("joined").await;
    (call_id, caller)
}

/// Whether the dispatcher holds a request for `call_id` (probed by cancelling it).
async fn has_request(app: &TestApp, call_id: &str) -> bool {
    let call = CallId::parse(call_id).expect("call id");
    match app.state.dispatch.cancel(call).await {
        Ok(()) => true,
        Err(DispatchRefused::Engine(DispatchError::NoRequest(_))) => false,
        Err(e) => panic!("probe: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confident_foreign_call_rings_an_interpreter_before_an_operator_answers() {
    let redis = TestRedis::start();
    let app = app_on(&redis, settings(true)).await;
    let token = add_interpreter(&app, "early", &["pt"], Level::Native).await;
    let mut early = bot(&app, &token, Answer::Accept, 3).await;

    let (call_id, _caller) = queued_call(&app, "pt", 0.95).await;
    let ring = expect(&mut early, "ring", "rung while the call waits").await;
    assert_eq!(ring["call_id"], call_id.as_str());
    assert_eq!(ring["language"], "pt");
    let ended = expect(&mut early, "offer_ended", "the accept is confirmed").await;
    assert_eq!(ended["reason"], "accepted");
    // Nobody has answered yet: the call still waits, and the interpreter is not invited.
    assert_eq!(call_view(&app, &call_id).await.state, CallStateView::Queued);
    let seen = drain(&mut early);
    assert!(
        !seen.iter().any(|m| m["type"] == "invited"),
        "invited before an operator answered: {seen:?}"
    );

    // An operator answers: the interpreter is invited and joins; the operator's own request
    // finds the search already done.
    let mut operator = operator_answers(&app, &call_id).await;
    expect(&mut early, "invited", "invited once an operator answers").await;
    expect(&mut early, "joined", "the interpreter joins").await;
    operator.send(json!({"type": "request_interpreter"})).await;
    let accepted = progress(&mut operator, "accepted").await;
    assert_eq!(accepted["progress"]["interpreter"], "early");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsure_calls_and_calls_in_the_operators_language_ring_nobody() {
    let redis = TestRedis::start();
    let app = app_on(&redis, settings(true)).await;
    let token = add_interpreter(&app, "waiting", &["pt", "zh"], Level::Native).await;
    let mut waiting = bot(&app, &token, Answer::Ignore, 3).await;

    let (unsure, _c1) = queued_call(&app, "pt", 0.5).await;
    let (chinese, _c2) = queued_call(&app, "zh", 1.0).await;
    // A confident call queued after them: the dispatcher has seen the queue with all three once
    // this one rings, and it rings first although it is the newest.
    let (sure, _c3) = queued_call(&app, "pt", 0.9).await;
    let ring = expect(&mut waiting, "ring", "the confident call rings").await;
    assert_eq!(ring["call_id"], sure.as_str());
    assert!(!has_request(&app, &unsure).await, "below the threshold");
    assert!(
        !has_request(&app, &chinese).await,
        "the operators' language"
    );
    assert!(has_request(&app, &sure).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_pre_dispatch_off_only_an_operator_rings() {
    let redis = TestRedis::start();
    let app = app_on(&redis, settings(false)).await;
    let token = add_interpreter(&app, "waiting", &["pt"], Level::Native).await;
    let mut waiting = bot(&app, &token, Answer::Ignore, 3).await;

    let (sure, _c1) = queued_call(&app, "pt", 0.99).await;
    // A later call an operator answers and asks for: it is the first (and only) one rung.
    let (later, _c2) = queued_call(&app, "pt", 0.5).await;
    let mut operator = operator_answers(&app, &later).await;
    operator.send(json!({"type": "request_interpreter"})).await;
    progress(&mut operator, "ringing").await;
    let ring = expect(&mut waiting, "ring", "the operator's request rings").await;
    assert_eq!(ring["call_id"], later.as_str());
    assert!(!has_request(&app, &sure).await, "nothing pre-dispatched");
    assert_eq!(call_view(&app, &sure).await.state, CallStateView::Queued);
}
