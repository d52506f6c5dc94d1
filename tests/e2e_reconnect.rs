//! A caller on a phone changes networks mid-call: the signalling link drops and the WebRTC leg
//! dies with it. In real headless Chromium (fake microphones, real redis-server, real WebRTC on
//! loopback; each page reaches the service through a TCP proxy the test cuts): when the link is
//! back, the page replaces the dead leg on the same microphone, with ICE servers fresh from the
//! service, and caller and operator hear each other again in the same call. Then the same
//! happens to the operator's console.
//!
//! A caller who reloads the page mid-call (or whose phone's browser discards the tab) is back in
//! the same call, in the language they chose, still muted if they were; once the call is over a
//! reload starts afresh.
use crate::common;

use common::browser::{speech_wav, Browser};
use common::dispatch::app_on;
use common::proxy::CutProxy;
use common::redis::TestRedis;
use common::ws::{settings_with_operator, OPERATOR, OPERATOR_PASSWORD};
use serde_json::Value;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(30);

const MEDIA_UP: &str =
    "window.hotline.media && window.hotline.media.pc.connectionState === 'connected'";

/// An operator console at `url` (`/operator`, direct or through a proxy), signed in as `wang`.
async fn operator_console(url: &str) -> Browser {
    let mic = speech_wav("reconnect-operator", "cmn", "您好，我还在，请继续说。");
    let operator = Browser::launch("zh-CN,zh,en", Some(&mic)).await;
    operator.client.goto(url).await.expect("goto");
    operator.type_into("#name", OPERATOR).await;
    operator.type_into("#password", OPERATOR_PASSWORD).await;
    operator.click("#login-form button[type=submit]").await;
    operator
        .wait_for(
            "operator online",
            "document.getElementById('link').dataset.state === 'online'",
            STEP,
        )
        .await;
    operator
}

/// A caller's page at `url` (`/call`, direct or through a proxy) in a pt-BR browser whose
/// microphone says `speech` in `voice`, once it reads Portuguese.
async fn caller_page(url: &str, mic: &str, voice: &str, speech: &str) -> Browser {
    let mic = speech_wav(mic, voice, speech);
    let caller = Browser::launch("pt-BR,pt", Some(&mic)).await;
    caller.client.goto(url).await.expect("goto");
    caller
        .wait_for(
            "caller page in Portuguese",
            "document.documentElement.lang === 'pt'",
            STEP,
        )
        .await;
    caller
}

