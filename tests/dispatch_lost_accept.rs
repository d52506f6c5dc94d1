//! An accept whose message to the dispatcher is lost (a console on another node, its bus message
//! published while a Redis failover had no master) still brings the interpreter in: the ring is
//! withdrawn at its timeout, the withdrawal finds the offer accepted in the pool, and the
//! dispatcher invites the interpreter it booked. Without that they sat booked for a call they
//! never joined, and the call never got its interpreter.
use crate::common;

use common::dispatch::{
    add_interpreter, answered_call, app_on, bot, expect, on_request_settings, progress,
};
use common::redis::TestRedis;
use hotline_bridge::domain::{InterpreterId, Level, OfferId};
use hotline_bridge::drivers::clock::now_ms;
use hotline_bridge::pool::OfferState;
use hotline_bridge::testkit::interpreter_bot::Answer;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accept_the_dispatcher_never_heard_of_still_brings_the_interpreter_in() {
    let redis = TestRedis::start();
    let app = app_on(&redis, on_request_settings()).await;
    let token = add_interpreter(&app, "li-na", &["pt"], Level::Native).await;
    // The bot does not answer by itself: the test accepts in the pool, past the dispatcher.
    let mut li = bot(&app, &token, Answer::Ignore, 3).await;
    let mut call = answered_call(&app, "pt").await;
    call.operator
        .send(json!({"type": "request_interpreter"}))
        .await;
    let ring = expect(&mut li, "ring", "li-na is rung").await;
    let offer = OfferId::parse(ring["offer_id"].as_str().expect("offer id")).expect("offer id");
    let iid = InterpreterId::parse("li-na").expect("id");
    let state = app
        .state
        .pool
        .respond(&offer, &iid, true, now_ms())
        .await
        .expect("accepted in the pool");
    assert_eq!(state, OfferState::Accepted);

    let accepted = progress(&mut call.operator, "accepted").await;
    assert_eq!(accepted["progress"]["interpreter"], "li-na");
    expect(&mut li, "invited", "li-na is invited after all").await;
    expect(&mut li, "joined", "li-na joins the call").await;
}
