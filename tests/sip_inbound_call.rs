//! A phone call from a trunk, with sipp as the trunk: its INVITE from an allowed address is
//! answered (200 with G.711 SDP), the call waits in the same operator queue as web calls with the
//! language of the number dialled and the caller's number masked to its last digits; an operator
//! ending the call makes the bridge send BYE, which sipp answers; the phone's BYE ends the call.
mod common;

use common::sipp::{self, sip_settings};
use common::spawn_app;
use common::ws::{operator_login, operator_session, settings_with_operator, WsClient};
use hotline_bridge::app::AppState;
use serde_json::Value;
use std::time::Duration;

/// Longest wait for any one step.
const STEP: Duration = Duration::from_secs(20);

/// The first queue the operator's console is sent with a call in it.
async fn first_queued(ws: &mut WsClient) -> Value {
    tokio::time::timeout(STEP, async {
        loop {
            let q = ws.wait_for("queue").await;
            if let Some(c) = q["calls"].as_array().and_then(|c| c.first()) {
                return c.clone();
            }
        }
    })
    .await
    .expect("a phone call in the operator queue")
}

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
    let queued = first_queued(&mut console).await;
    assert_eq!(
        queued["language"]["code"], "pt",
        "the DID's language: {queued}"
    );
    assert_eq!(queued["language"]["source"], "chosen", "{queued}");
    assert_eq!(queued["phone"], "…5678", "the number masked: {queued}");
    let call_id = queued["call_id"].as_str().expect("call id").to_owned();

    let r = reqwest::Client::new()
        .post(app.url(&format!("/api/calls/{call_id}/hangup")))
        .bearer_auth(&op_token)
        .send()
        .await
        .expect("hang up");
    assert_eq!(r.status(), 204, "the operator ends the call");
    let run = tokio::time::timeout(STEP + sipp::SCENARIO_TIMEOUT, phone)
        .await
        .expect("sipp finishes")
        .expect("sipp task");
    assert_eq!(
        run.code, 0,
        "sipp got the bridge's BYE and answered it:\n{}",
        run.log
    );
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
    let queued = first_queued(&mut console).await;
    assert!(
        queued["language"]["code"].is_null(),
        "unknown language: {queued}"
    );
    assert_eq!(queued["language"]["source"], "unknown", "{queued}");

    let run = tokio::time::timeout(STEP + sipp::SCENARIO_TIMEOUT, phone)
        .await
        .expect("sipp finishes")
        .expect("sipp task");
    assert_eq!(
        run.code, 0,
        "the bridge answered the phone's BYE:\n{}",
        run.log
    );
    tokio::time::timeout(STEP, live.wait_for(|n| *n == 0))
        .await
        .expect("the call ended with the phone's BYE")
        .expect("registry");
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
