//! A real softphone (baresip) calls the hotline's number through the trunk, and a real operator
//! console (headless Chromium) answers it: the operator hears the phone caller (the page's
//! getStats: audio energy rising on the caller's stream) and the phone hears the operator (its
//! recording of what it heard since the answer holds speech), and when the phone hangs up the
//! call ends for the operator too. Once with G.711, once with Opus over plain RTP, once with
//! SDES-SRTP required by the phone (baresip refuses the call if the answer is not SRTP).
use crate::common;

use common::baresip::{Mouth, Phone, PhoneOptions};
use common::browser::{speech_wav, Browser};
use common::sipp::{no_call_left, sip_settings};
use common::spawn_app;
use common::ws::settings_with_operator;
use hotline_bridge::app::AppState;
use std::time::{Duration, Instant};

const STEP: Duration = Duration::from_secs(30);
/// Seconds of the phone's ear checked for the operator's voice.
const LISTEN_S: f64 = 3.0;
/// Loudness (RMS of full scale) above which the phone heard speech, not silence.
const SPEECH_RMS: f64 = 0.01;
const MEDIA_UP: &str =
    "window.hotline.media && window.hotline.media.pc.connectionState === 'connected'";

/// Audio energy the operator's page has received from the caller so far.
const CALLER_ENERGY_JS: &str = "
    const h = window.hotline;
    if (!h.media || !h.call) return 0;
    const s = await h.media.stats();
    const roles = {};
    for (const p of h.call.participants) roles[p.id] = p.role;
    let e = 0;
    for (const i of s.inbound) if (roles[i.participant] === 'caller') e += i.totalAudioEnergy || 0;
    return e;";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_g711_phone_and_the_operator_console_hear_each_other() {
    let phone = talk(PhoneOptions::default()).await;
    assert!(
        phone.log().contains("Set audio encoder: PCMU"),
        "G.711 was negotiated:\n{}",
        phone.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opus_phone_and_the_operator_console_hear_each_other() {
    let phone = talk(PhoneOptions {
        codecs: "opus/48000/2",
        srtp: false,
    })
    .await;
    assert!(
        phone.log().contains("Set audio encoder: opus"),
        "Opus was negotiated:\n{}",
        phone.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_that_requires_srtp_and_the_operator_console_hear_each_other() {
    talk(PhoneOptions {
        codecs: "PCMA",
        srtp: true,
    })
    .await;
}

/// A phone set up with `options` calls in; the operator answers in Chromium; they hear each
/// other; the phone hangs up and the call ends. Returns the phone (for its log).
async fn talk(options: PhoneOptions) -> Phone {
    let mut s = settings_with_operator();
    let bridge = sip_settings(&mut s, &["127.0.0.1"]);
    let app = spawn_app(AppState::in_memory(s)).await;
    let mut live = app.state.calls.live_count();

    let operator_mic = speech_wav(
        "baresip-operator",
        "cmn",
        "你好，这里是市民热线，请问有什么可以帮您？",
    );
    let operator = Browser::operator_console(&app.url(""), &operator_mic, STEP).await;

    let caller_voice = speech_wav(
        "baresip-caller",
        "pt",
        "Olá, perdi a minha mala no aeroporto. Preciso de ajuda.",
    );
    let mut phone = Phone::start_with("caller", Mouth::Speech(&caller_voice), options).await;
    phone.dial(&format!("sip:12345001@{bridge}")).await;
    phone.wait_event("CALL_ESTABLISHED", STEP).await;

    // The phone call waits in the operator's queue, its number masked; the operator answers.
    operator
        .wait_for(
            "the phone call is queued",
            "document.querySelector('#queue tbody tr')",
            STEP,
        )
        .await;
    operator.click("#queue tbody tr button.primary").await;
    operator.wait_for("operator's audio", MEDIA_UP, STEP).await;
    let mark = phone.ear_mark();

    // The operator hears the phone caller.
    let deadline = Instant::now() + STEP;
    loop {
        let energy = operator
            .eval(CALLER_ENERGY_JS)
            .await
            .as_f64()
            .unwrap_or(0.0);
        if energy > 0.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the operator's page received no audio energy from the phone caller"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The phone hears the operator: its ear, from the answer on, holds speech.
    let deadline = Instant::now() + STEP;
    while phone.seconds_since(mark) < LISTEN_S {
        assert!(
            Instant::now() < deadline,
            "the phone's ear recording does not grow:\n{}",
            phone.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let heard = phone.heard_since(mark, None);
    assert!(
        heard.rms > SPEECH_RMS,
        "the phone should hear the operator's speech: {heard:?}"
    );

    // The phone hangs up: the call ends, and the operator's console is told.
    phone.hang_up().await;
    phone.wait_event("CALL_CLOSED", STEP).await;
    no_call_left(&mut live, STEP, "the phone hung up").await;
    operator
        .wait_for(
            "the operator's call ended",
            "!window.hotline.call && !document.getElementById('no-call').hidden",
            STEP,
        )
        .await;
    operator.close().await;
    phone
}
