//! Pre-dispatch (real redis-server, bots on real WebSockets, real WebRTC test peers): a queued
//! call whose caller is there (signalling open, media connected, packets arriving) and whose
//! language is confidently detected and not the operators' own rings an interpreter before any
//! operator answers; the interpreter is brought in once one does. A caller with a socket but no
//! media rings nobody; a pre-dispatched interpreter whose caller's media stops or whose socket
//! closes is released at once (available, not left busy). A call below the confidence threshold,
//! a call in the operators' language (zh), or any call with pre-dispatch off rings nobody.
use crate::common;

use common::dispatch::{
    add_interpreter, app_on, bot, call_view, dispatch_settings, drain, expect, join_media,
    operator_answers, progress, status,
};
use common::fixtures::{chosen, lang};
use common::metrics::{samples_with, scrape};
use common::redis::TestRedis;
use common::ws::{caller_in_call, create_call, WsClient};
use common::TestApp;
use hotline_bridge::api::messages::{CallState, LanguageSource, LanguageView};
use hotline_bridge::domain::{CallId, InterpreterId, Level};
use hotline_bridge::drivers::clock::now_ms;
use hotline_bridge::drivers::dispatch::DispatchRefused;
use hotline_bridge::engine::dispatch::DispatchError;
use hotline_bridge::pool::Status;
use hotline_bridge::sfu::peer::PeerConfig;
use hotline_bridge::testkit::interpreter_bot::Answer;
use hotline_bridge::testkit::TestPeer;
use serde_json::json;

const CALLER_TAG: u32 = 100;

fn settings(predispatch: bool) -> hotline_bridge::config::Settings {
    let mut s = dispatch_settings();
    s.dispatch.predispatch = predispatch;
    s.dispatch.ring_timeout_s = 10;
    s.detect.threshold = 0.8;
    s
}

/// A queued call detected as `code` with `confidence`, its caller's socket connected (so it is
/// not abandoned) but no media; no operator yet.
async fn queued_call(app: &TestApp, code: &str, confidence: f32) -> (String, WsClient) {
    let (call, token) = app.state.calls.create(LanguageView {
        code: Some(lang(code)),
        source: LanguageSource::Text,
        confidence,
    });
    let call_id = call.id().to_string();
    let caller = caller_in_call(app.addr, &call_id, &token).await;
    (call_id, caller)
}

