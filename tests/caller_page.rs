//! The caller page in a real headless Chromium: it opens in the browser's language when it is one
//! of ours (Portuguese here) and right to left in Arabic, every language has every string, the
//! picker shows each language's own name, typing in another language suggests it, and a refused
//! microphone gets a clear message in the caller's language instead of a dead page.
use crate::common;

use common::browser::Browser;
use common::{spawn_app, test_settings};
use hotline_bridge::app::AppState;
use serde_json::json;
use std::time::Duration;

const T: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_caller_page_speaks_the_callers_language_and_arabic_reads_right_to_left() {
    let app = spawn_app(AppState::in_memory(test_settings())).await;

    let pt = Browser::launch("pt-BR,pt", None).await;
    pt.client.goto(&app.url("/call")).await.expect("goto");
    pt.wait_for("portuguese", "document.documentElement.lang === 'pt'", T)
        .await;
    let v = pt
        .eval(
            "const m = await import('/i18n/strings.js');
             const keys = Object.keys(m.STRINGS.en).sort().join();
             const mismatched = Object.entries(m.STRINGS)
               .filter(([, s]) => Object.keys(s).sort().join() !== keys).map(([l]) => l);
             const picker = [...document.querySelectorAll('#page-language option')]
               .map(o => [o.value, o.textContent]);
             return { langs: Object.keys(m.STRINGS).sort(), mismatched, picker,
                      call: document.getElementById('call').textContent,
                      dir: document.documentElement.dir };",
        )
        .await;
    assert_eq!(
        v["langs"],
        json!(["ar", "de", "en", "es", "fr", "it", "ja", "ko", "pt", "ru", "zh"])
    );
    assert_eq!(v["mismatched"], json!([]), "every language has every key");
    assert_eq!(v["call"], "Ligar");
    assert_eq!(v["dir"], "ltr");
    let picker = v["picker"].as_array().expect("picker");
    assert!(picker.contains(&json!(["ar", "العربية"])));
    assert!(picker.contains(&json!(["ja", "日本語"])));

    // Typing in another language brings a suggestion in that language's own words (lang.js).
    pt.eval(
        "const d = document.getElementById('describe');
         d.value = 'Bonjour, on m\\'a volé mon passeport dans le métro ce matin.';
         d.dispatchEvent(new Event('input')); return 1;",
    )
    .await;
    pt.wait_for(
        "language suggestion",
        "!document.getElementById('suggestion').hidden",
        T,
    )
    .await;
    let q = pt
        .eval("return document.getElementById('suggestion-text').textContent;")
        .await;
    assert_eq!(q, "Français?");
    pt.eval("document.getElementById('suggestion-accept').click(); return 1;")
        .await;
    pt.wait_for(
        "switched to French",
        "document.documentElement.lang === 'fr'",
        T,
    )
    .await;
    pt.eval(
        "document.getElementById('page-language').value = 'pt';
         document.getElementById('page-language').dispatchEvent(new Event('change')); return 1;",
    )
    .await;

    // A refused microphone: a clear message in the caller's language, the Call button still there.
    pt.eval(
        "navigator.mediaDevices.getUserMedia = () =>
           Promise.reject(new DOMException('denied', 'NotAllowedError'));
         document.getElementById('call').click(); return 1;",
    )
    .await;
    pt.wait_for(
        "mic denied message",
        "!document.getElementById('start-error').hidden",
        T,
    )
    .await;
    let msg = pt
        .eval("return document.getElementById('start-error').textContent;")
        .await;
    assert!(
        msg.as_str().is_some_and(|m| m.contains("microfone")),
        "{msg}"
    );
    pt.screenshot("caller-mic-denied-pt").await;
    pt.close().await;

    let ar = Browser::launch("ar-EG,ar", None).await;
    ar.client.goto(&app.url("/call")).await.expect("goto");
    ar.wait_for("arabic rtl", "document.documentElement.dir === 'rtl'", T)
        .await;
    let call = ar
        .eval("return document.getElementById('call').textContent;")
        .await;
    assert_eq!(call, "اتصال");
    ar.screenshot("caller-ar").await;
    ar.close().await;
}
