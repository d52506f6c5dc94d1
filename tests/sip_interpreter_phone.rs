//! An interpreter rung on their phone: the dispatcher's offer goes out as an INVITE through the
//! outbound trunk to sipp (a real, independent SIP stack) playing the interpreter's phone. Key 1
//! (RFC 4733 from Debian's pcap) accepts and the phone joins the call as that interpreter, as the
//! operator's console sees; key 2 declines (the request then waits, nobody else being free); a
//! phone never picked up times out and the bridge CANCELs the INVITE; a phone that hangs up
//! after its accept is a lost interpreter, for whom a replacement is sought. A trunk that
//! challenges gets the configured digest credentials. Each offer ends as a
//! console's would, and the phone ends with BYE or CANCEL.
use crate::common;

use common::dispatch::{answered_call, progress, AnsweredCall};
use common::fixtures::interpreter;
use common::sipp::{self, dial_through_pbx, sip_settings};
use common::ws::settings_with_operator;
use common::{spawn_app, TestApp};
use hotline_bridge::app::AppState;
use hotline_bridge::domain::{CallId, InterpreterId, Level, RingPreference};
use hotline_bridge::drivers::clock::now_ms;
use hotline_bridge::pool::Availability;
use serde_json::json;
use std::net::SocketAddr;
use std::time::Duration;

/// Longest wait for any one step.
const STEP: Duration = Duration::from_secs(20);
const NUMBER: &str = "+5511912345678";
const ID: &str = "bfsu-pt-07";

fn key_pcap(digit: char) -> String {
    let pcap = format!("/usr/share/sip-tester/dtmf_2833_{digit}.pcap");
    assert!(
        std::path::Path::new(&pcap).exists(),
        "{pcap} is missing: install sip-tester (apt-get install sip-tester)"
    );
    pcap
}

/// An app whose outbound trunk dials a phone on the returned loopback address, with one
/// available interpreter for pt who is rung on the phone, and a pt call an operator answered.
async fn world(ring_timeout_s: u64) -> (TestApp, SocketAddr, AnsweredCall) {
    world_with(ring_timeout_s, |_| {}).await
}

/// As `world`, with `change` made to the settings last.
async fn world_with(
    ring_timeout_s: u64,
    change: impl FnOnce(&mut hotline_bridge::config::Settings),
) -> (TestApp, SocketAddr, AnsweredCall) {
    let mut s = settings_with_operator();
    s.dispatch.predispatch = false;
    s.dispatch.ring_timeout_s = ring_timeout_s;
    sip_settings(&mut s, &["127.0.0.1"]);
    let phone: SocketAddr = format!("127.0.0.1:{}", common::ports::free_port())
        .parse()
        .expect("addr");
    dial_through_pbx(&mut s, phone);
    change(&mut s);
    let app = spawn_app(AppState::in_memory(s)).await;
    let pool = &app.state.pool;
    let profile = interpreter(ID)
        .speaks("pt", Level::Native)
        .always_on_shift()
        .phone(NUMBER, RingPreference::Phone)
        .build();
    pool.upsert(&profile).await.expect("upsert");
    let iid = InterpreterId::parse(ID).expect("id");
    // What phone duty does on its first tick, done here so the test does not wait for it.
    pool.heartbeat(&iid, now_ms()).await.expect("heartbeat");
    let _ = pool
        .set_availability(&iid, Availability::Available, now_ms())
        .await;
    let call = answered_call(&app, "pt").await;
    (app, phone, call)
}

