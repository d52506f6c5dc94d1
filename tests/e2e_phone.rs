//! Most foreign visitors call from a phone. The caller page in real headless Chromium at a phone's
//! size (390 × 844 CSS pixels), in languages with long words, another script and right to left:
//! nothing runs off the side of the screen, the call button and (during the call) the hang-up
//! button are fully on screen without scrolling, large enough to hit with a thumb, and their
//! labels fit; after the call the five rating stars sit in one row. Screenshots:
//! target/e2e/phone-*.png.
mod common;

use common::browser::{speech_wav, Browser};
use common::{spawn_app, test_settings};
use hotline_bridge::app::AppState;
use serde_json::Value;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(30);
const WIDTH: u32 = 390;
const HEIGHT: u32 = 844;
/// Smallest comfortable touch target, in CSS pixels (platform guidelines say 44–48).
const MIN_TARGET_PX: f64 = 48.0;

/// Where `css` is on screen, whether its text fits its box, and whether the page is wider than
/// the screen.
async fn layout(b: &Browser, css: &str) -> Value {
    b.eval(&format!(
        "const e = document.querySelector({css:?});
         const r = e.getBoundingClientRect();
         const d = document.documentElement;
         return {{ top: r.top, bottom: r.bottom, left: r.left, right: r.right,
                  width: r.width, height: r.height,
                  text_fits: e.scrollWidth <= e.clientWidth + 1,
                  page_width: d.scrollWidth, screen_width: window.innerWidth,
                  screen_height: window.innerHeight, label: e.textContent }};"
    ))
    .await
}

/// Asserts that the button `css` is on screen, big enough, and its label fits; and that the page
/// does not scroll sideways.
fn assert_thumb_sized(what: &str, l: &Value) {
    let f = |k: &str| l[k].as_f64().unwrap_or(f64::NAN);
    assert!(
        f("page_width") <= f("screen_width"),
        "{what}: the page is {} px wide on a {} px screen",
        f("page_width"),
        f("screen_width")
    );
    assert!(
        f("top") >= 0.0 && f("bottom") <= f("screen_height"),
        "{what}: {:?} is not fully on screen (top {}, bottom {}, screen {})",
        l["label"],
        f("top"),
        f("bottom"),
        f("screen_height")
    );
    assert!(
        f("left") >= 0.0 && f("right") <= f("screen_width"),
        "{what}: {:?} runs off the side (left {}, right {})",
        l["label"],
        f("left"),
        f("right")
    );
    assert!(
        f("height") >= MIN_TARGET_PX && f("width") >= f("screen_width") * 0.5,
        "{what}: {:?} is {}×{} px, too small for a thumb",
        l["label"],
        f("width"),
        f("height")
    );
    assert_eq!(
        l["text_fits"],
        Value::Bool(true),
        "{what}: the label {:?} does not fit its button",
        l["label"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_caller_page_fits_a_phone_in_every_script() {
    let app = spawn_app(AppState::in_memory(test_settings())).await;
    let mic = speech_wav("phone-caller", "de", "Hallo, ich brauche Hilfe.");
    // German and Russian have long words; Arabic is right to left; Japanese another script.
    for (accept, lang) in [
        ("de-DE,de", "de"),
        ("ru-RU,ru", "ru"),
        ("ar-EG,ar", "ar"),
        ("ja-JP,ja", "ja"),
    ] {
        let b = Browser::launch(accept, Some(&mic)).await;
        b.client
            .set_window_size(WIDTH, HEIGHT)
            .await
            .expect("phone-sized window");
        b.client.goto(&app.url("/call")).await.expect("goto");
        b.wait_for(
            &format!("{lang} page"),
            &format!("document.documentElement.lang === '{lang}'"),
            STEP,
        )
        .await;
        let screen = b.eval("return window.innerWidth;").await;
        assert!(
            screen.as_f64().is_some_and(|w| w <= f64::from(WIDTH)),
            "the window is phone-sized: {screen}"
        );
        b.screenshot(&format!("phone-{lang}-start")).await;
        assert_thumb_sized(
            &format!("{lang}, before the call"),
            &layout(&b, "#call").await,
        );

        b.click("#call").await;
        b.wait_for(
            &format!("{lang} waiting"),
            "window.hotline.state === 'waiting'",
            STEP,
        )
        .await;
        b.screenshot(&format!("phone-{lang}-waiting")).await;
        assert_thumb_sized(
            &format!("{lang}, waiting for an operator"),
            &layout(&b, "#hang-up").await,
        );
        b.click("#hang-up").await;
        b.wait_for(
            &format!("{lang} ended"),
            "!document.getElementById('after').hidden",
            STEP,
        )
        .await;
        b.screenshot(&format!("phone-{lang}-ended")).await;
        let rows = b
            .eval(
                "return new Set([...document.querySelectorAll('#stars button')]
                   .map(s => Math.round(s.getBoundingClientRect().top))).size;",
            )
            .await;
        assert_eq!(
            rows, 1,
            "{lang}, after the call: the five stars are in one row"
        );
        let l = layout(&b, "#stars").await;
        let (page, screen) = (&l["page_width"], &l["screen_width"]);
        assert!(
            page.as_f64().unwrap_or(f64::NAN) <= screen.as_f64().unwrap_or(f64::NAN),
            "{lang}, after the call: the page is {page} px wide on a {screen} px screen"
        );
        b.close().await;
    }
}
