//! A supervisor in real headless Chromium listens in on a live call, whispers to the operator and
//! barges in, from /supervisor; the caller's page and the operator's console are real Chromium
//! too, each with its own fake microphone (espeak-ng speech). Every page's getStats says who it
//! hears: listening, the supervisor hears caller and operator and neither hears the supervisor;
//! whispering, only the operator does; barging in, the caller does too. The operator's console
//! (in Chinese) says, each time, that the supervisor is listening, whispering or talking.
use crate::common;

use common::browser::{speech_wav, Browser};
use common::spawn_app;
use common::supervisors::{with_supervisor, SUPERVISOR, SUPERVISOR_PASSWORD};
use common::ws::settings_with_operator;
use hotline_bridge::app::AppState;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(30);
const MEDIA_UP: &str =
    "window.hotline.media && window.hotline.media.pc.connectionState === 'connected'";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_listens_whispers_and_barges_in_from_the_supervisor_page() {
    let _heavy = common::one_heavy_at_a_time().await;
    let app = spawn_app(AppState::in_memory(with_supervisor(
        settings_with_operator(),
    )))
    .await;
    let caller_mic = speech_wav(
        "supervisor-caller",
        "pt",
        "Olá, perdi o meu passaporte no metrô hoje de manhã.",
    );
    let operator_mic = speech_wav(
        "supervisor-operator",
        "cmn",
        "你好，这里是市民热线，请问有什么可以帮您？",
    );
    let supervisor_mic = speech_wav("supervisor-supervisor", "cmn", "请先核对来电者的证件信息。");

    let caller = Browser::launch("pt-BR,pt", Some(&caller_mic)).await;
    caller.client.goto(&app.url("/call")).await.expect("goto");
    caller.click("#call").await;
    caller
        .wait_for("waiting", "window.hotline.state === 'waiting'", STEP)
        .await;
    let operator = Browser::operator_console(&app.url(""), &operator_mic, STEP).await;
    operator
        .wait_for(
            "the call is queued",
            "document.querySelector('#queue tbody tr')",
            STEP,
        )
        .await;
    operator.click("#queue tbody tr button.primary").await;
    operator.wait_for("operator's audio", MEDIA_UP, STEP).await;

    // The supervisor logs in (the page in Chinese), sees the call and listens.
    let sup = Browser::launch("zh-CN,zh", Some(&supervisor_mic)).await;
    sup.client
        .goto(&app.url("/supervisor"))
        .await
        .expect("goto");
    sup.type_into("#name", SUPERVISOR).await;
    sup.type_into("#password", SUPERVISOR_PASSWORD).await;
    sup.click("#login-form button[type=submit]").await;
    sup.wait_for(
        "the live call listed",
        "document.querySelector('#calls tbody tr button.listen')",
        STEP,
    )
    .await;
    sup.screenshot("supervisor-calls-zh").await;
    sup.click("#calls tbody tr button.listen").await;
    sup.wait_for("supervisor's audio", MEDIA_UP, STEP).await;
    operator
        .wait_for(
            "the operator sees the supervisor listening",
            "!document.getElementById('supervised').hidden \
             && document.getElementById('supervised').textContent.includes('正在监听')",
            STEP,
        )
        .await;
    sup.hears("supervisor", STEP, "listen", &["caller", "operator"], &[])
        .await;
    operator
        .hears("operator", STEP, "listen", &["caller"], &["supervisor"])
        .await;
    caller
        .hears("caller", STEP, "listen", &["operator"], &["supervisor"])
        .await;
    let hint = sup
        .eval("return document.getElementById('mode-hint').textContent;")
        .await;
    assert_eq!(hint, "您正在监听。通话中没有人能听到您。");
    sup.screenshot("supervisor-listening-zh").await;
    sup.axe("/supervisor listening to a call").await;
    operator
        .axe("/operator in a call, a supervisor listening")
        .await;
    caller.axe("/call in a call with the operator").await;

    // Whispering: the operator hears the supervisor; the caller does not.
    sup.click("#mode-whisper").await;
    operator
        .wait_for(
            "the operator sees the whisper",
            "document.getElementById('supervised').textContent.includes('正在对您耳语')",
            STEP,
        )
        .await;
    operator
        .hears("operator", STEP, "whisper", &["caller", "supervisor"], &[])
        .await;
    caller
        .hears("caller", STEP, "whisper", &["operator"], &["supervisor"])
        .await;
    operator.screenshot("operator-supervisor-whispers-zh").await;

    // Barging in: the caller hears the supervisor too.
    sup.click("#mode-barge").await;
    operator
        .wait_for(
            "the operator sees the barge-in",
            "document.getElementById('supervised').textContent.includes('正在通话中发言')",
            STEP,
        )
        .await;
    caller
        .hears("caller", STEP, "barge", &["operator", "supervisor"], &[])
        .await;
    let pressed = sup
        .eval("return document.getElementById('mode-barge').getAttribute('aria-pressed');")
        .await;
    assert_eq!(pressed, "true");

    // The supervisor leaves: the operator's notice goes, the call goes on.
    sup.click("#leave").await;
    operator
        .wait_for(
            "the supervisor left",
            "document.getElementById('supervised').hidden",
            STEP,
        )
        .await;
    operator
        .hears(
            "operator",
            STEP,
            "after the supervisor left",
            &["caller"],
            &[],
        )
        .await;
    sup.close().await;
    operator.close().await;
    caller.close().await;
}
