//! An INVITE flood from one address is rate-limited without hurting a call in progress: while a
//! trunk call from 127.0.0.1 is up, sipp floods INVITEs from the same address far past
//! `invites_per_minute`/`invite_burst`; the excess is refused with 503 and Retry-After (the
//! overload answer of RFC 3261 §21.5.4, which tells a trunk to back off rather than fail over
//! for good); the live call stays queued (over the API) and ends normally with the phone's BYE.
use crate::common;

use common::sipp::{self, sip_settings};
use common::spawn_app;
use common::ws::{operator_login, operator_session, settings_with_operator};
use hotline_bridge::app::AppState;
use serde_json::Value;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(20);
/// INVITEs in the flood, and their rate per second.
const FLOOD: u32 = 100;
const FLOOD_RATE: &str = "200";
const BURST: u32 = 10;
/// How long the live call stays up (sipp's -d): the flood must be over well before.
const LIVE_CALL_MS: &str = "10000";
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_refused_with_503_and_the_call_in_progress_is_unaffected() {
    let mut s = settings_with_operator();
    let bridge = sip_settings(&mut s, &["127.0.0.0/8"]);
    s.sip.invites_per_minute = 60;
    s.sip.invite_burst = BURST;
    let app = spawn_app(AppState::in_memory(s)).await;
    let op_token = operator_login(&app.url("")).await;
    let mut console = operator_session(app.addr, &op_token).await;
    let mut live = app.state.calls.live_count();

    let phone = tokio::spawn(sipp::run(
        "uac_holds_then_hangs_up.xml",
        "127.0.0.1",
        bridge,
        "12345001",
        &["-d", LIVE_CALL_MS],
    ));
    let queued = sipp::first_queued(&mut console, STEP).await;
    let call_id = queued["call_id"].as_str().expect("call id").to_owned();

    let flood = sipp::run_calls(
        "uac_flood.xml",
        "127.0.0.1",
        bridge,
        "12345001",
        FLOOD,
        &["-r", FLOOD_RATE, "-l", &FLOOD.to_string()],
    )
    .await;
    assert_eq!(
        flood.code, 0,
        "every flood INVITE got 503 or 200:\n{}",
        flood.log
    );
    let refused = flood.log.matches("SIP/2.0 503 Service Unavailable").count() as u32;
    let retry_after = flood.log.matches("Retry-After:").count() as u32;
    // The live call took one of the burst; the bucket refills one a second while the flood runs.
    assert!(
        refused >= FLOOD - BURST - 3,
        "the excess was refused: {refused} of {FLOOD} got 503"
    );
    assert!(retry_after >= refused, "each 503 says when to retry");

    let view: Value = reqwest::Client::new()
        .get(app.url(&format!("/api/calls/{call_id}")))
        .bearer_auth(&op_token)
        .send()
        .await
        .expect("view the live call")
        .json()
        .await
        .expect("call view");
    assert_eq!(view["call_id"], call_id.as_str(), "{view}");
    assert!(
        view["ended_at"].is_null(),
        "the live call is still up: {view}"
    );
    assert_eq!(view["language"]["code"], "pt", "{view}");

    sipp::completed(
        phone,
        STEP,
        "the live call's BYE was answered after the flood",
    )
    .await;
    sipp::no_call_left(
        &mut live,
        STEP,
        "every call ended: the live one and the flood's answered ones",
    )
    .await;
}
