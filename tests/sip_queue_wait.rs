//! A phone caller is never asked the long-wait question, which is asked on the page: asked, a
//! phone caller could not answer it, and the unanswered question would end the call of someone
//! still holding the line. With the question due after 1 s and its answer after 1 s more, a web
//! caller's call is ended for the unanswered question while a phone call queued before it waits
//! on, hearing its place, and is then answered.
//!
//! On a hotline that keeps a record, the phone caller is instead offered, after the same long
//! wait, to press star to be called back at the number they call from: they hear the offer in
//! their language, press star, hear "we will call you back" and the bridge hangs up; the
//! request is in the record with their number in full, and the call ended by callback. The
//! number is kept as star is pressed, before the goodbye: a caller who hangs up while hearing it
//! has left their number all the same, and no operator can answer the call meanwhile.
use crate::common;

use common::fixtures::final_state;
use common::phone_rtp::sound_frames;
use common::sipp::{self, queued_phone, sip_settings, QueuedPhone};
use common::ws::{answer, caller_in_call, operator_hangs_up, settings_with_operator};
use hotline_bridge::api::messages::CallState;
use hotline_bridge::app::build_state;
use hotline_bridge::domain::{CallId, CallbackRequest, CallbackStatus, EndedBy, Language};
use hotline_bridge::prompts::{Prompt, Prompts};
use hotline_bridge::protocol::{LanguageSource, LanguageView};
use std::time::Duration;

/// Longest wait for any one step.
const STEP: Duration = Duration::from_secs(20);
/// The phone calls from +8613912345678.
const FROM_A_NUMBER: &str = "uac_audio_until_bye.xml";

