//! The whole story once more, with phones: a Portuguese caller dials the hotline's pt number from
//! a real softphone (baresip), the operator answers in a real operator console (headless
//! Chromium), adds an interpreter, and the interpreter's phone (a second baresip, reached through
//! the outbound trunk at her registered number) rings, says the offer, and she presses 1. Then
//! the three talk; the operator holds the call and resumes it, consults the interpreter and ends
//! the consultation, mutes the caller and unmutes them; the interpreter hangs up, the console
//! shows her gone and a replacement sought, and the next available interpreter (a console bot)
//! is rung.
//!
//! Audio is checked end to end at every step. The interpreter's phone says a steady tone, so
//! the caller's ear (baresip's recording of what it heard) tells her apart from the operator's
//! speech: the tone's share of what the caller heard (Goertzel) is the interpreter, the rest the
//! operator. The operator's page says whom it hears by getStats (packets and audio energy per
//! participant). On hold and in consultation the caller hears neither, only the comfort tone,
//! and is not heard, while operator and interpreter still hear each other.
use crate::common;

use common::baresip::{Heard, Mouth, Phone};
use common::browser::{speech_wav, Browser};
use common::dispatch::{add_interpreter, app_on, bot};
use common::fixtures::interpreter;
use common::redis::TestRedis;
use common::sipp::{dial_through_pbx, no_call_left, sip_settings};
use common::ws::settings_with_operator;
use hotline_bridge::domain::{InterpreterId, Level, RingPreference};
use hotline_bridge::drivers::clock::now_ms;
use hotline_bridge::pool::Availability;
use hotline_bridge::sfu::mix::COMFORT_HZ;
use hotline_bridge::testkit::interpreter_bot::Answer;
use std::time::{Duration, Instant};

