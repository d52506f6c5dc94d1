//! Signalling floods, cut off by `[limits]` before the media loop does any work, while a real
//! call on the same node goes on: its audio keeps flowing both ways. A candidate flood stops at
//! `ice_candidates_per_offer`, an offer flood at `offers_per_minute`, an offer asking for dozens
//! of receive slots is refused whole, a message flood at `ws_messages_per_s`; a client that keeps
//! going is closed (1008). The hello deadline is absolute: pings do not extend it. Each limit is
//! counted in /metrics.
use crate::common;

use common::abuse::{limited, LiveCall};
use common::dispatch::WAIT;
use common::fixtures::chosen;
use common::ws::{caller_in_call, Got, WsClient};
use common::{spawn_app, test_settings, TestApp};
use hotline_bridge::app::AppState;
use hotline_bridge::config::Settings;
use hotline_bridge::sfu::peer::PeerConfig;
use hotline_bridge::testkit::{TestPeerOffer, TestPeerOptions};
use serde_json::json;
use std::time::Duration;

/// A second caller's session, in its own call (the attacker).
async fn another_caller(app: &TestApp) -> WsClient {
    let (call, token) = app.state.calls.create(chosen("en"));
    caller_in_call(app.addr, &call.id().to_string(), &token).await
}

fn offer_sdp(config: &PeerConfig, tag: u32) -> String {
    TestPeerOffer::new(config, tag, TestPeerOptions::default())
        .expect("offer")
        .1
}

/// Reads until the session is closed, counting `error` messages by code; panics if it stays open.
async fn until_closed(ws: &mut WsClient) -> (u16, Vec<String>) {
    let mut codes = Vec::new();
    loop {
        match ws.next().await {
            Got::Json(v) if v["type"] == "error" => {
                codes.push(v["code"].as_str().unwrap_or("?").to_owned())
            }
            Got::Json(_) => {}
            Got::Close(code, _) => return (code, codes),
            Got::Gone(why) => panic!("closed without a close frame: {why}; errors {codes:?}"),
        }
    }
}

