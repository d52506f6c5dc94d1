//! Most foreign visitors call from a phone, and interpreters answer rings from one too. In real
//! headless Chromium at a phone's size (390 × 844 CSS pixels):
//! - the caller page, in languages with long words, another script and right to left: nothing
//!   runs off the side, the call button and (while waiting) the hang-up button are fully on the
//!   first screen, thumb-sized, with their labels fitting; after the call the five rating stars
//!   sit in one row;
//! - the interpreter console: the ring, then the call, comes first on the screen, with buttons
//!   a thumb can hit; a reload mid-call comes back into the call.
//!
//! Screenshots: target/e2e/phone-*.png.
use crate::common;

use common::browser::{speech_wav, Browser};
use common::dispatch::{add_interpreter, answered_call, app_on, on_request_settings};
use common::redis::TestRedis;
use common::{spawn_app, test_settings};
use hotline_bridge::app::AppState;
use hotline_bridge::domain::Level;
use serde_json::{json, Value};
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
    let mut settings = test_settings();
    // Four calls from 127.0.0.1 within seconds: more than the per-address limit lets through
    // (3 at once, then 6 a minute), which is not what this test is about.
    settings.calls.create_burst = 10;
    let app = spawn_app(AppState::in_memory(settings)).await;
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

/// What `assert_thumb_sized` asks, for a console's button: on screen, tall enough for a thumb
/// (console buttons share a row, so no width rule), label fitting, no sideways scrolling.
fn assert_tappable(what: &str, l: &Value) {
    let f = |k: &str| l[k].as_f64().unwrap_or(f64::NAN);
    assert!(
        f("page_width") <= f("screen_width"),
        "{what}: the page is {} px wide on a {} px screen",
        f("page_width"),
        f("screen_width")
    );
    assert!(
        f("top") >= 0.0
            && f("bottom") <= f("screen_height")
            && f("left") >= 0.0
            && f("right") <= f("screen_width"),
        "{what}: {:?} is not fully on screen ({l})",
        l["label"]
    );
    assert!(
        f("height") >= 44.0,
        "{what}: {:?} is {} px tall, too small for a thumb",
        l["label"],
        f("height")
    );
    assert_eq!(
        l["text_fits"],
        Value::Bool(true),
        "{what}: the label {:?} does not fit its button",
        l["label"]
    );
}

/// The id of the console's topmost visible panel.
const FIRST_PANEL: &str = "
    const shown = [...document.querySelectorAll('#console > section')]
      .filter(p => !p.hidden)
      .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top);
    return shown[0]?.id || '(status)';";

/// Interpreters are on call around the clock, often away from a desk: the ring, its buttons and
/// the call on a phone-sized interpreter console.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_interpreter_console_answers_from_a_phone() {
    let redis = TestRedis::start();
    let mut settings = on_request_settings();
    settings.dispatch.ring_timeout_s = 60;
    let app = app_on(&redis, settings).await;
    let token = add_interpreter(&app, "ana", &["pt"], Level::Native).await;
    let mic = speech_wav("phone-interpreter", "en", "Hello, I am the interpreter.");
    let b = Browser::launch("en-US,en", Some(&mic)).await;
    b.client
        .set_window_size(WIDTH, HEIGHT)
        .await
        .expect("phone-sized window");
    b.client.goto(&app.url("/interpreter")).await.expect("goto");
    b.type_into("#token", &token).await;
    b.click("#signin-form button[type=submit]").await;
    b.wait_for(
        "signed in",
        "!document.getElementById('console').hidden",
        STEP,
    )
    .await;
    assert_tappable("signed in", &layout(&b, "#go-available").await);
    b.click("#go-available").await;
    b.wait_for(
        "available",
        "document.getElementById('status').dataset.status === 'available'",
        STEP,
    )
    .await;
    b.screenshot("phone-interpreter-available").await;

    let mut call = answered_call(&app, "pt").await;
    call.operator
        .send(json!({"type": "request_interpreter"}))
        .await;
    b.wait_for(
        "ringing",
        "!document.getElementById('ringing').hidden",
        STEP,
    )
    .await;
    b.screenshot("phone-interpreter-ringing").await;
    assert_eq!(
        b.eval(FIRST_PANEL).await,
        "ringing",
        "ringing: the ring comes first on a phone"
    );
    assert_tappable("ringing", &layout(&b, "#accept").await);
    assert_tappable("ringing", &layout(&b, "#decline").await);
    b.click("#accept").await;
    b.wait_for(
        "in the call",
        "!document.getElementById('in-call').hidden \
         && window.hotline.media && window.hotline.media.pc.connectionState === 'connected'",
        STEP,
    )
    .await;
    b.screenshot("phone-interpreter-in-call").await;
    assert_eq!(
        b.eval(FIRST_PANEL).await,
        "in-call",
        "in the call: the call comes first on a phone"
    );
    assert_tappable("in the call", &layout(&b, "#leave").await);

    // A reload mid-call (or the phone discarding the tab): signed in again, back in the call.
    b.eval("window.before = 1; location.reload(); return 1;")
        .await;
    b.wait_for(
        "back in the call after a reload",
        "document.readyState === 'complete' && window.before === undefined \
         && !document.getElementById('in-call').hidden \
         && window.hotline.media && window.hotline.media.pc.connectionState === 'connected'",
        STEP,
    )
    .await;
    assert_eq!(
        b.eval(FIRST_PANEL).await,
        "in-call",
        "after the reload: the call comes first"
    );
    b.close().await;
}
