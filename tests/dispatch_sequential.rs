//! Sequential dispatch over the real front door (real redis-server, interpreter bots on real
//! WebSockets, operator and caller sessions): the operator's request rings the best interpreter,
//! an accept brings them into the call; a decline or a ring timeout moves on to the next one; the
//! operator sees each step as a progress line, and the Redis stream records it.
use crate::common;

use common::dispatch::{
    add_interpreter, answered_call, app_on, bot, event_kinds, expect, on_request_settings,
    progress, WAIT,
};
use common::redis::TestRedis;
use hotline_bridge::domain::EventKind;
use hotline_bridge::domain::Level;
use hotline_bridge::testkit::interpreter_bot::Answer;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_on_first_offer_brings_the_interpreter_into_the_call() {
    let redis = TestRedis::start();
    let app = app_on(&redis, on_request_settings()).await;
    let token = add_interpreter(&app, "li-na", &["pt"], Level::Native).await;
    let mut li = bot(&app, &token, Answer::Accept, 3).await;
    let mut call = answered_call(&app, "pt").await;

    call.operator
        .send(json!({"type": "request_interpreter"}))
        .await;
    let ringing = progress(&mut call.operator, "ringing").await;
    assert_eq!(ringing["progress"]["interpreter"], "li-na");
    // What the console words as "ringing Bot li-na (bfsu, native, Portuguese)".
    let p = &ringing["progress"];
    assert_eq!(
        (&p["name"], &p["university"], &p["level"], &p["language"]),
        (
            &json!("Bot li-na"),
            &json!("bfsu"),
            &json!("native"),
            &json!("pt")
        )
    );
    assert!(ringing.get("line").is_none(), "the pages word the events");
    let ring = expect(&mut li, "ring", "li-na is rung").await;
    assert_eq!(ring["call_id"], call.call_id.as_str());
    assert_eq!(ring["language"], "pt");
    assert!(ring["deadline"].as_u64() > ring["now"].as_u64());

    let accepted = progress(&mut call.operator, "accepted").await;
    assert_eq!(accepted["progress"]["interpreter"], "li-na");
    let ended = expect(&mut li, "offer_ended", "accept confirmed").await;
    assert_eq!(ended["reason"], "accepted");
    expect(&mut li, "invited", "li-na is invited").await;
    expect(&mut li, "joined", "li-na joins the call").await;
    let state = loop {
        let v = call.operator.wait_for("call_state").await;
        if v["call"]["state"] == "interpreted" {
            break v;
        }
    };
    let who: Vec<&str> = state["call"]["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .filter_map(|p| p["role"].as_str())
        .collect();
    assert!(who.contains(&"interpreter"), "{who:?}");

    // The stream has the request, the offer and the accept with the time to interpreter.
    let events = app.state.pool.recent_events(50).await.expect("events");
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    for k in ["request", "offer", "accept"] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    let accept = events
        .iter()
        .find(|e| e.kind == EventKind::Accept)
        .expect("accept");
    assert!(accept.detail.starts_with("time_to_interpreter_ms="));
    assert_eq!(
        accept.call_id.as_ref().map(|c| c.to_string()),
        Some(call.call_id.clone())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decline_moves_on_to_the_next_interpreter() {
    let redis = TestRedis::start();
    let app = app_on(&redis, on_request_settings()).await;
    // The native speaker is ranked first and declines; the professional accepts.
    let t1 = add_interpreter(&app, "first", &["es"], Level::Native).await;
    let t2 = add_interpreter(&app, "second", &["es"], Level::Professional).await;
    let mut first = bot(&app, &t1, Answer::Decline, 3).await;
    let mut second = bot(&app, &t2, Answer::Accept, 4).await;
    let mut call = answered_call(&app, "es").await;

    call.operator
        .send(json!({"type": "request_interpreter"}))
        .await;
    let r1 = progress(&mut call.operator, "ringing").await;
    assert_eq!(r1["progress"]["interpreter"], "first");
    let declined = progress(&mut call.operator, "declined").await;
    assert_eq!(declined["progress"]["interpreter"], "first");
    let ended = expect(&mut first, "offer_ended", "decline confirmed").await;
    assert_eq!(ended["reason"], "declined");
    let r2 = progress(&mut call.operator, "ringing").await;
    assert_eq!(r2["progress"]["interpreter"], "second");
    let accepted = progress(&mut call.operator, "accepted").await;
    assert_eq!(accepted["progress"]["interpreter"], "second");
    expect(&mut second, "joined", "second joins").await;
    let kinds = event_kinds(&app, 50).await;
    assert!(kinds.contains(&EventKind::Decline), "{kinds:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ring_timeout_moves_on_to_the_next_interpreter() {
    let redis = TestRedis::start();
    let app = app_on(&redis, on_request_settings()).await;
    let t1 = add_interpreter(&app, "sleepy", &["fr"], Level::Native).await;
    let t2 = add_interpreter(&app, "awake", &["fr"], Level::Student).await;
    let mut sleepy = bot(&app, &t1, Answer::Ignore, 3).await;
    let mut awake = bot(&app, &t2, Answer::Accept, 4).await;
    let mut call = answered_call(&app, "fr").await;

    call.operator
        .send(json!({"type": "request_interpreter", "language": "fr"}))
        .await;
    let r1 = progress(&mut call.operator, "ringing").await;
    assert_eq!(r1["progress"]["interpreter"], "sleepy");
    expect(&mut sleepy, "ring", "sleepy is rung").await;
    let timed_out = progress(&mut call.operator, "timed_out").await;
    assert_eq!(timed_out["progress"]["interpreter"], "sleepy");
    let ended = expect(
        &mut sleepy,
        "offer_ended",
        "the ring ends on sleepy's console",
    )
    .await;
    assert_eq!(ended["reason"], "expired");
    let r2 = progress(&mut call.operator, "ringing").await;
    assert_eq!(r2["progress"]["interpreter"], "awake");
    progress(&mut call.operator, "accepted").await;
    expect(&mut awake, "joined", "awake joins").await;
    // Answering the expired offer now is refused clearly.
    let offer = ended["offer_id"].clone();
    sleepy.send(json!({"type": "accept_offer", "offer_id": offer}));
    let err = sleepy
        .wait_kind("error", WAIT)
        .await
        .expect("late accept is refused")
        .msg;
    assert_eq!(err["code"], "conflict");
}
