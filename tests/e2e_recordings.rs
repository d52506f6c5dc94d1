//! Recordings in real headless Chromium, on a node that records every call. The caller's page
//! (Brazilian Portuguese) says the call is recorded as soon as the call starts; the caller's
//! voice (espeak-ng speech as the fake microphone) is recorded from the page's real WebRTC leg;
//! after the call, a supervisor finds the call's recording on /supervisor and plays it (the
//! <audio> element's currentTime advances), while the operator's console, with its own session,
//! is refused the same audio (403).
use crate::common;

use common::browser::{speech_wav, Browser};
use common::spawn_app;
use common::supervisors::{with_supervisor, SUPERVISOR, SUPERVISOR_PASSWORD};
use common::ws::settings_with_operator;
use hotline_bridge::app::build_state;
use hotline_bridge::domain::{CallId, Recording};
use hotline_bridge::store::RecordStore;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(30);
const MEDIA_UP: &str =
    "window.hotline.media && window.hotline.media.pc.connectionState === 'connected'";

/// The call's ended recordings, once there is at least one (checked every 100 ms).
async fn ended_recordings(store: &dyn RecordStore, call: &CallId) -> Vec<Recording> {
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        let found = store.recordings_of_call(call).await.expect("list");
        if !found.is_empty() && found.iter().all(|r| r.ended_at.is_some()) {
            return found;
        }
        assert!(tokio::time::Instant::now() < deadline, "{found:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_plays_a_recorded_call_an_operator_cannot_and_the_caller_was_told() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = with_supervisor(settings_with_operator());
    settings.records.database = format!("sqlite://{}", dir.path().join("hotline.db").display());
    settings.records.recording = true;
    settings.records.recording_dir = dir.path().join("recordings").display().to_string();
    let app = spawn_app(build_state(settings).await.expect("state")).await;
    let store = app.state.records.clone().expect("record").store().clone();

    let caller_mic = speech_wav(
        "recorded-caller",
        "pt",
        "Olá, perdi o meu passaporte no metrô hoje de manhã.",
    );
    let caller = Browser::launch("pt-BR,pt", Some(&caller_mic)).await;
    caller.client.goto(&app.url("/call")).await.expect("goto");
    caller.click("#call").await;
    caller
        .wait_for(
            "the consent notice in Portuguese",
            "!document.getElementById('recorded').hidden \
             && document.getElementById('recorded').textContent === 'Esta chamada está sendo gravada.'",
            STEP,
        )
        .await;
    caller.wait_for("caller's audio", MEDIA_UP, STEP).await;
    caller.screenshot("recorded-call-notice-pt").await;
    // Two seconds of the caller's voice reach the node before the caller hangs up.
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        let sent = caller
            .eval(
                "const stats = await window.hotline.media.pc.getStats();\n\
                 let n = 0;\n\
                 stats.forEach((r) => { if (r.type === 'outbound-rtp') n += r.packetsSent; });\n\
                 return n;",
            )
            .await;
        if sent.as_u64().unwrap_or(0) >= 100 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the caller sends: {sent}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let call_id = caller.eval("return window.hotline.call.call_id;").await;
    let call_id = call_id.as_str().expect("call id").to_owned();
    caller.click("#hang-up").await;
    let recs = ended_recordings(store.as_ref(), &CallId::parse(&call_id).expect("id")).await;
    assert_eq!(recs.len(), 1, "the caller's leg: {recs:?}");

    let sup = Browser::launch("zh-CN,zh", None).await;
    sup.client
        .goto(&app.url("/supervisor"))
        .await
        .expect("goto");
    sup.type_into("#name", SUPERVISOR).await;
    sup.type_into("#password", SUPERVISOR_PASSWORD).await;
    sup.click("#login-form button[type=submit]").await;
    sup.wait_for(
        "logged in",
        "!document.getElementById('console').hidden",
        STEP,
    )
    .await;
    sup.type_into("#rec-call", &call_id).await;
    sup.click("#rec-form button[type=submit]").await;
    sup.wait_for(
        "the recording listed",
        "document.querySelector('#recordings li button.play')",
        STEP,
    )
    .await;
    sup.click("#recordings li button.play").await;
    sup.wait_for(
        "the recording plays",
        "document.getElementById('rec-player').currentTime > 0.5",
        STEP,
    )
    .await;
    sup.screenshot("supervisor-recording-zh").await;

    let operator_mic = speech_wav("recorded-operator", "cmn", "你好，这里是市民热线。");
    let operator = Browser::operator_console(&app.url(""), &operator_mic, STEP).await;
    let status = operator
        .eval(&format!(
            "const token = sessionStorage.getItem('hotline.operator.token');\n\
             const r = await fetch('/api/supervisor/recordings/{}/audio', \
               {{ headers: {{ authorization: `Bearer ${{token}}` }} }});\n\
             const body = await r.json();\n\
             return [r.status, body.error.code];",
            recs[0].id
        ))
        .await;
    assert_eq!(status[0], 403, "{status}");
    assert_eq!(status[1], "forbidden", "{status}");
}
