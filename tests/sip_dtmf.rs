//! Key presses on a phone leg reach the call as `MediaEvent::Digit`, whichever way the trunk
//! relays them: sipp plays Debian's RFC 4733 pcap (key 2: ten telephone-event packets, the end
//! packet three times) from its own RTP stack and sends a SIP INFO (application/dtmf-relay, key
//! 7). Each press is reported exactly once, for the phone's call and participant.
use crate::common;

use common::sipp::{self, sip_settings};
use common::spawn_app;
use common::ws::{operator_hangs_up, operator_login, operator_session, settings_with_operator};
use hotline_bridge::app::AppState;
use hotline_bridge::drivers::call::CallHandle;
use hotline_bridge::sfu::MediaEvent;
use std::time::Duration;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

/// Longest wait for any one step.
const STEP: Duration = Duration::from_secs(20);
/// Key 2 as RFC 4733 telephone-events (payload type 101), as Debian's sip-tester ships it.
const KEY_2_PCAP: &str = "/usr/share/sip-tester/dtmf_2833_2.pcap";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_pressed_by_rtp_and_by_sip_info_reach_the_call_once_each() {
    assert!(
        std::path::Path::new(KEY_2_PCAP).exists(),
        "{KEY_2_PCAP} is missing: install sip-tester (apt-get install sip-tester)"
    );
    let mut s = settings_with_operator();
    let bridge = sip_settings(&mut s, &["127.0.0.1"]);
    let app = spawn_app(AppState::in_memory(s)).await;
    let mut events = app.state.media.subscribe();
    let op_token = operator_login(&app.url("")).await;
    let mut console = operator_session(app.addr, &op_token).await;

    // DID 12345001 gives the language: no menu, the keys are only reported.
    let phone = tokio::spawn(sipp::run(
        "uac_keys.xml",
        "127.0.0.1",
        bridge,
        "12345001",
        &["-key", "pcap", KEY_2_PCAP, "-key", "info_key", "7"],
    ));
    let queued = sipp::first_queued(&mut console, STEP).await;
    let call_id = queued["call_id"].as_str().expect("call id").to_owned();

    let mut digits = Vec::new();
    tokio::time::timeout(STEP, async {
        while digits.len() < 2 {
            match events.recv().await {
                Ok(MediaEvent::Digit {
                    call,
                    participant,
                    digit,
                }) => {
                    assert_eq!(call.to_string(), call_id, "the phone's call");
                    assert_eq!(participant, CallHandle::caller());
                    digits.push(digit);
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => panic!("the media loop stopped"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("two key presses reported, got {digits:?}"));
    digits.sort_unstable();
    assert_eq!(digits, ['2', '7'], "one by RTP, one by SIP INFO");

    assert_eq!(
        operator_hangs_up(&app.url(""), &op_token, &call_id).await,
        204
    );
    sipp::completed(
        phone,
        STEP,
        "sipp's INFO answered 200, then the bridge's BYE",
    )
    .await;
    // The pcap (sent within a quarter of a second) ended long before the BYE: its repeated end
    // packets were no new presses.
    loop {
        match events.try_recv() {
            Ok(MediaEvent::Digit { digit, .. }) => panic!("key {digit} reported twice"),
            Ok(_) | Err(TryRecvError::Lagged(_)) => {}
            Err(_) => break,
        }
    }
}