/// A hotline on `s` (its record, its waits) with a phone trunk and a signed-in operator's
/// console, and a phone (sipp with `scenario` and `extra` arguments) whose call is queued.
async fn phone_queued(
    mut s: hotline_bridge::config::Settings,
    scenario: &str,
    extra: &[&str],
) -> QueuedPhone {
    s.calls.create_burst = 10;
    let bridge = sip_settings(&mut s, &["127.0.0.1"]);
    queued_phone(
        build_state(s).await.expect("state"),
        bridge,
        scenario,
        extra,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_caller_is_never_asked_to_keep_waiting_and_waits_on() {
    let mut s = settings_with_operator();
    s.calls.max_queue_wait_s = 1;
    s.calls.queue_wait_reply_s = 1;
    let QueuedPhone {
        app,
        op_token,
        mut console,
        phone_rtp,
        phone,
        call_id: id,
    } = phone_queued(s, FROM_A_NUMBER, &[]).await;
    let phone_call = id.to_string();

    // A web caller queued after it is asked, does not answer, and is let go: by then the
    // phone call has waited longer than the question and its answer take.
    let pt = Language::parse("pt").expect("pt");
    let (call, token) = app.state.calls.create(LanguageView {
        code: Some(pt),
        source: LanguageSource::Chosen,
        confidence: 1.0,
    });
    let mut web = caller_in_call(app.addr, call.id().as_str(), &token).await;
    web.wait_for("long_wait").await;
    let left = web.wait_for("left").await;
    assert_eq!(left["reason"], "no_reply", "{left}");

    let view = app
        .state
        .calls
        .get(&id)
        .expect("the phone call is still live")
        .view()
        .await
        .expect("view");
    assert_eq!(view.state, CallState::Queued, "{view:?}");
    assert!(!phone.is_finished(), "the phone still holds the line");
    // It still hears its place in the queue, and the operator can take it.
    let before = phone_rtp.heard();
    phone_rtp
        .wait("the waiting phone hears the bridge", STEP, |h| {
            h.packets >= before.packets + 25
        })
        .await;
    answer(&mut console, &phone_call).await;
    assert_eq!(
        operator_hangs_up(&app.url(""), &op_token, &phone_call).await,
        204
    );
    sipp::completed(phone, STEP, "the bridge's BYE").await;
}

/// Frames of sound in the shipped Portuguese prompts `parts`.
fn speech(prompts: &Prompts, parts: &[Prompt]) -> u64 {
    let pt = Language::parse("pt").expect("pt");
    let parts: Vec<(Prompt, Language)> = parts.iter().map(|p| (*p, pt)).collect();
    sound_frames(&prompts.concat(&parts))
}

/// The record's open call-back requests.
async fn open_requests(app: &common::TestApp) -> Vec<CallbackRequest> {
    let records = app.state.records.as_ref().expect("a record");
    records
        .store()
        .callbacks(Some(CallbackStatus::Open), 10)
        .await
        .expect("call-backs")
}

/// The record's one open call-back request, for `call_id`, at `number` in full.
async fn the_open_request(
    app: &common::TestApp,
    call_id: &CallId,
    number: &str,
) -> CallbackRequest {
    let mut requests = open_requests(app).await;
    assert_eq!(requests.len(), 1, "{requests:?}");
    let request = requests.remove(0);
    assert_eq!(&request.call_id, call_id);
    assert_eq!(request.number.as_str(), number);
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_caller_offered_a_call_back_presses_star_and_their_number_is_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = settings_with_operator();
    s.records.database = format!("sqlite://{}", dir.path().join("hotline.db").display());
    // Longer than "connecting" and the place in the queue take to say, so the offer follows
    // them whole.
    s.calls.max_queue_wait_s = 9;
    let q = phone_queued(s, FROM_A_NUMBER, &[]).await;
    let (app, phone_rtp, call_id) = (&q.app, &q.phone_rtp, q.call_id.clone());
    let prompts = Prompts::load().expect("prompts");
    let greeting = speech(&prompts, &[Prompt::Connecting, Prompt::QueuePosition(1)]);
    let offer = speech(&prompts, &[Prompt::CallbackOffer]);
    let taken = speech(&prompts, &[Prompt::CallbackTaken]);
    // (Star before the offer does nothing: the greeter's unit tests hold that.)
    phone_rtp
        .wait("the phone hears the call-back offered", STEP, |h| {
            h.sound >= (greeting + offer) * 8 / 10
        })
        .await;
    assert_eq!(
        app.state.calls.get(&call_id).map(|_| "live"),
        Some("live"),
        "the call waits until star"
    );
    let before = phone_rtp.heard().sound;
    phone_rtp.press('*');
    sipp::completed(q.phone, STEP, "the bridge's BYE after the goodbye").await;
    let heard = phone_rtp.heard().sound - before;
    assert!(
        heard >= taken * 8 / 10,
        "the phone heard {heard} frames of sound after star, \"we will call you back\" has {taken}"
    );

    let request = the_open_request(app, &call_id, "+8613912345678").await;
    assert_eq!(request.language, Some(Language::parse("pt").expect("pt")));
    // The call is over: leaving the number ended it.
    assert!(app.state.calls.get(&call_id).is_none(), "the call ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_caller_who_hangs_up_during_the_goodbye_has_left_their_number() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = settings_with_operator();
    s.records.database = format!("sqlite://{}", dir.path().join("hotline.db").display());
    s.calls.max_queue_wait_s = 9;
    // The phone's silence ends its call after 1 s: well inside the goodbye.
    s.sip.rtp_timeout_s = 1;
    let mut q = phone_queued(s, FROM_A_NUMBER, &[]).await;
    let (app, phone_rtp, call_id) = (&q.app, &q.phone_rtp, q.call_id.clone());
    let prompts = Prompts::load().expect("prompts");
    let greeting = speech(&prompts, &[Prompt::Connecting, Prompt::QueuePosition(1)]);
    let offer = speech(&prompts, &[Prompt::CallbackOffer]);
    let taken = speech(&prompts, &[Prompt::CallbackTaken]);
    assert!(
        taken * 20 >= 2_500,
        "the goodbye ({taken} frames) outlasts the RTP timeout with room to spare"
    );
    phone_rtp
        .wait("the phone hears the call-back offered", STEP, |h| {
            h.sound >= (greeting + offer) * 8 / 10
        })
        .await;
    let mut updates = app
        .state
        .calls
        .get(&call_id)
        .expect("the call waits until star")
        .subscribe();
    let before = phone_rtp.heard().sound;
    phone_rtp.press('*');
    // The goodbye has begun, so the number is kept: the phone's media dies now.
    phone_rtp
        .wait("the goodbye begins", STEP, |h| h.sound >= before + 10)
        .await;
    // No operator can take the call now.
    q.console
        .send(serde_json::json!({"type": "answer_call", "call_id": call_id.as_str()}))
        .await;
    let refused = q.console.wait_for("error").await;
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains("called back")),
        "{refused}"
    );
    phone_rtp.fall_silent();
    let ended = final_state(&mut updates, STEP).await;
    assert_eq!(ended.ended_by, Some(EndedBy::Callback), "{ended:?}");
    let heard = phone_rtp.heard().sound - before;
    assert!(
        heard < taken,
        "the phone fell silent before the goodbye ended ({heard} of {taken} frames)"
    );
    sipp::completed(q.phone, STEP, "the bridge's BYE").await;

    the_open_request(app, &call_id, "+8613912345678").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_caller_without_a_number_keys_one_in_and_is_called_back_at_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = settings_with_operator();
    s.records.database = format!("sqlite://{}", dir.path().join("hotline.db").display());
    s.calls.max_queue_wait_s = 9;
    // Keying a number in and hearing it read back takes longer than sipp's usual run.
    let q = phone_queued(s, "uac_anonymous_until_bye.xml", &["-timeout", "60s"]).await;
    let (app, phone_rtp, call_id) = (&q.app, &q.phone_rtp, q.call_id.clone());
    let prompts = Prompts::load().expect("prompts");
    let greeting = speech(&prompts, &[Prompt::Connecting, Prompt::QueuePosition(1)]);
    let offer = speech(&prompts, &[Prompt::CallbackKeyedOffer]);
    phone_rtp
        .wait("the phone hears how to leave a number", STEP, |h| {
            h.sound >= (greeting + offer) * 8 / 10
        })
        .await;
    let number = "351912345678";
    let mut read_back = vec![Prompt::CallbackRead];
    read_back.extend(number.bytes().map(|d| Prompt::Digit(d - b'0')));
    read_back.push(Prompt::CallbackConfirm);
    let read_back = speech(&prompts, &read_back);

    // Star asks for the number; the caller types it over the prompt, then hash.
    let before = phone_rtp.heard().sound;
    for key in ['*'].into_iter().chain(number.chars()).chain(['#']) {
        phone_rtp.press(key);
    }
    phone_rtp
        .wait("the phone hears its number read back", STEP, |h| {
            h.sound >= before + read_back * 8 / 10
        })
        .await;
    let open = open_requests(app).await;
    assert!(
        open.is_empty(),
        "nothing is kept before star confirms: {open:?}"
    );
    assert!(app.state.calls.get(&call_id).is_some(), "the call waits on");
    phone_rtp.press('*');
    sipp::completed(q.phone, STEP, "the bridge's BYE after the goodbye").await;
    let request = the_open_request(app, &call_id, number).await;
    assert_eq!(request.language, Some(Language::parse("pt").expect("pt")));
}
