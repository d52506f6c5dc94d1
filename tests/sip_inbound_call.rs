//! A phone call from a trunk, with sipp as the trunk: its INVITE from an allowed address is
//! answered (200 with G.711 SDP), the call waits in the same operator queue as web calls with the
//! language of the number dialled and the caller's number masked to its last digits; an operator
//! ending the call makes the bridge send BYE, which sipp answers; the phone's BYE ends the call.
//! A PBX that refreshes the session and holds the call by re-INVITE (and UPDATE) in the dialog is
//! answered 200 with the mirrored direction, and the call goes on; held "inactive" past the RTP
//! timeout, the leg is not taken for dead.
use crate::common;

use common::sipp::{self, sip_settings};
use common::spawn_app;
use common::ws::{operator_hangs_up, operator_login, operator_session, settings_with_operator};
use hotline_bridge::app::AppState;
use std::time::Duration;

/// Longest wait for any one step.
const STEP: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trunk_call_is_queued_with_its_language_and_an_operator_hang_up_sends_bye() {
    let mut s = settings_with_operator();
    let bridge = sip_settings(&mut s, &["127.0.0.1"]);
    let app = spawn_app(AppState::in_memory(s)).await;
    let op_token = operator_login(&app.url("")).await;
    let mut console = operator_session(app.addr, &op_token).await;

    let phone = tokio::spawn(sipp::run(
        "uac_until_bye.xml",
        "127.0.0.1",
        bridge,
        "12345001",
        &[],
    ));
    let queued = sipp::first_queued(&mut console, STEP).await;
    assert_eq!(
        queued["language"]["code"], "pt",
        "the DID's language: {queued}"
    );
    assert_eq!(queued["language"]["source"], "chosen", "{queued}");
    assert_eq!(queued["phone"], "…5678", "the number masked: {queued}");
    let call_id = queued["call_id"].as_str().expect("call id").to_owned();

    assert_eq!(
        operator_hangs_up(&app.url(""), &op_token, &call_id).await,
        204,
        "the operator ends the call"
    );
    sipp::completed(phone, STEP, "sipp got the bridge's BYE and answered it").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phone_hanging_up_ends_the_call() {
    let mut s = settings_with_operator();
    let bridge = sip_settings(&mut s, &["127.0.0.0/8"]);
    let app = spawn_app(AppState::in_memory(s)).await;
    let op_token = operator_login(&app.url("")).await;
    let mut console = operator_session(app.addr, &op_token).await;
    let mut live = app.state.calls.live_count();

    // A number the DID map does not list: the language is left for the operator to set.
    let phone = tokio::spawn(sipp::run(
        "uac_hangs_up.xml",
        "127.0.0.1",
        bridge,
        "999",
        &[],
    ));
    let queued = sipp::first_queued(&mut console, STEP).await;
    assert!(
        queued["language"]["code"].is_null(),
        "unknown language: {queued}"
    );
    assert_eq!(queued["language"]["source"], "unknown", "{queued}");

    sipp::completed(phone, STEP, "the bridge answered the phone's BYE").await;
    sipp::no_call_left(&mut live, STEP, "the call ended with the phone's BYE").await;
    tokio::time::timeout(STEP, async {
        loop {
            let q = console.wait_for("queue").await;
            if q["calls"].as_array().is_some_and(|c| c.is_empty()) {
                return;
            }
        }
    })
    .await
    .expect("the call left the operator queue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pbx_holding_and_refreshing_the_session_in_the_dialog_is_answered_and_the_call_goes_on() {
    let mut s = settings_with_operator();
    let bridge = sip_settings(&mut s, &["127.0.0.1"]);
    let app = spawn_app(AppState::in_memory(s)).await;
    let mut live = app.state.calls.live_count();
    let phone = tokio::spawn(sipp::run(
        "uac_refreshes_and_holds.xml",
        "127.0.0.1",
        bridge,
        "12345001",
        &[],
    ));
    // sipp checks each answer (200, recvonly then sendrecv, the SDP version moving on) and fails
    // the call otherwise; the call ends only with its BYE at the end.
    sipp::completed(
        phone,
        STEP,
        "re-INVITEs and the UPDATE answered 200, then the BYE",
    )
    .await;
    sipp::no_call_left(&mut live, STEP, "the call ended with the phone's BYE").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_held_inactive_by_the_pbx_outlasts_the_rtp_timeout() {
    let mut s = settings_with_operator();
    let bridge = sip_settings(&mut s, &["127.0.0.1"]);
    s.sip.rtp_timeout_s = 1;
    let app = spawn_app(AppState::in_memory(s)).await;
    let mut live = app.state.calls.live_count();
    // sipp sends no RTP at all: held for 2.5 s (2.5 RTP timeouts), then taken back and hung up
    // at once.
    let phone = tokio::spawn(sipp::run(
        "uac_holds_inactive.xml",
        "127.0.0.1",
        bridge,
        "12345001",
        &[],
    ));
    sipp::completed(
        phone,
        STEP,
        "no BYE from the bridge while held; the phone's BYE answered",
    )
    .await;
    sipp::no_call_left(&mut live, STEP, "the call ended with the phone's BYE").await;
}
