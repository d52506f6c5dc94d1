//! A phone caller hears their case number. sipp calls the Portuguese number with its RTP on the
//! test's own phone socket; the operator (who sends no audio) answers and the call's case opens
//! in the record store (SQLite). The phone hears nothing until the operator asks for the case
//! number to be read out: then it hears, in Portuguese, "O número do seu caso é" and the number's
//! ten digits — as much speech as the shipped prompts for that very number hold — and nothing
//! after. A caller on the web page has the number on screen: asking to read it out there is
//! refused, as it is before the call has a case.
use crate::common;

use common::phone_rtp::sound_frames;
use common::sipp::{self, first_queued, queued_phone, sip_settings, QueuedPhone};
use common::ws::{answer, caller_in_call, operator_hangs_up, settings_with_operator, WsClient};
use hotline_bridge::app::build_state;
use hotline_bridge::domain::Language;
use hotline_bridge::prompts::{case_number, Prompts};
use hotline_bridge::protocol::{LanguageSource, LanguageView};
use serde_json::json;
use std::time::Duration;

/// Longest wait for any one step.
const STEP: Duration = Duration::from_secs(20);
/// Samples in a 20 ms frame at 8 kHz.
const FRAME: usize = 160;
/// The call's case number, once the operator's console is told it.
async fn case_number_of(console: &mut WsClient) -> String {
    tokio::time::timeout(STEP, async {
        loop {
            let v = console.wait_for("call_state").await;
            if let Some(n) = v["call"]["case_number"].as_str() {
                return n.to_owned();
            }
        }
    })
    .await
    .expect("the call's case opens")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_has_the_case_number_read_to_a_phone_caller_in_portuguese() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = settings_with_operator();
    s.records.database = format!("sqlite://{}", dir.path().join("hotline.db").display());
    s.calls.create_burst = 10;
    let bridge = sip_settings(&mut s, &["127.0.0.1"]);
    let state = build_state(s).await.expect("state");
    let QueuedPhone {
        app,
        op_token,
        mut console,
        phone_rtp,
        phone,
        call_id,
    } = queued_phone(state, bridge, "uac_audio_until_bye.xml", &[]).await;
    let call_id = call_id.to_string();
    answer(&mut console, &call_id).await;
    let number = case_number_of(&mut console).await;

    // Answered: the announcements have stopped and the operator is silent.
    let since = phone_rtp.heard();
    phone_rtp
        .wait("answered, settling", STEP, |h| {
            h.packets >= since.packets + 50
        })
        .await;
    let before = phone_rtp.heard();

    // What the phone must hear: the shipped Portuguese prompts for this number.
    let pt = Language::parse("pt").expect("pt");
    let audio = Prompts::load()
        .expect("prompts")
        .concat(&case_number(&number, pt));
    let frames = (audio.len() / FRAME) as u64;
    let speech = sound_frames(&audio);
    assert!(speech > 100, "the read-out is speech: {speech} frames");

    console.send(json!({"type": "read_case_number"})).await;
    phone_rtp
        .wait("the phone hears its case number read out", STEP, |h| {
            h.sound >= before.sound + speech * 8 / 10
        })
        .await;
    // The whole read-out and a second more: as much speech as the prompts hold, nothing else.
    phone_rtp
        .wait("the read-out ends", STEP * 2, |h| {
            h.packets >= before.packets + frames + 50
        })
        .await;
    let heard = phone_rtp.heard().sound - before.sound;
    assert!(
        heard >= speech * 8 / 10 && heard <= speech * 12 / 10 + 5,
        "heard {heard} frames of sound for the {speech} of \"O número do seu caso é {number}\""
    );

    assert_eq!(
        operator_hangs_up(&app.url(""), &op_token, &call_id).await,
        204
    );
    sipp::completed(phone, STEP, "the bridge's BYE").await;

    // A caller on the web page: the number is on their screen, not read out.
    let (call, token) = app.state.calls.create(LanguageView {
        code: Some(pt),
        source: LanguageSource::Chosen,
        confidence: 1.0,
    });
    let web_id = call.id().to_string();
    let _caller = caller_in_call(app.addr, &web_id, &token).await;
    first_queued(&mut console, STEP).await;
    answer(&mut console, &web_id).await;
    case_number_of(&mut console).await;
    console.send(json!({"type": "read_case_number"})).await;
    assert_eq!(console.error_code().await, "conflict", "not a phone");
}