/// As `queued_call`, and the caller's media connected and sending.
async fn caller_with_media(
    app: &TestApp,
    code: &str,
    confidence: f32,
    tag: u32,
) -> (String, WsClient, TestPeer) {
    let (call_id, mut caller) = queued_call(app, code, confidence).await;
    let config = PeerConfig::new().expect("peer config");
    let peer = join_media(&mut caller, &config, tag).await;
    (call_id, caller, peer)
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

async fn pool_status(app: &TestApp, id: &str) -> Status {
    let iid = InterpreterId::parse(id).expect("id");
    app.state
        .pool
        .state(&iid, now_ms())
        .await
        .expect("pool state")
        .expect("known interpreter")
        .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confident_foreign_call_rings_an_interpreter_before_an_operator_answers() {
    let redis = TestRedis::start();
    let app = app_on(&redis, settings(true)).await;
    let token = add_interpreter(&app, "early", &["pt"], Level::Native).await;
    let mut early = bot(&app, &token, Answer::Accept, 3).await;

    let (call_id, _caller, _media) = caller_with_media(&app, "pt", 0.95, CALLER_TAG).await;
    let ring = expect(&mut early, "ring", "rung while the call waits").await;
    assert_eq!(ring["call_id"], call_id.as_str());
    assert_eq!(ring["language"], "pt");
    let ended = expect(&mut early, "offer_ended", "the accept is confirmed").await;
    assert_eq!(ended["reason"], "accepted");
    // Nobody has answered yet: the call still waits, and the interpreter is not invited.
    assert_eq!(call_view(&app, &call_id).await.state, CallState::Queued);
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
async fn an_anonymous_call_with_a_socket_but_no_media_rings_nobody() {
    let redis = TestRedis::start();
    let app = app_on(&redis, settings(true)).await;
    let token = add_interpreter(&app, "waiting", &["pt"], Level::Native).await;
    let mut waiting = bot(&app, &token, Answer::Accept, 3).await;

    // The attempt: a chosen language over HTTP (fully confident), then only a socket kept alive.
    let (anonymous, anon_token, created) = create_call(&app.url(""), json!({"chosen": "pt"})).await;
    let confidence = created["language"]["confidence"]
        .as_f64()
        .expect("confidence");
    assert!(confidence >= 0.8, "decided: {created}");
    let _anon = caller_in_call(app.addr, &anonymous, &anon_token).await;
    // A real caller queued after it, media flowing: once this one rings, the dispatcher has seen
    // the queue with both; the older call would have been rung first had it counted.
    let (real, _caller, _media) = caller_with_media(&app, "pt", 1.0, CALLER_TAG).await;
    let ring = expect(&mut waiting, "ring", "the caller with media rings").await;
    assert_eq!(ring["call_id"], real.as_str());
    assert!(!has_request(&app, &anonymous).await, "nothing requested");
    let seen = drain(&mut waiting);
    assert!(
        !seen
            .iter()
            .any(|m| m["type"] == "ring" && m["call_id"] == anonymous.as_str()),
        "the anonymous call rang: {seen:?}"
    );
    assert_eq!(call_view(&app, &anonymous).await.state, CallState::Queued);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interpreter_taken_for_a_caller_whose_media_stops_is_released_at_once() {
    let redis = TestRedis::start();
    let app = app_on(&redis, settings(true)).await;
    let token = add_interpreter(&app, "early", &["pt"], Level::Native).await;
    let mut early = bot(&app, &token, Answer::Accept, 3).await;

    let (call_id, _caller, media) = caller_with_media(&app, "pt", 0.95, CALLER_TAG).await;
    expect(&mut early, "ring", "rung while the caller is there").await;
    let ended = expect(&mut early, "offer_ended", "accepted").await;
    assert_eq!(ended["reason"], "accepted");
    assert_eq!(pool_status(&app, "early").await, Status::Busy);

    // The caller's media stops (its socket stays open): the interpreter is let go, available
    // again without wrap-up, while the call itself still waits.
    media.close();
    let released = status(&mut early, "available", "released to available").await;
    assert!(released.get("until").is_none(), "{released}");
    assert_eq!(pool_status(&app, "early").await, Status::Available);
    assert!(
        !has_request(&app, &call_id).await,
        "the request is withdrawn"
    );
    assert_eq!(call_view(&app, &call_id).await.state, CallState::Queued);
    let metrics = scrape(app.url("/metrics")).await;
    let withdrawn = samples_with(
        &metrics,
        "hotline_events_total",
        ("kind", "predispatch_withdrawn"),
    );
    assert!(!withdrawn.is_empty(), "the withdrawal is audited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_whose_socket_closes_frees_the_interpreter_and_is_rung_again_on_return() {
    let redis = TestRedis::start();
    let app = app_on(&redis, settings(true)).await;
    let token = add_interpreter(&app, "early", &["pt"], Level::Native).await;
    let mut early = bot(&app, &token, Answer::Accept, 3).await;

    let (call, caller_token) = app.state.calls.create(chosen("pt"));
    let call_id = call.id().to_string();
    let mut caller = caller_in_call(app.addr, &call_id, &caller_token).await;
    let config = PeerConfig::new().expect("peer config");
    let _media = join_media(&mut caller, &config, CALLER_TAG).await;
    expect(&mut early, "ring", "rung").await;
    expect(&mut early, "offer_ended", "accepted").await;

    // The socket closes (the media peer lingers): released at once.
    drop(caller);
    status(
        &mut early,
        "available",
        "released when the caller's socket closed",
    )
    .await;
    assert_eq!(pool_status(&app, "early").await, Status::Available);

    // The caller's page reconnects within the grace time, media still flowing: rung again.
    let _back = caller_in_call(app.addr, &call_id, &caller_token).await;
    let ring = expect(&mut early, "ring", "rung again once the caller is back").await;
    assert_eq!(ring["call_id"], call_id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsure_calls_and_calls_in_the_operators_language_ring_nobody() {
    let redis = TestRedis::start();
    let app = app_on(&redis, settings(true)).await;
    let token = add_interpreter(&app, "waiting", &["pt", "zh"], Level::Native).await;
    let mut waiting = bot(&app, &token, Answer::Ignore, 3).await;

    let (unsure, _c1, _m1) = caller_with_media(&app, "pt", 0.5, 101).await;
    let (chinese, _c2, _m2) = caller_with_media(&app, "zh", 1.0, 102).await;
    // A confident call queued after them: the dispatcher has seen the queue with all three once
    // this one rings, and it rings first although it is the newest.
    let (sure, _c3, _m3) = caller_with_media(&app, "pt", 0.9, 103).await;
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

    let (sure, _c1, _m1) = caller_with_media(&app, "pt", 0.99, 101).await;
    // A later call an operator answers and asks for: it is the first (and only) one rung.
    let (later, _c2) = queued_call(&app, "pt", 0.5).await;
    let mut operator = operator_answers(&app, &later).await;
    operator.send(json!({"type": "request_interpreter"})).await;
    progress(&mut operator, "ringing").await;
    let ring = expect(&mut waiting, "ring", "the operator's request rings").await;
    assert_eq!(ring["call_id"], later.as_str());
    assert!(!has_request(&app, &sure).await, "nothing pre-dispatched");
    assert_eq!(call_view(&app, &sure).await.state, CallState::Queued);
}
