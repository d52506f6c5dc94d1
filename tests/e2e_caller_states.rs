//! The caller always knows what is happening, in their language: a Portuguese caller in real
//! headless Chromium is told, as it happens, that the operator muted their microphone (and why,
//! and how to speak again), that an interpreter is being found, then joining, that the
//! interpreter left the call, and at the end that the operator ended it. The operator and the
//! interpreter are consoles over the WebSocket protocol; every state is awaited on the page. A
//! waiting caller is told how long callers lately waited, once enough were answered to say.
use crate::common;

use common::browser::Browser;
use common::dispatch::{add_interpreter, on_request_settings};
use common::spawn_app;
use common::ws::{answer, create_call, operator_login, operator_session, WsClient};
use hotline_bridge::app::AppState;
use hotline_bridge::domain::Level;
use serde_json::json;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

/// The text of element `id` on the page, once it is shown.
async fn shown_text(page: &Browser, id: &str, what: &str) -> String {
    page.wait_for(what, &format!("!document.getElementById('{id}').hidden"), T)
        .await;
    let v = page
        .eval(&format!(
            "return document.getElementById('{id}').textContent;"
        ))
        .await;
    v.as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portuguese_caller_is_told_each_thing_that_happens_to_their_call() {
    let app = spawn_app(AppState::in_memory(on_request_settings())).await;
    let itoken = add_interpreter(&app, "bfsu-pt-01", &["pt"], Level::Native).await;

    let pt = Browser::launch("pt-BR,pt", None).await;
    pt.client.goto(&app.url("/call")).await.expect("goto");
    pt.wait_for("portuguese", "document.documentElement.lang === 'pt'", T)
        .await;
    pt.click("#call").await;
    pt.wait_for("waiting", "window.hotline.state === 'waiting'", T)
        .await;
    let call_id = pt.eval("return window.hotline.call.call_id;").await;
    let call_id = call_id.as_str().expect("call id").to_owned();

    let op_token = operator_login(&app.url("")).await;
    let mut op = operator_session(app.addr, &op_token).await;
    answer(&mut op, &call_id).await;
    pt.wait_for("connected", "window.hotline.state === 'connected'", T)
        .await;
    let me = pt.eval("return window.hotline.me;").await;

    // Muted by the operator: said plainly, with why, and the button to speak again.
    op.send(json!({"type": "mute", "participant": me, "muted": true}))
        .await;
    let said = shown_text(&pt, "muted-by", "muted by the operator").await;
    assert!(
        said.contains("O atendente silenciou o seu microfone") && said.contains("Ativar microfone"),
        "{said}"
    );
    let button = pt
        .eval("return document.getElementById('mute').textContent;")
        .await;
    assert_eq!(button, "Ativar microfone");
    // Nor does the page still say the operator hears them.
    let hint = pt
        .eval("return document.getElementById('state-hint').textContent;")
        .await;
    assert_eq!(hint, "");
    pt.screenshot("caller-muted-by-operator-pt").await;
    // The caller unmutes: the notice goes.
    pt.click("#mute").await;
    pt.wait_for(
        "unmuted",
        "document.getElementById('muted-by').hidden && !window.hotline.muted",
        T,
    )
    .await;

    // An interpreter is asked for while none is online: the caller hears that one is sought.
    op.send(json!({"type": "request_interpreter", "language": "pt"}))
        .await;
    let said = shown_text(&pt, "interpreter-news", "interpreter sought").await;
    assert_eq!(said, "Procurando um intérprete para você…");
    pt.screenshot("caller-interpreter-sought-pt").await;

    // She comes online, is rung and accepts: joining, then in the call (the news is over).
    let mut int = WsClient::connect(app.addr).await;
    int.send(json!({"type": "hello", "token": itoken})).await;
    int.wait_for("welcome").await;
    int.send(json!({"type": "set_availability", "availability": "available"}))
        .await;
    let ring = int.wait_for("ring").await;
    int.send(json!({"type": "accept_offer", "offer_id": ring["offer_id"]}))
        .await;
    int.wait_for("invited").await;
    int.send(json!({"type": "join_call", "call_id": call_id}))
        .await;
    int.wait_for("joined").await;
    pt.wait_for(
        "interpreter joined, news over",
        "window.hotline.state === 'interpreter' \
         && document.getElementById('interpreter-news').hidden",
        T,
    )
    .await;
    let title = pt
        .eval("return document.getElementById('state-title').textContent;")
        .await;
    assert_eq!(title, "Um intérprete entrou na chamada");

    // She leaves: the caller is told, and that the operator is still there.
    int.send(json!({"type": "leave_call"})).await;
    let said = shown_text(&pt, "interpreter-news", "interpreter left").await;
    assert_eq!(
        said,
        "O intérprete saiu da chamada. O atendente continua com você."
    );
    let state = pt.eval("return window.hotline.state;").await;
    assert_eq!(state, "connected");
    pt.screenshot("caller-interpreter-left-pt").await;

    // The operator ends the call: the caller reads who did.
    op.send(json!({"type": "hang_up"})).await;
    let said = shown_text(&pt, "ended-by", "ended by the operator").await;
    assert_eq!(said, "O atendente encerrou a chamada.");
    pt.screenshot("caller-ended-by-operator-pt").await;
    pt.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_whose_language_has_no_interpreter_is_told_the_operator_stays() {
    let app = spawn_app(AppState::in_memory(on_request_settings())).await;
    let ja = Browser::launch("ja-JP,ja", None).await;
    ja.client.goto(&app.url("/call")).await.expect("goto");
    ja.wait_for("japanese", "document.documentElement.lang === 'ja'", T)
        .await;
    ja.click("#call").await;
    ja.wait_for("waiting", "window.hotline.state === 'waiting'", T)
        .await;
    let call_id = ja.eval("return window.hotline.call.call_id;").await;
    let op_token = operator_login(&app.url("")).await;
    let mut op = operator_session(app.addr, &op_token).await;
    answer(&mut op, call_id.as_str().expect("call id")).await;
    op.send(json!({"type": "request_interpreter", "language": "ja"}))
        .await;
    let said = shown_text(&ja, "interpreter-news", "no interpreter").await;
    assert_eq!(
        said,
        "現在、あなたの言語の通訳者は空いていません。オペレーターが引き続き対応します。"
    );
    // The caller hangs up: the page says they did.
    ja.click("#hang-up").await;
    let said = shown_text(&ja, "ended-by", "ended by the caller").await;
    assert_eq!(said, "あなたが通話を終了しました。");
    ja.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_caller_is_told_how_long_callers_lately_waited_once_there_is_enough_to_say() {
    let mut s = on_request_settings();
    // Five calls from one address in a few seconds: above the default burst of new calls.
    s.calls.create_burst = 10;
    let app = spawn_app(AppState::in_memory(s)).await;
    let op_token = operator_login(&app.url("")).await;
    let mut op = operator_session(app.addr, &op_token).await;

    let pt = Browser::launch("pt-BR,pt", None).await;
    pt.client.goto(&app.url("/call")).await.expect("goto");
    pt.wait_for("portuguese", "document.documentElement.lang === 'pt'", T)
        .await;
    // Nobody answered yet: no figure, rather than a made-up one.
    pt.click("#call").await;
    pt.wait_for("waiting", "window.hotline.state === 'waiting'", T)
        .await;
    let said = pt
        .eval("return document.getElementById('typical-wait').textContent;")
        .await;
    assert_eq!(said, "");
    pt.click("#hang-up").await;

    // Three calls answered at once (well within a minute) ...
    for _ in 0..3 {
        let (call_id, _, _) = create_call(&app.url(""), json!({"chosen": "pt"})).await;
        answer(&mut op, &call_id).await;
        op.send(json!({"type": "hang_up"})).await;
        op.wait_for("left").await;
    }
    // ... so the next caller hears that callers are answered within a minute.
    pt.click("#again").await;
    pt.click("#call").await;
    pt.wait_for(
        "the typical wait",
        "document.getElementById('typical-wait').textContent !== ''",
        T,
    )
    .await;
    let said = pt
        .eval("return document.getElementById('typical-wait').textContent;")
        .await;
    assert_eq!(
        said,
        "Ultimamente as chamadas têm sido atendidas em menos de um minuto."
    );
    pt.screenshot("caller-typical-wait-pt").await;
    pt.close().await;
}
