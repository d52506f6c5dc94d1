//! A phone caller is never asked the long-wait question, which is asked on the page: asked, a
//! phone caller could not answer it, and the unanswered question would end the call of someone
//! still holding the line. With the question due after 1 s and its answer after 1 s more, a web
//! caller's call is ended for the unanswered question while a phone call queued before it waits
//! on, hearing its place, and is then answered.
use crate::common;

use common::phone_rtp::PhoneRtp;
use common::sipp::{self, first_queued, sip_settings};
use common::spawn_app;
use common::ws::{
    answer, caller_in_call, operator_hangs_up, operator_login, operator_session,
    settings_with_operator,
};
use hotline_bridge::api::messages::CallState;
use hotline_bridge::app::build_state;
use hotline_bridge::domain::{CallId, Language};
use hotline_bridge::protocol::{LanguageSource, LanguageView};
use std::time::Duration;

/// Longest wait for any one step.
const STEP: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_caller_is_never_asked_to_keep_waiting_and_waits_on() {
    let mut s = settings_with_operator();
    s.calls.max_queue_wait_s = 1;
    s.calls.queue_wait_reply_s = 1;
    s.calls.create_burst = 10;
    let bridge = sip_settings(&mut s, &["127.0.0.1"]);
    let app = spawn_app(build_state(s).await.expect("state")).await;
    let op_token = operator_login(&app.url("")).await;
    let mut console = operator_session(app.addr, &op_token).await;

    let phone_rtp = PhoneRtp::start().await;
    let phone = sipp::phone_call(
        bridge,
        "12345001",
        "uac_audio_until_bye.xml",
        phone_rtp.addr,
        &[],
    );
    let queued = first_queued(&mut console, STEP).await;
    let phone_call = queued["call_id"].as_str().expect("call id").to_owned();

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

    let id = CallId::parse(&phone_call).expect("id");
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
