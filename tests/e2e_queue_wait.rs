//! The caller page in real headless Chromium after the longest queue wait and at the caps on
//! waiting calls: a French caller who has waited too long is asked, in French, whether to keep
//! waiting; pressing "keep waiting" closes the question and the call goes on waiting until it is
//! asked again. A Japanese caller refused because this address already has a call waiting is
//! told so in Japanese, not with a generic error.
use crate::common;

use common::browser::Browser;
use common::{spawn_app, test_settings};
use hotline_bridge::app::AppState;
use std::time::Duration;

const T: Duration = Duration::from_secs(30);
const ASKED: &str = "!document.getElementById('long-wait').hidden";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_long_wait_question_and_a_refusal_are_worded_in_the_callers_language() {
    let mut s = test_settings();
    s.calls.max_queue_wait_s = 2;
    s.calls.queue_wait_reply_s = 60;
    s.calls.max_waiting_per_address = 1;
    let app = spawn_app(AppState::in_memory(s)).await;

    let fr = Browser::launch("fr-FR,fr", None).await;
    fr.client.goto(&app.url("/call")).await.expect("goto");
    fr.wait_for("french", "document.documentElement.lang === 'fr'", T)
        .await;
    fr.click("#call").await;
    fr.wait_for("waiting", "window.hotline.state === 'waiting'", T)
        .await;
    fr.wait_for("asked to keep waiting", ASKED, T).await;
    let v = fr
        .eval(
            "const $ = (id) => document.getElementById(id).textContent;
             return { text: $('long-wait-text'), hint: $('long-wait-hint'),
                      keep: $('keep-waiting'), later: $('call-later') };",
        )
        .await;
    assert_eq!(
        v["text"],
        "Vous attendez depuis environ 1 min. Tous les opérateurs sont encore occupés."
    );
    assert!(
        v["hint"]
            .as_str()
            .is_some_and(|h| h.starts_with("Continuez d'attendre")),
        "{v}"
    );
    assert_eq!(v["keep"], "Continuer d'attendre");
    assert_eq!(v["later"], "Raccrocher, rappeler plus tard");
    fr.screenshot("caller-long-wait-fr").await;

    fr.click("#keep-waiting").await;
    fr.wait_for("question closed", &format!("!({ASKED})"), T)
        .await;
    // The wait started again: still waiting, and asked once more later.
    fr.wait_for("asked again", ASKED, T).await;
    let state = fr.eval("return window.hotline.state;").await;
    assert_eq!(state, "waiting");

    // The French call waits, so this address is at its cap: the next caller is told why.
    let ja = Browser::launch("ja-JP,ja", None).await;
    ja.client.goto(&app.url("/call")).await.expect("goto");
    ja.wait_for("japanese", "document.documentElement.lang === 'ja'", T)
        .await;
    ja.click("#call").await;
    ja.wait_for(
        "refusal shown",
        "!document.getElementById('start-error').hidden",
        T,
    )
    .await;
    let shown = ja
        .eval("return document.getElementById('start-error').textContent;")
        .await;
    assert_eq!(
        shown,
        "この接続からの通話がすでに待機中です。応答されるまでお待ちください。"
    );
    ja.screenshot("caller-too-many-waiting-ja").await;
    ja.close().await;
    fr.close().await;
}