/// Longest wait for one step (a loaded two-core machine).
const STEP: Duration = Duration::from_secs(30);
/// The interpreter rung on her phone, and her registered number (the phone's SIP user).
const INTERPRETER: &str = "bfsu-pt-07";
const NUMBER: &str = "+5511912345678";
/// The interpreter who is rung as her replacement (a console).
const REPLACEMENT: &str = "bfsu-pt-02";
/// The pitch the interpreter's phone says: far from the comfort tone (440 Hz) and from most of
/// the speech's energy.
const INTERPRETER_HZ: f64 = 1_500.0;
/// Seconds of a phone's ear judged at once.
const LISTEN_S: f64 = 2.0;
/// Loudness (RMS of full scale) above which a phone heard something, not silence.
const SPEECH_RMS: f64 = 0.01;
/// Seconds of the caller's ear judged at once on hold: a whole period of the comfort tone (a
/// beep every four seconds), so speech that leaked would be caught in it.
const HELD_LISTEN_S: f64 = 4.5;
/// Share of the caller's ear on hold at the comfort tone's pitch: it is all they hear.
const COMFORT_SHARE: f64 = 0.7;
/// Most of the caller's ear at the interpreter's pitch when she is not heard.
const INTERPRETER_ABSENT: f64 = 0.01;
/// Below this a phone heard silence (the comfort tone's beeps alone are about 0.01).
const QUIET_RMS: f64 = 0.002;
/// Share of the caller's ear at the interpreter's pitch that proves she is heard (speech alone
/// has well under a tenth there).
const TONE_SHARE: f64 = 0.3;
/// Loudness of what the caller hears besides the interpreter's tone that proves the operator is
/// heard too: her tone alone leaves about 0.02 (G.711 quantization, twice), her tone with the
/// operator's speech 0.07 and more.
const OPERATOR_RMS: f64 = 0.04;
const MEDIA_UP: &str =
    "window.hotline.media && window.hotline.media.pc.connectionState === 'connected'";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_caller_an_operator_console_and_a_phone_interpreter_go_through_the_story() {
    let _heavy = common::one_heavy_at_a_time().await;
    // The interpreter's phone listens first: the outbound trunk dials it.
    let mut their_phone = Phone::start(NUMBER, Mouth::Tone(INTERPRETER_HZ)).await;
    let redis = TestRedis::start();
    let mut s = settings_with_operator();
    s.dispatch.predispatch = false;
    // Long enough for the offer prompt and a key on a slow machine.
    s.dispatch.ring_timeout_s = 60;
    // The interpreter who hung up is not on duty again before the story ends.
    s.dispatch.wrap_up_s = 300;
    let bridge = sip_settings(&mut s, &["127.0.0.1"]);
    dial_through_pbx(&mut s, their_phone.sip);
    let app = app_on(&redis, s).await;
    let mut live = app.state.calls.live_count();

    // A university registered her with her number, to be rung on the phone; she is on duty.
    let pool = &app.state.pool;
    let profile = interpreter(INTERPRETER)
        .name("Ana Souza")
        .speaks("pt", Level::Native)
        .always_on_shift()
        .phone(NUMBER, RingPreference::Phone)
        .build();
    pool.upsert(&profile).await.expect("upsert");
    let iid = InterpreterId::parse(INTERPRETER).expect("id");
    // What phone duty does on its first tick, done here so the story does not wait for it.
    pool.heartbeat(&iid, now_ms()).await.expect("heartbeat");
    pool.set_availability(&iid, Availability::Available, now_ms())
        .await
        .expect("available");

    // The operator logs in.
    let operator_mic = speech_wav(
        "phone-story-operator",
        "cmn",
        "你好，这里是市民热线，请问有什么可以帮您？",
    );
    let operator = Browser::operator_console(&app.url(""), &operator_mic, STEP).await;

    // The caller dials the Portuguese number from a phone; the call queues, the operator answers.
    let caller_voice = speech_wav(
        "phone-story-caller",
        "pt",
        "Olá, perdi a minha mala no aeroporto. Preciso de ajuda.",
    );
    let mut caller = Phone::start("caller", Mouth::Speech(&caller_voice)).await;
    caller.dial(&format!("sip:12345001@{bridge}")).await;
    caller.wait_event("CALL_ESTABLISHED", STEP).await;
    operator
        .wait_for(
            "the phone call is queued",
            "document.querySelector('#queue tbody tr')",
            STEP,
        )
        .await;
    operator.click("#queue tbody tr button.primary").await;
    operator.wait_for("operator's audio", MEDIA_UP, STEP).await;
    operator
        .hears("operator", STEP, "two-party", &["caller"], &[])
        .await;
    caller_hears(&caller, "two-party: the operator, no interpreter", |h| {
        h.rms > SPEECH_RMS && h.tone_share < TONE_SHARE / 3.0
    })
    .await;

    // Add interpreter: her phone rings and answers; it says the offer; she presses 1.
    operator.click("#dispatch-add").await;
    their_phone.wait_event("CALL_ESTABLISHED", STEP).await;
    operator
        .wait_for(
            "the console shows the ringing",
            "document.querySelector('#dispatch-lines li[data-event=ringing]') \
             && document.querySelector('#dispatch-lines li[data-event=ringing]').textContent.includes('Ana Souza')",
            STEP,
        )
        .await;
    ear_until(
        &their_phone,
        LISTEN_S,
        "the interpreter hears the offer",
        |p, mark| p.heard_since(mark, None),
        |h| h.rms > SPEECH_RMS,
    )
    .await;
    their_phone.press('1').await;
    operator
        .wait_for(
            "the interpreter joined",
            "document.querySelector('#dispatch-lines li[data-event=accepted]') \
             && window.hotline.call.participants.some(p => p.role === 'interpreter')",
            STEP,
        )
        .await;

    // Three-way: the caller hears the interpreter (her tone) and the operator (the rest); the
    // operator hears both; the interpreter hears the call.
    let three_way = |h: &Heard| h.tone_share > TONE_SHARE && h.other_rms() > OPERATOR_RMS;
    caller_hears(&caller, "three-way", three_way).await;
    operator
        .hears(
            "operator",
            STEP,
            "three-way",
            &["caller", "interpreter"],
            &[],
        )
        .await;
    ear_until(
        &their_phone,
        LISTEN_S,
        "three-way: the interpreter hears the call",
        |p, mark| p.heard_since(mark, None),
        |h| h.rms > SPEECH_RMS,
    )
    .await;

    // The operator mutes herself: the caller hears the interpreter alone, and then both again.
    operator.click("#mute-me").await;
    operator
        .wait_for(
            "the operator muted",
            "window.hotline.call.participants.some(p => p.role === 'operator' && p.muted)",
            STEP,
        )
        .await;
    caller_hears(&caller, "operator muted: the interpreter alone", |h| {
        h.tone_share > TONE_SHARE && h.other_rms() < OPERATOR_RMS
    })
    .await;
    operator.click("#mute-me").await;
    operator
        .wait_for(
            "the operator unmuted",
            "window.hotline.call.participants.some(p => p.role === 'operator' && !p.muted)",
            STEP,
        )
        .await;
    caller_hears(&caller, "operator unmuted", three_way).await;

    // Hold, then consult: the caller hears nobody of the call, only the comfort tone, and is not
    // heard; operator and interpreter still talk. After each, the caller is back in the
    // conversation, the tone gone.
    for (button, field) in [("#hold", "hold"), ("#consult", "consult")] {
        operator.click(button).await;
        operator
            .wait_for(
                field,
                &format!("window.hotline.call && window.hotline.call.{field}"),
                STEP,
            )
            .await;
        caller_held(&caller, &format!("{field}: the comfort tone, nobody else")).await;
        operator
            .hears("operator", STEP, field, &["interpreter"], &["caller"])
            .await;
        operator.click(button).await;
        operator
            .wait_for(
                &format!("{field} ended"),
                &format!("window.hotline.call && !window.hotline.call.{field}"),
                STEP,
            )
            .await;
        caller_hears(&caller, &format!("after {field}"), three_way).await;
        operator
            .hears(
                "operator",
                STEP,
                &format!("after {field}"),
                &["caller", "interpreter"],
                &[],
            )
            .await;
    }

    // The operator mutes the phone caller: nobody hears them, they still hear both; then back.
    let caller_muted = |on: bool| {
        format!(
            "window.hotline.call.participants.some(p => p.role === 'caller' && p.muted === {on})"
        )
    };
    for (on, step) in [(true, "caller muted"), (false, "caller unmuted")] {
        operator
            .click("#participants li[data-role=caller] button")
            .await;
        operator.wait_for(step, &caller_muted(on), STEP).await;
        let caller_cut: &[&str] = if on { &["caller"] } else { &[] };
        let heard: &[&str] = if on {
            &["interpreter"]
        } else {
            &["caller", "interpreter"]
        };
        operator
            .hears("operator", STEP, step, heard, caller_cut)
            .await;
        caller_hears(&caller, step, three_way).await;
    }

    // Another interpreter comes on duty in her console; then the phone interpreter hangs up.
    // The console shows her gone and a replacement sought, and the other one is rung.
    let token = add_interpreter(&app, REPLACEMENT, &["pt"], Level::Native).await;
    let mut replacement = bot(&app, &token, Answer::Ignore, 2).await;
    their_phone.hang_up().await;
    their_phone.wait_event("CALL_CLOSED", STEP).await;
    operator
        .wait_for(
            "the interpreter left and a replacement is sought",
            "document.querySelector('#dispatch-lines li[data-event=replacement_requested]') \
             && !window.hotline.call.participants.some(p => p.role === 'interpreter')",
            STEP,
        )
        .await;
    let ring = replacement
        .wait_kind("ring", STEP)
        .await
        .expect("the replacement interpreter is rung");
    assert_eq!(ring.msg["language"], "pt", "{}", ring.msg);
    operator
        .wait_for(
            "the console shows the replacement ringing",
            "document.querySelector('#dispatch-lines li[data-event=ringing]') \
             && document.querySelector('#dispatch-lines li[data-event=ringing]').textContent.includes('Bot bfsu-pt-02')",
            STEP,
        )
        .await;
    caller_hears(&caller, "after the interpreter left", |h| {
        h.rms > SPEECH_RMS && h.tone_share < TONE_SHARE / 3.0
    })
    .await;

    // The operator mutes herself: the caller hears silence, no hold tone left over.
    operator.click("#mute-me").await;
    operator
        .wait_for(
            "the operator muted, alone with the caller",
            "window.hotline.call.participants.some(p => p.role === 'operator' && p.muted)",
            STEP,
        )
        .await;
    let at_comfort = |p: &Phone, mark| p.heard_since(mark, Some(COMFORT_HZ.into()));
    ear_until(
        &caller,
        HELD_LISTEN_S,
        "operator muted: silence, no comfort tone",
        at_comfort,
        |h| h.rms < QUIET_RMS,
    )
    .await;

    // The caller hangs up: the call ends everywhere.
    caller.hang_up().await;
    caller.wait_event("CALL_CLOSED", STEP).await;
    no_call_left(&mut live, STEP, "the caller hung up").await;
    operator
        .wait_for(
            "the operator's call ended",
            "!window.hotline.call && !document.getElementById('no-call').hidden",
            STEP,
        )
        .await;
    operator.close().await;
}