fn settings(edit: impl FnOnce(&mut Settings)) -> Settings {
    let mut s = test_settings();
    edit(&mut s);
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_candidate_flood_is_cut_off_at_its_cap_while_a_real_call_goes_on() {
    let app = spawn_app(AppState::in_memory(settings(|s| {
        s.limits.ice_candidates_per_offer = 8;
        // Only the candidate cap is under test: the message rate does not get in its way.
        s.limits.ws_messages_per_s = 1_000_000;
        s.limits.ws_messages_burst = 1_000_000;
    })))
    .await;
    let live = LiveCall::start(&app, "pt").await;
    let config = PeerConfig::new().expect("config");
    let mut attacker = another_caller(&app).await;
    attacker
        .send(json!({"type": "offer", "sdp": offer_sdp(&config, 9)}))
        .await;
    attacker.wait_for("answer").await;

    // Two thousand candidates at once: the first eight are used, the rest refused, and the
    // session is closed once refusals keep coming.
    for i in 0..2_000u32 {
        let c = format!(
            "candidate:{i} 1 udp 2130706431 127.0.0.1 {} typ host",
            10_000 + i % 50_000
        );
        if attacker
            .try_send_text(json!({"type": "ice_candidate", "candidate": c}).to_string())
            .await
            .is_err()
        {
            break;
        }
    }
    let (code, errors) = until_closed(&mut attacker).await;
    assert_eq!(code, 1008, "closed for policy; errors {errors:?}");
    assert!(
        !errors.is_empty() && errors.iter().all(|c| c == "rate_limited"),
        "refused as rate_limited, not as unreadable: {errors:?}"
    );
    assert!(
        errors.len() <= 20,
        "closed after at most 20 refusals: {}",
        errors.len()
    );
    live.still_flowing("after the candidate flood").await;
    assert!(limited(&app, "ice_candidates_per_offer").await >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offer_flood_is_cut_off_and_a_huge_offer_is_refused_before_the_media_loop() {
    let app = spawn_app(AppState::in_memory(settings(|s| {
        s.limits.offers_per_minute = 3;
        s.limits.media_sections_per_offer = 6;
    })))
    .await;
    let live = LiveCall::start(&app, "fr").await;
    let config = PeerConfig::new().expect("config");
    let mut attacker = another_caller(&app).await;

    // An offer asking for dozens of receive slots is refused whole; the session stays usable.
    let one = offer_sdp(&config, 9);
    let (head, media) = one.split_at(one.find("m=").expect("a media section"));
    let huge = format!("{head}{}", media.repeat(12));
    let sections = huge.matches("\nm=").count();
    assert!(sections >= 12, "{sections} sections");
    attacker.send(json!({"type": "offer", "sdp": huge})).await;
    let refused = attacker.wait_for("error").await;
    assert_eq!(refused["code"], "invalid", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains(&sections.to_string())),
        "says how many: {refused}"
    );
    assert_eq!(limited(&app, "media_sections_per_offer").await, 1);

    // Three offers a minute are answered; the next ones are refused without reaching the media
    // loop, and a client that keeps sending them is closed.
    for i in 0..3 {
        attacker
            .send(json!({"type": "offer", "sdp": offer_sdp(&config, 10 + i)}))
            .await;
        attacker.wait_for("answer").await;
    }
    for i in 0..100 {
        let sdp = offer_sdp(&config, 20 + i);
        if attacker
            .try_send_text(json!({"type": "offer", "sdp": sdp}).to_string())
            .await
            .is_err()
        {
            break;
        }
    }
    let (code, errors) = until_closed(&mut attacker).await;
    assert_eq!(code, 1008, "errors {errors:?}");
    assert!(
        errors.iter().all(|c| c == "rate_limited") && errors.len() <= 20,
        "{errors:?}"
    );
    live.still_flowing("after the offer flood").await;
    assert!(limited(&app, "offers_per_minute").await >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_flood_is_refused_beyond_its_rate_then_closed() {
    let app = spawn_app(AppState::in_memory(settings(|s| {
        s.limits.ws_messages_per_s = 5;
        s.limits.ws_messages_burst = 10;
    })))
    .await;
    let live = LiveCall::start(&app, "de").await;
    let mut attacker = another_caller(&app).await;
    for nonce in 0..5_000u32 {
        if attacker
            .try_send_text(json!({"type": "ping", "nonce": nonce}).to_string())
            .await
            .is_err()
        {
            break;
        }
    }
    let mut pongs = 0;
    let mut errors = Vec::new();
    let code = loop {
        match attacker.next().await {
            Got::Json(v) if v["type"] == "pong" => pongs += 1,
            Got::Json(v) if v["type"] == "error" => errors.push(v["code"].clone()),
            Got::Json(_) => {}
            Got::Close(code, _) => break code,
            Got::Gone(why) => panic!("no close frame: {why}"),
        }
    };
    assert_eq!(code, 1008);
    assert!(
        (1..=20).contains(&pongs),
        "the burst is answered, the flood is not: {pongs} pongs"
    );
    assert!(errors.iter().all(|c| c == "rate_limited"));
    live.still_flowing("after the message flood").await;
    assert!(limited(&app, "ws_messages_per_s").await >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hello_deadline_is_not_extended_by_other_frames() {
    let app = spawn_app(AppState::in_memory(settings(|s| {
        s.limits.hello_timeout_s = 2
    })))
    .await;
    let mut ws = WsClient::connect(app.addr).await;
    let opened = tokio::time::Instant::now();
    // A ping every 200 ms, each answered, never a hello: the session is still closed on time.
    let mut every = tokio::time::interval(Duration::from_millis(200));
    let closed = loop {
        tokio::select! {
            _ = every.tick() => ws.send(json!({"type": "ping", "nonce": 1})).await,
            got = ws.next() => match got {
                Got::Json(v) if v["type"] == "error" => {
                    assert_eq!(v["code"], "hello_first", "{v}");
                }
                Got::Json(v) => assert_eq!(v["type"], "pong", "{v}"),
                Got::Close(code, _) => break code,
                Got::Gone(why) => panic!("no close frame: {why}"),
            },
        }
        assert!(
            opened.elapsed() < WAIT,
            "still open after {WAIT:?} of pings"
        );
    };
    assert_eq!(closed, 1008);
    assert!(
        opened.elapsed() >= Duration::from_millis(1900),
        "not before its deadline"
    );
}
