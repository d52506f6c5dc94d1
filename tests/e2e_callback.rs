//! The callback choice in real headless Chromium: a Portuguese caller who waited longest is
//! offered, in Portuguese, to keep waiting or leave a number; keeping waiting keeps their place
//! in the queue; asked again, they leave a number (a malformed one is refused in Portuguese, on
//! the page), are told in Portuguese that the hotline will call them back (a live region), and
//! the call ends. A Chinese operator console lists the request with its number, language and
//! description, and marks it done. Both pages pass axe-core with no serious or critical violation.
use crate::common;

use common::browser::Browser;
use common::spawn_app;
use common::ws::{
    caller_in_call, create_call, settings_with_operator, OPERATOR, OPERATOR_PASSWORD,
};
use hotline_bridge::app::build_state;
use serde_json::json;
use std::time::Duration;

const T: Duration = Duration::from_secs(30);
const ASKED: &str = "!document.getElementById('long-wait').hidden";

fn text_of(id: &str) -> String {
    format!("return document.getElementById('{id}').textContent;")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portuguese_caller_keeps_waiting_then_leaves_a_number_that_a_chinese_operator_calls_back()
{
    let dir = tempfile::tempdir().expect("temp dir");
    let mut s = settings_with_operator();
    s.records.database = format!("sqlite://{}", dir.path().join("hotline.db").display());
    s.calls.max_queue_wait_s = 2;
    s.calls.queue_wait_reply_s = 60;
    let app = spawn_app(build_state(s).await.expect("state")).await;

    let pt = Browser::launch("pt-BR,pt", None).await;
    pt.client.goto(&app.url("/call")).await.expect("goto");
    pt.wait_for("portuguese", "document.documentElement.lang === 'pt'", T)
        .await;
    pt.type_into("#describe", "Problema com o aluguel do apartamento")
        .await;
    pt.click("#call").await;
    pt.wait_for("waiting", "window.hotline.state === 'waiting'", T)
        .await;
    // A second caller behind them in the queue.
    let (other_id, other_token, _) = create_call(&app.url(""), json!({"chosen": "fr"})).await;
    let _other = caller_in_call(app.addr, &other_id, &other_token).await;

    pt.wait_for("asked", ASKED, T).await;
    pt.wait_for(
        "first in the queue",
        "window.hotline.view?.position === 1",
        T,
    )
    .await;
    let offer = pt.eval(&text_of("callback")).await;
    assert_eq!(offer, "Deixar meu número para receber uma ligação");
    let keep = pt.eval(&text_of("keep-waiting")).await;
    assert_eq!(keep, "Continuar esperando");
    pt.click("#keep-waiting").await;
    pt.wait_for("question closed", &format!("!({ASKED})"), T)
        .await;
    let v = pt
        .eval("return { state: window.hotline.state, position: window.hotline.view.position };")
        .await;
    assert_eq!(
        v,
        json!({"state": "waiting", "position": 1}),
        "kept their place"
    );

    // Asked again: this time they leave a number.
    pt.wait_for("asked again", ASKED, T).await;
    pt.click("#callback").await;
    pt.wait_for(
        "number field",
        "!document.getElementById('callback-form').hidden",
        T,
    )
    .await;
    let focused = pt.eval("return document.activeElement.id;").await;
    assert_eq!(focused, "callback-number");
    let about = pt
        .eval("return document.getElementById('callback-description').value;")
        .await;
    assert_eq!(about, "Problema com o aluguel do apartamento");
    pt.type_into("#callback-number", "11 9876-5432").await;
    pt.click("#callback-send").await;
    pt.wait_for(
        "refused number",
        "!document.getElementById('callback-error').hidden",
        T,
    )
    .await;
    let refused = pt.eval(&text_of("callback-error")).await;
    assert_eq!(
        refused,
        "Digite um número de telefone: apenas dígitos, + e espaços, de 6 a 20 dígitos."
    );
    pt.type_into("#callback-number", "+55 11 98765 4321").await;
    pt.screenshot("caller-callback-form-pt").await;
    pt.axe("caller page, callback form with an error").await;
    pt.click("#callback-send").await;
    pt.wait_for("ended", "window.hotline.state === 'ended'", T)
        .await;
    let told = pt
        .eval(
            "const e = document.getElementById('ended-by');
             return { text: e.textContent, role: e.getAttribute('role'), hidden: e.hidden };",
        )
        .await;
    assert_eq!(
        told,
        json!({"text": "Você deixou seu número: a central vai ligar para você assim que um atendente estiver livre.",
               "role": "status", "hidden": false})
    );
    pt.screenshot("caller-callback-left-pt").await;
    pt.close().await;

    // The Chinese operator console lists it and marks it done.
    let op = Browser::launch("zh-CN,zh,en", None).await;
    op.client.goto(&app.url("/operator")).await.expect("goto");
    op.type_into("#name", OPERATOR).await;
    op.type_into("#password", OPERATOR_PASSWORD).await;
    op.click("#login-form button[type=submit]").await;
    op.wait_for(
        "one call-back listed",
        "document.querySelectorAll('#callbacks-list li').length === 1",
        T,
    )
    .await;
    let item = op
        .eval(
            "const li = document.querySelector('#callbacks-list li');
             return { heading: document.querySelector('#callbacks-h span').textContent,
                      number: li.querySelector('.callback-number').textContent,
                      text: li.textContent,
                      done: li.querySelector('.callback-done').textContent };",
        )
        .await;
    assert_eq!(item["heading"], "回电");
    assert_eq!(item["number"], "+55 11 98765 4321");
    assert_eq!(item["done"], "已回电");
    let text = item["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("(pt)") && text.contains("Problema com o aluguel do apartamento"),
        "{text}"
    );
    op.screenshot("operator-callbacks-zh").await;
    op.axe("operator console, call-backs listed").await;
    op.click("#callbacks-list .callback-done").await;
    op.wait_for(
        "list emptied",
        "document.querySelectorAll('#callbacks-list li').length === 0 \
         && !document.getElementById('callbacks-none').hidden",
        T,
    )
    .await;
    let msg = op.eval(&text_of("callbacks-msg")).await;
    assert_eq!(msg, "+55 11 98765 4321 已标记为已回电。");
    op.close().await;
}