/// Waits until what the caller's phone heard in one stretch of `LISTEN_S` seconds satisfies
/// `ok`, judged with the interpreter's pitch; fails naming `what`.
async fn caller_hears(caller: &Phone, what: &str, ok: impl Fn(&Heard) -> bool) -> Heard {
    let at_interpreter = |p: &Phone, mark| p.heard_since(mark, Some(INTERPRETER_HZ));
    ear_until(caller, LISTEN_S, what, at_interpreter, ok).await
}

/// Waits until the caller's phone heard, in one stretch of `HELD_LISTEN_S` seconds, the comfort
/// tone and nobody of the call: the tone is (nearly) all it heard, and the interpreter's pitch
/// none of it.
async fn caller_held(caller: &Phone, what: &str) {
    let both = |p: &Phone, mark| {
        (
            p.heard_since(mark, Some(COMFORT_HZ.into())),
            p.heard_since(mark, Some(INTERPRETER_HZ)),
        )
    };
    let ok = |(comfort, interpreter): &(Heard, Heard)| {
        comfort.tone_share > COMFORT_SHARE && interpreter.tone_share < INTERPRETER_ABSENT
    };
    ear_until(caller, HELD_LISTEN_S, what, both, ok).await;
}

/// Listens to `phone` stretch by stretch (`seconds` each; its ear is a file that grows, so this
/// is polled), measuring each with `measure`, until one satisfies `ok`, within `STEP`.
async fn ear_until<T: std::fmt::Debug>(
    phone: &Phone,
    seconds: f64,
    what: &str,
    measure: impl Fn(&Phone, u64) -> T,
    ok: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + STEP;
    loop {
        let mark = phone.ear_mark();
        while phone.seconds_since(mark) < seconds {
            assert!(
                Instant::now() < deadline,
                "{what}: the phone's ear recording does not grow:\n{}",
                phone.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let heard = measure(phone, mark);
        if ok(&heard) {
            eprintln!("{what}: {heard:?}");
            return heard;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not heard as expected within {STEP:?}, last {heard:?}"
        );
    }
}
