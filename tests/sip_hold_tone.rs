//! A phone caller on hold hears the comfort tone, not dead silence: sipp calls in with its RTP on
//! the test's own phone socket, an operator (who sends no audio) answers, and the phone hears
//! nothing more; the operator holds the call and the phone hears the tone's beeps; the operator
//! resumes and the phone is quiet again. A call held when its operator steps out is still held
//! when it is answered again, and its caller hears the tone again after the announcements.
use crate::common;

use common::phone_rtp::{Heard, PhoneRtp};
use common::sipp::{self, first_queued, queued_phone, sip_settings, QueuedPhone};
use common::ws::settings_with_operator;
use common::ws::{answer, operator_hangs_up, WsClient};
use hotline_bridge::app::AppState;
use serde_json::json;
use std::time::Duration;

/// Longest wait for any one step.
const STEP: Duration = Duration::from_secs(20);
/// Packets (20 ms each) that let a change take effect before the phone is judged.
const SETTLE: u64 = 50;
/// Packets in which a playing comfort tone beeps at least once (one beep every 4 s).
const BEEP_PERIOD: u64 = 4_500 / 20;
/// Sound packets that prove a beep (one beep is 20 packets).
const BEEP: u64 = 10;

/// What the phone heard once `SETTLE` more packets than `since` arrived.
async fn settled(phone: &PhoneRtp, what: &str) -> Heard {
    let since = phone.heard();
    phone
        .wait(what, STEP, |h| h.packets >= since.packets + SETTLE)
        .await;
    phone.heard()
}

/// The phone hears a beep of the comfort tone, after what was played before has settled.
async fn beeps(phone: &PhoneRtp, what: &str) {
    let from = settled(phone, what).await;
    phone
        .wait(what, STEP, |h| h.sound >= from.sound + BEEP)
        .await;
}

/// The phone hears nothing for a whole period of the comfort tone, once a change settled.
async fn quiet(phone: &PhoneRtp, what: &str) {
    let from = settled(phone, what).await;
    phone
        .wait(what, STEP, |h| h.packets >= from.packets + BEEP_PERIOD)
        .await;
    let after = phone.heard();
    assert_eq!(after.sound, from.sound, "{what}: {after:?}");
}

async fn hold(console: &mut WsClient, on: bool) {
    console.send(json!({"type": "hold", "on": on})).await;
    tokio::time::timeout(STEP, async {
        loop {
            let v = console.wait_for("call_state").await;
            if v["call"]["hold"] == on {
                return;
            }
        }
    })
    .await
    .expect("the console sees the hold");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_caller_on_hold_hears_the_comfort_tone_until_the_call_resumes() {
    let mut s = settings_with_operator();
    let bridge = sip_settings(&mut s, &["127.0.0.1"]);
    let QueuedPhone {
        app,
        op_token,
        mut console,
        phone_rtp,
        phone,
        call_id,
    } = queued_phone(
        AppState::in_memory(s),
        bridge,
        "uac_audio_until_bye.xml",
        &[],
    )
    .await;
    let call_id = call_id.to_string();

    answer(&mut console, &call_id).await;
    quiet(&phone_rtp, "answered: the operator is silent").await;
    hold(&mut console, true).await;
    beeps(&phone_rtp, "held: the comfort tone").await;
    hold(&mut console, false).await;
    quiet(&phone_rtp, "resumed: no tone").await;

    // Held, the operator steps out; the call is requeued (announcements) and answered again,
    // still held: the tone comes back after the announcements stop.
    hold(&mut console, true).await;
    console.send(json!({"type": "leave_call"})).await;
    first_queued(&mut console, STEP).await;
    answer(&mut console, &call_id).await;
    beeps(&phone_rtp, "answered again, still held: the comfort tone").await;
    hold(&mut console, false).await;
    quiet(&phone_rtp, "resumed again: no tone").await;

    assert_eq!(
        operator_hangs_up(&app.url(""), &op_token, &call_id).await,
        204
    );
    sipp::completed(phone, STEP, "the bridge's BYE").await;
}