fn phone_answers(phone: SocketAddr, digit: char) -> tokio::task::JoinHandle<sipp::SippRun> {
    let port = phone.port();
    tokio::spawn(async move {
        sipp::answer_one(
            "uas_answers_key.xml",
            "127.0.0.1",
            port,
            &["-key", "pcap", &key_pcap(digit)],
        )
        .await
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pressing_1_on_the_phone_brings_the_interpreter_into_the_call() {
    let (app, phone, mut call) = world(15).await;
    let sipp_phone = phone_answers(phone, '1');
    call.operator
        .send(json!({"type": "request_interpreter"}))
        .await;
    let ringing = progress(&mut call.operator, "ringing").await;
    assert_eq!(ringing["progress"]["interpreter"], ID);
    let accepted = progress(&mut call.operator, "accepted").await;
    assert_eq!(accepted["progress"]["interpreter"], ID);
    tokio::time::timeout(STEP, async {
        loop {
            let v = call.operator.wait_for("call_state").await;
            let interpreters = v["call"]["participants"].as_array().map_or(0, |ps| {
                ps.iter().filter(|p| p["role"] == "interpreter").count()
            });
            if v["call"]["state"] == "interpreted" && interpreters == 1 {
                return;
            }
        }
    })
    .await
    .expect("the operator sees the phone interpreter in the call");

    let id = CallId::parse(&call.call_id).expect("call id");
    let handle = app.state.calls.get(&id).expect("live call");
    handle.hang_up().await.expect("hang up");
    sipp::completed(sipp_phone, STEP, "answered, key 1, then the bridge's BYE").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pressing_2_declines_and_the_request_waits() {
    let (_app, phone, mut call) = world(15).await;
    let sipp_phone = phone_answers(phone, '2');
    call.operator
        .send(json!({"type": "request_interpreter"}))
        .await;
    progress(&mut call.operator, "ringing").await;
    let declined = progress(&mut call.operator, "declined").await;
    assert_eq!(declined["progress"]["interpreter"], ID);
    progress(&mut call.operator, "waiting").await;
    sipp::completed(sipp_phone, STEP, "answered, key 2, then the bridge's BYE").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_never_picked_up_times_out_and_is_cancelled() {
    let (_app, phone, mut call) = world(1).await;
    let port = phone.port();
    let sipp_phone = tokio::spawn(async move {
        sipp::answer_one("uas_never_answers.xml", "127.0.0.1", port, &[]).await
    });
    call.operator
        .send(json!({"type": "request_interpreter"}))
        .await;
    progress(&mut call.operator, "ringing").await;
    let timed_out = progress(&mut call.operator, "timed_out").await;
    assert_eq!(timed_out["progress"]["interpreter"], ID);
    sipp::completed(
        sipp_phone,
        STEP,
        "180, then the bridge's CANCEL (200, 487, ACK)",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_up_after_pressing_1_asks_for_a_replacement() {
    let (_app, phone, mut call) = world(15).await;
    let port = phone.port();
    let pcap = key_pcap('1');
    let sipp_phone = tokio::spawn(async move {
        sipp::answer_one(
            "uas_key_then_bye.xml",
            "127.0.0.1",
            port,
            &["-key", "pcap", &pcap],
        )
        .await
    });
    call.operator
        .send(json!({"type": "request_interpreter"}))
        .await;
    progress(&mut call.operator, "accepted").await;
    sipp::completed(sipp_phone, STEP, "answered, key 1, BYE answered 200").await;
    let lost = progress(&mut call.operator, "replacement_requested").await;
    assert_eq!(lost["progress"]["lost"], ID);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_challenging_trunk_gets_the_digest_credentials() {
    let (_app, phone, mut call) = world_with(1, |s| {
        if let Some(t) = s.sip.trunks.get_mut("pbx") {
            t.username = "hotline".into();
            t.password = "s3cret-trunk".into();
        }
    })
    .await;
    let port = phone.port();
    let sipp_phone = tokio::spawn(async move {
        let keys = ["-key", "user", "hotline", "-key", "pass", "s3cret-trunk"];
        sipp::answer_one("uas_challenges_then_rings.xml", "127.0.0.1", port, &keys).await
    });
    call.operator
        .send(json!({"type": "request_interpreter"}))
        .await;
    progress(&mut call.operator, "timed_out").await;
    sipp::completed(
        sipp_phone,
        STEP,
        "401, verified credentials, 180, then CANCEL",
    )
    .await;
}