/// The caller (who has pressed Call) is answered by the operator; both media legs are up.
async fn answered(caller: &Browser, operator: &Browser) {
    operator
        .wait_for(
            "call queued",
            "document.querySelector('#queue tbody tr')",
            STEP,
        )
        .await;
    operator.click("#queue tbody tr button.primary").await;
    operator.wait_for("operator media up", MEDIA_UP, STEP).await;
    caller
        .wait_for(
            "caller connected",
            &format!("window.hotline.state === 'connected' && {MEDIA_UP}"),
            STEP,
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_media_leg_that_died_with_the_link_is_replaced_and_heard_again() {
    let redis = TestRedis::start();
    let mut settings = settings_with_operator();
    settings.dispatch.predispatch = false;
    // A STUN server that is not there: gathering gives up on it at once, and the credentials
    // the service hands out (coturn's scheme) show which ICE servers a leg was made with.
    settings.media.turn_urls = vec!["stun:127.0.0.1:9".into()];
    settings.media.turn_secret = "shared-with-coturn".into();
    let app = app_on(&redis, settings).await;
    let proxy = CutProxy::start(app.addr).await;
    let operator_proxy = CutProxy::start(app.addr).await;

    let operator = operator_console(&operator_proxy.url("/operator")).await;
    let caller = caller_page(
        &proxy.url("/call"),
        "reconnect-caller",
        "pt-br",
        "Alô, a ligação caiu? Ainda preciso de ajuda.",
    )
    .await;
    caller.click("#call").await;
    caller
        .wait_for("caller waiting", "window.hotline.state === 'waiting'", STEP)
        .await;
    answered(&caller, &operator).await;
    caller.hears_audio("before the cut", "caller").await;
    operator.hears_audio("before the cut", "operator").await;
    let first_username = caller
        .eval("return window.hotline.media.pc.getConfiguration().iceServers[0]?.username ?? null;")
        .await;
    let call_id = caller.eval("return window.hotline.call.call_id;").await;
    assert!(
        first_username
            .as_str()
            .is_some_and(|u| u.ends_with(&format!(":{}", call_id.as_str().unwrap_or("?")))),
        "the first leg uses the ICE servers from call creation: {first_username}"
    );

    // The phone changes networks: the media leg dies and the signalling link drops.
    caller
        .eval("window.deadLeg = window.hotline.media; window.hotline.media.pc.close(); return 1;")
        .await;
    proxy.cut();
    caller
        .wait_for(
            "caller sees the link is lost",
            "window.hotline.state === 'reconnecting' \
             && document.getElementById('state-hint').textContent.includes('quando a conexão voltar')",
            STEP,
        )
        .await;
    caller.screenshot("reconnect-caller-reconnecting").await;

    proxy.restore();
    caller
        .wait_for(
            "caller back with a new media leg",
            &format!(
                "window.hotline.state === 'connected' && window.hotline.media !== window.deadLeg \
                 && {MEDIA_UP}"
            ),
            STEP,
        )
        .await;
    caller.screenshot("reconnect-caller-connected-again").await;
    let mic_live = caller
        .eval(
            "return window.hotline.media.stream.getAudioTracks()
               .every(t => t.readyState === 'live');",
        )
        .await;
    assert_eq!(mic_live, Value::Bool(true), "the same microphone goes on");
    let username = caller
        .eval("return window.hotline.media.pc.getConfiguration().iceServers[0]?.username ?? null;")
        .await;
    assert!(
        username.as_str().is_some_and(|u| u.ends_with(":caller")),
        "the new leg uses the ICE servers the service sent on rejoining: {username}"
    );
    caller.hears_audio("after the reconnect", "caller").await;
    operator
        .hears_audio("after the reconnect", "operator")
        .await;

    // The operator's console loses its link and its media leg the same way.
    operator
        .eval("window.deadLeg = window.hotline.media; window.hotline.media.pc.close(); return 1;")
        .await;
    operator_proxy.cut();
    operator
        .wait_for(
            "operator sees the link is lost",
            "document.getElementById('link').dataset.state === 'reconnecting'",
            STEP,
        )
        .await;
    operator_proxy.restore();
    operator
        .wait_for(
            "operator back with a new media leg",
            &format!(
                "document.getElementById('link').dataset.state === 'online' \
                 && window.hotline.media !== window.deadLeg && {MEDIA_UP}"
            ),
            STEP,
        )
        .await;
    caller
        .hears_audio("after the operator's reconnect", "caller")
        .await;
    operator
        .hears_audio("after the operator's reconnect", "operator")
        .await;

    // Still the one call, with the same two people in it.
    let roles = operator
        .eval("return window.hotline.call.participants.map(p => p.role).sort();")
        .await;
    assert_eq!(roles, serde_json::json!(["caller", "operator"]));

    caller.close().await;
    operator.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_who_reloads_the_page_is_back_in_the_same_call() {
    let redis = TestRedis::start();
    let mut settings = settings_with_operator();
    settings.dispatch.predispatch = false;
    let app = app_on(&redis, settings).await;
    let operator = operator_console(&app.url("/operator")).await;
    // A pt-BR browser whose owner switched the page to Italian.
    let caller = caller_page(
        &app.url("/call"),
        "reload-caller",
        "it",
        "Pronto? Ho perso il treno per l'aeroporto.",
    )
    .await;
    caller.select("#page-language", "it").await;
    caller.click("#call").await;
    answered(&caller, &operator).await;
    operator.hears_audio("before the reload", "operator").await;
    let call_id = caller.eval("return window.hotline.call.call_id;").await;
    // The caller mutes, then reloads the page by mistake.
    caller.click("#mute").await;
    caller
        .wait_for(
            "caller muted",
            "document.getElementById('mute').getAttribute('aria-pressed') === 'true'",
            STEP,
        )
        .await;
    caller.eval("location.reload(); return 1;").await;
    caller
        .wait_for(
            "caller back in the call after the reload",
            &format!(
                "document.readyState === 'complete' && window.hotline \
                 && window.hotline.state === 'connected' && {MEDIA_UP}"
            ),
            STEP,
        )
        .await;
    caller.screenshot("reload-caller-back").await;
    let again = caller.eval("return window.hotline.call.call_id;").await;
    assert_eq!(again, call_id, "the same call");
    let lang = caller.eval("return document.documentElement.lang;").await;
    assert_eq!(lang, "it", "the page keeps the language the caller chose");
    caller.hears_audio("after the reload", "caller").await;
    // Still muted, and the page says so: the operator hears nothing from the caller.
    caller
        .wait_for(
            "still muted after the reload",
            "document.getElementById('mute').getAttribute('aria-pressed') === 'true'",
            STEP,
        )
        .await;
    let muted = operator.packets_in_window().await;
    assert!(
        muted <= 2,
        "after the reload, muted: the operator still got {muted} packets"
    );
    caller.click("#mute").await;
    caller
        .wait_for(
            "unmuted",
            "document.getElementById('mute').getAttribute('aria-pressed') === 'false'",
            STEP,
        )
        .await;
    operator
        .hears_audio("after the reload, unmuted", "operator")
        .await;

    // Once the call is over, a reload starts afresh.
    caller.click("#hang-up").await;
    caller
        .wait_for(
            "call over",
            "!document.getElementById('after').hidden",
            STEP,
        )
        .await;
    caller.eval("location.reload(); return 1;").await;
    caller
        .wait_for(
            "a fresh start page",
            "document.readyState === 'complete' && window.hotline \
             && window.hotline.state === 'idle' && !document.getElementById('start').hidden",
            STEP,
        )
        .await;
    caller.close().await;
    operator.close().await;
}
