//! A phone caller whose number gives no language hears the spoken language menu and chooses by
//! key: sipp calls in (an unlisted number) with its RTP on the test's own phone socket and
//! presses 2 by SIP INFO; the call waits in the operator queue as French, chosen by the caller.
//! The phone hears speech from the bridge (the menu, then "connecting" and its queue position)
//! and then the comfort tone: never more than a few seconds of dead silence; once the operator
//! answers, nothing more is played to it. A caller who
//! presses nothing hears the menu twice (the second time `menu_timeout_s` after the first
//! ended), then the English announcements, and waits with the language unknown. A caller whose
//! operator leaves the call (it goes back in the queue) hears the announcements again, in its
//! language, until another operator takes the call over.
use crate::common;

use common::phone_rtp::PhoneRtp;
use common::sipp::{self, sip_settings, SippRun};
use common::spawn_app;
use common::ws::{
    answer, operator_hangs_up, operator_login, operator_session, settings_with_operator, WsClient,
};
use hotline_bridge::app::AppState;
use hotline_bridge::drivers::call::CallHandle;
use hotline_bridge::sfu::MediaEvent;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// Longest wait for any one step.
const STEP: Duration = Duration::from_secs(20);
/// The comfort tone beeps every 4 s: a longer silence (in 20 ms packets) is dead air.
const MAX_SILENCE: u64 = 4_500 / 20;

/// sipp calls `number` (999: no DID language) with its media at `phone_rtp`; `extra` as sipp's.
fn calls_in(
    bridge: SocketAddr,
    number: &'static str,
    scenario: &'static str,
    phone_rtp: &PhoneRtp,
    extra: &[&str],
) -> JoinHandle<SippRun> {
    sipp::phone_call(bridge, number, scenario, phone_rtp.addr, extra)
}

/// The queue entry, as the console is sent it, that satisfies `pred`, within `STEP`.
async fn queued_until(console: &mut WsClient, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    tokio::time::timeout(STEP, async {
        loop {
            let q = console.wait_for("queue").await;
            if let Some(c) = q["calls"]
                .as_array()
                .and_then(|c| c.iter().find(|c| pred(c)))
            {
                return c.clone();
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_pressing_2_in_the_menu_waits_as_french_hearing_prompts_then_comfort_tones() {
    let mut s = settings_with_operator();
    let bridge = sip_settings(&mut s, &["127.0.0.1"]);
    let app = spawn_app(AppState::in_memory(s)).await;
    let op_token = operator_login(&app.url("")).await;
    let mut console = operator_session(app.addr, &op_token).await;

    let phone_rtp = PhoneRtp::start().await;
    let phone = calls_in(
        bridge,
        "999",
        "uac_menu_key.xml",
        &phone_rtp,
        &["-key", "info_key", "2"],
    );
    let queued = queued_until(&mut console, "the call queued as French, chosen", |c| {
        c["language"]["code"] == "fr" && c["language"]["source"] == "chosen"
    })
    .await;
    let call_id = queued["call_id"].as_str().expect("call id").to_owned();

    // The menu, "connecting" and the position are speech; then beeps every four seconds.
    phone_rtp
        .wait("the phone hears the prompts", STEP, |h| h.sound >= 100)
        .await;
    let before = phone_rtp.heard();
    phone_rtp
        .wait(
            "the phone hears prompts and tones for 12 s more",
            STEP,
            |h| h.packets >= before.packets + 600,
        )
        .await;
    let heard = phone_rtp.heard();
    assert!(heard.sound > before.sound, "comfort tones: {heard:?}");
    assert!(
        heard.longest_silence <= MAX_SILENCE,
        "never dead silence: {} ms at most, heard {heard:?}",
        heard.longest_silence * 20
    );

    answer(&mut console, &call_id).await;
    assert_eq!(
        operator_hangs_up(&app.url(""), &op_token, &call_id).await,
        204
    );
    sipp::completed(phone, STEP, "INFO answered 200, then the bridge's BYE").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_pressing_nothing_hears_the_menu_twice_then_waits_with_the_language_unknown() {
    let mut s = settings_with_operator();
    let bridge = sip_settings(&mut s, &["127.0.0.1"]);
    // A one-language menu and a short timeout keep the wait within sipp's own timeout.
    s.languages.core = vec![hotline_bridge::domain::Language::parse("en").expect("en")];
    s.languages.extended = Vec::new();
    s.sip.menu_timeout_s = 1;
    let app = spawn_app(AppState::in_memory(s)).await;
    let mut events = app.state.media.subscribe();
    let op_token = operator_login(&app.url("")).await;
    let mut console = operator_session(app.addr, &op_token).await;

    let phone_rtp = PhoneRtp::start().await;
    let phone = calls_in(bridge, "999", "uac_audio_until_bye.xml", &phone_rtp, &[]);
    let queued = sipp::first_queued(&mut console, STEP).await;
    let call_id = queued["call_id"].as_str().expect("call id").to_owned();

    // The menu's end, twice: the second play began a timeout after the first ended.
    let mut ends = Vec::new();
    tokio::time::timeout(STEP, async {
        while ends.len() < 2 {
            if let Ok(MediaEvent::PlayoutDone { call, participant }) = events.recv().await {
                if call.to_string() == call_id && participant == CallHandle::caller() {
                    ends.push(Instant::now());
                }
            }
        }
    })
    .await
    .expect("the menu played twice");
    assert!(
        ends[1] - ends[0] > Duration::from_secs(3),
        "a second menu (welcome and one choice) after a 1 s timeout: {:?}",
        ends[1] - ends[0]
    );
    // Then the English announcement: speech again after the timeout.
    let before = phone_rtp.heard();
    phone_rtp
        .wait("the phone hears the announcement", STEP, |h| {
            h.sound >= before.sound + 50
        })
        .await;
    let view = app.state.calls.live();
    let call = view
        .iter()
        .find(|c| c.id().to_string() == call_id)
        .expect("the call is live");
    let language = call.view().await.expect("view").language;
    assert_eq!(language.code, None, "still unknown: {language:?}");

    assert_eq!(
        operator_hangs_up(&app.url(""), &op_token, &call_id).await,
        204
    );
    sipp::completed(phone, STEP, "the bridge's BYE").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_whose_operator_leaves_hears_the_announcements_again_until_taken_over() {
    let mut s = settings_with_operator();
    let bridge = sip_settings(&mut s, &["127.0.0.1"]);
    let app = spawn_app(AppState::in_memory(s)).await;
    let op_token = operator_login(&app.url("")).await;
    let mut console = operator_session(app.addr, &op_token).await;

    // The number dialled gives Portuguese: no menu, "connecting" at once.
    let phone_rtp = PhoneRtp::start().await;
    let phone = calls_in(
        bridge,
        "12345001",
        "uac_audio_until_bye.xml",
        &phone_rtp,
        &[],
    );
    let queued = queued_until(&mut console, "the call queued as Portuguese", |c| {
        c["language"]["code"] == "pt"
    })
    .await;
    let call_id = queued["call_id"].as_str().expect("call id").to_owned();
    phone_rtp
        .wait("the phone hears that it is being connected", STEP, |h| {
            h.sound >= 25
        })
        .await;

    // With the operator (who sends no audio here) nothing is played: after the stop has had a
    // second to take effect, two seconds of packets bring no sound.
    answer(&mut console, &call_id).await;
    let answered = phone_rtp.heard();
    phone_rtp
        .wait("the phone's audio flows on", STEP, |h| {
            h.packets >= answered.packets + 50
        })
        .await;
    let quiet = phone_rtp.heard();
    phone_rtp
        .wait("the phone's audio flows on", STEP, |h| {
            h.packets >= quiet.packets + 100
        })
        .await;
    let with_operator = phone_rtp.heard();
    assert_eq!(
        with_operator.sound, quiet.sound,
        "no prompt while the operator is there: {with_operator:?}"
    );

    // The operator steps out: the call is queued again and the caller is told so, not left in
    // silence.
    console
        .send(serde_json::json!({"type": "leave_call"}))
        .await;
    queued_until(&mut console, "the call back in the queue", |c| {
        c["call_id"] == call_id.as_str()
    })
    .await;
    phone_rtp
        .wait(
            "the requeued phone hears the announcements again",
            STEP,
            |h| h.sound >= with_operator.sound + 25,
        )
        .await;

    // Another answer (here the same operator's) takes it over; then the operator hangs up.
    answer(&mut console, &call_id).await;
    assert_eq!(
        operator_hangs_up(&app.url(""), &op_token, &call_id).await,
        204
    );
    sipp::completed(phone, STEP, "the bridge's BYE").await;
}
