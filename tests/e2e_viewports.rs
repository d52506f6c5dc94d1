//! Every page at the window sizes its users bring — a phone (360 × 640), a tablet (768 × 1024)
//! and a laptop's browser window (1280 × 657) — in Chinese, Portuguese, Arabic and Japanese
//! browsers, in real headless Chromium. In each page's main states (signed out, and what a
//! signed-in user acts on first) the primary action is wholly inside the window without
//! scrolling, and the page does not scroll sideways. Every state is saved as a screenshot for
//! review: target/e2e/viewport-<lang>-<w>x<h>-<page>.png. Failures are gathered and reported
//! together, each naming its language, size and page. At the desktop size axe-core checks each
//! state for serious or critical accessibility violations.
use crate::common;

use common::browser::{speech_wav, Browser};
use common::dispatch::add_interpreter;
use common::fixtures::chosen;
use common::supervisors::with_supervisor;
use common::universities;
use common::ws::{caller_in_call, operator_login, settings_with_operator};
use common::{spawn_app, TestApp};
use hotline_bridge::app::AppState;
use hotline_bridge::domain::Level;
use serde_json::Value;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(30);
const SIZES: [(u32, u32); 3] = [(360, 640), (768, 1024), (1280, 657)];

/// The app every language's pages are opened on: an operator, a supervisor, a university with
/// its key, an interpreter, and a caller waiting in the queue (so the console has an Answer).
struct Site {
    app: TestApp,
    operator_token: String,
    interpreter_token: String,
    university_key: String,
    _caller: common::ws::WsClient,
}

async fn site() -> Site {
    let mut settings = with_supervisor(settings_with_operator());
    // Each size's waiting state is a new call from 127.0.0.1.
    settings.calls.create_burst = 20;
    let keys = universities::with_keys(&mut settings, &["bfsu"]);
    let app = spawn_app(AppState::in_memory(settings)).await;
    let interpreter_token = add_interpreter(&app, "ana", &["pt"], Level::Native).await;
    let operator_token = operator_login(&app.url("")).await;
    let (call, token) = app.state.calls.create(chosen("pt"));
    let caller = caller_in_call(app.addr, &call.id().to_string(), &token).await;
    Site {
        app,
        operator_token,
        interpreter_token,
        university_key: keys["bfsu"].clone(),
        _caller: caller,
    }
}

/// Where `css` is against the window, and whether the page scrolls sideways.
async fn placement(b: &Browser, css: &str) -> Value {
    b.eval(&format!(
        "const e = document.querySelector({css:?});
         const d = document.documentElement;
         if (!e) return {{ missing: true }};
         const r = e.getBoundingClientRect();
         return {{ top: r.top, bottom: r.bottom, left: r.left, right: r.right,
                  width: r.width, height: r.height, label: e.textContent.trim().slice(0, 40),
                  page_width: d.scrollWidth, inner_width: window.innerWidth,
                  inner_height: window.innerHeight }};"
    ))
    .await
}

/// What is wrong with the primary action's placement, if anything.
fn misplaced(p: &Value) -> Option<String> {
    if p["missing"] == Value::Bool(true) {
        return Some("the primary action is not on the page".into());
    }
    let f = |k: &str| p[k].as_f64().unwrap_or(f64::NAN);
    let label = &p["label"];
    if f("page_width") > f("inner_width") {
        return Some(format!(
            "the page is {} px wide in a {} px window",
            f("page_width"),
            f("inner_width")
        ));
    }
    if !(f("width") > 0.0 && f("height") > 0.0) {
        return Some(format!("{label} is not shown"));
    }
    if !(f("top") >= 0.0 && f("bottom") <= f("inner_height")) {
        return Some(format!(
            "{label} is below the fold (top {}, bottom {}, window {} high)",
            f("top"),
            f("bottom"),
            f("inner_height")
        ));
    }
    if !(f("left") >= 0.0 && f("right") <= f("inner_width")) {
        return Some(format!(
            "{label} runs off the side (left {}, right {})",
            f("left"),
            f("right")
        ));
    }
    None
}

/// Sizes the window so that its viewport is `w` × `h` CSS pixels.
async fn size_viewport(b: &Browser, w: u32, h: u32) {
    b.client.set_window_size(w, h).await.expect("window size");
    let inner = b
        .eval("return [window.innerWidth, window.innerHeight];")
        .await;
    let (iw, ih) = (
        inner[0].as_u64().unwrap_or(0) as u32,
        inner[1].as_u64().unwrap_or(0) as u32,
    );
    if (iw, ih) != (w, h) && iw > 0 && ih > 0 {
        // Window decorations, if any: grow the window by what they take.
        b.client
            .set_window_size(w + w.saturating_sub(iw), h + h.saturating_sub(ih))
            .await
            .expect("window size");
    }
    let inner = b
        .eval("return [window.innerWidth, window.innerHeight];")
        .await;
    assert_eq!(inner, serde_json::json!([w, h]), "the viewport is {w}×{h}");
}

struct Check<'a> {
    b: &'a Browser,
    lang: &'a str,
    size: (u32, u32),
    failures: Vec<String>,
}

impl Check<'_> {
    /// Waits for `ready`, saves the screenshot and checks `primary`'s placement.
    async fn page(&mut self, name: &str, ready: &str, primary: &str) {
        let (w, h) = self.size;
        let what = format!("{} {w}×{h} {name}", self.lang);
        self.b.wait_for(&what, ready, STEP).await;
        self.b
            .screenshot(&format!("viewport-{}-{w}x{h}-{name}", self.lang))
            .await;
        if let Some(wrong) = misplaced(&placement(self.b, primary).await) {
            self.failures.push(format!("{what}: {wrong}"));
        }
        // Accessibility in this state too (once a language, at the desktop size).
        if self.size == SIZES[2] {
            self.b.axe(&what).await;
        }
    }

    async fn open(&self, path: &str, url: String) {
        self.b.client.goto(&url).await.expect(path);
    }

    /// Opens `url` with `key` = `token` in the tab's session storage, as after a sign-in.
    async fn open_signed_in(&self, url: String, key: &str, token: &str) {
        self.b.client.goto(&url).await.expect("goto");
        self.b
            .eval(&format!(
                "sessionStorage.setItem({key:?}, {token:?}); return 1;"
            ))
            .await;
        self.b.client.refresh().await.expect("reload");
    }
}

async fn every_page_fits(accept_language: &str, lang: &str) {
    let site = site().await;
    let url = |p: &str| site.app.url(p);
    let mic = speech_wav(&format!("viewport-{lang}"), "pt", "Olá, preciso de ajuda.");
    let b = Browser::launch(accept_language, Some(&mic)).await;
    let mut failures = Vec::new();
    for size in SIZES {
        size_viewport(&b, size.0, size.1).await;
        let mut c = Check {
            b: &b,
            lang,
            size,
            failures: Vec::new(),
        };
        c.open("/", url("/")).await;
        c.page(
            "index",
            "document.querySelector('a.card')",
            "a.card[href='/call']",
        )
        .await;

        c.open("/call", url("/call")).await;
        c.page(
            "call",
            "window.hotline && document.getElementById('call').textContent.trim() !== ''",
            "#call",
        )
        .await;
        b.click("#call").await;
        c.page(
            "call-waiting",
            "window.hotline.state === 'waiting'",
            "#hang-up",
        )
        .await;
        b.click("#hang-up").await;
        b.wait_for(
            "the waiting call hung up",
            "!document.getElementById('after').hidden",
            STEP,
        )
        .await;

        c.open("/operator", url("/operator")).await;
        b.eval("sessionStorage.clear(); return 1;").await;
        b.client.refresh().await.expect("reload");
        c.page(
            "operator",
            "!document.getElementById('login-form').closest('[hidden]')",
            "#login-form button[type=submit]",
        )
        .await;
        c.open_signed_in(
            url("/operator"),
            "hotline.operator.token",
            &site.operator_token,
        )
        .await;
        c.page(
            "operator-queue",
            "document.querySelector('#queue tbody tr button')",
            "#queue tbody tr button",
        )
        .await;

        c.open("/interpreter", url("/interpreter")).await;
        b.eval("sessionStorage.clear(); return 1;").await;
        b.client.refresh().await.expect("reload");
        c.page(
            "interpreter",
            "!document.getElementById('signin-form').closest('[hidden]')",
            "#signin-form button[type=submit]",
        )
        .await;
        c.open_signed_in(
            url("/interpreter"),
            "hotline.interpreter.token",
            &site.interpreter_token,
        )
        .await;
        c.page(
            "interpreter-signed-in",
            "!document.getElementById('console').hidden",
            "#go-available",
        )
        .await;

        c.open("/university", url("/university")).await;
        c.page(
            "university",
            "!document.getElementById('signin').hidden",
            "#signin-form button[type=submit]",
        )
        .await;
        b.type_into("#api-key", &site.university_key).await;
        b.click("#signin-form button[type=submit]").await;
        c.page(
            "university-signed-in",
            "!document.getElementById('app').hidden && document.querySelector('#heatmap table')",
            "#add",
        )
        .await;

        for page in ["supervisor", "dashboard", "reports"] {
            c.open(page, url(&format!("/{page}"))).await;
            b.eval("sessionStorage.clear(); return 1;").await;
            b.client.refresh().await.expect("reload");
            c.page(
                page,
                "!document.getElementById('login-form').closest('[hidden]')",
                "#login-form button[type=submit]",
            )
            .await;
        }
        failures.append(&mut c.failures);
    }
    b.close().await;
    assert!(
        failures.is_empty(),
        "primary actions out of reach:\n{}",
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_every_window_in_chinese() {
    every_page_fits("zh-CN,zh", "zh").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_every_window_in_portuguese() {
    every_page_fits("pt-BR,pt", "pt").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_every_window_in_arabic() {
    every_page_fits("ar-EG,ar", "ar").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_every_window_in_japanese() {
    every_page_fits("ja-JP,ja", "ja").await;
}

/// The ids (or tag names) of what the keyboard's Tab reaches, in order, from the top of the page.
async fn tab_order(b: &Browser, presses: usize) -> Vec<String> {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    const TAB: char = '\u{E004}';
    b.eval("document.activeElement && document.activeElement.blur(); return 1;")
        .await;
    let mut order = Vec::new();
    for _ in 0..presses {
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: TAB })
            .then(KeyAction::Up { value: TAB });
        b.client.perform_actions(keys).await.expect("Tab");
        let at = b
            .eval("const e = document.activeElement; return e.id || e.tagName.toLowerCase();")
            .await;
        order.push(at.as_str().unwrap_or_default().to_owned());
    }
    order
}

/// Focus order follows what the eye reads: the caller reaches the language, then Call, before
/// the optional fields; the operator's sign-in goes name, password, log in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keyboard_reaches_each_pages_fields_in_reading_order() {
    let site = site().await;
    let b = Browser::launch("pt-BR,pt", None).await;
    b.client.goto(&site.app.url("/call")).await.expect("goto");
    b.wait_for(
        "caller page",
        "window.hotline && document.documentElement.lang === 'pt'",
        STEP,
    )
    .await;
    assert_eq!(
        tab_order(&b, 5).await,
        [
            "page-language",
            "call-language",
            "call",
            "describe",
            "returning-case"
        ],
        "the caller page's focus order"
    );
    b.client
        .goto(&site.app.url("/operator"))
        .await
        .expect("goto");
    b.wait_for(
        "operator sign-in",
        "!document.getElementById('login-form').closest('[hidden]')",
        STEP,
    )
    .await;
    let order = tab_order(&b, 6).await;
    let form: Vec<&String> = order
        .iter()
        .filter(|id| ["name", "password", "button"].contains(&id.as_str()))
        .collect();
    assert!(
        form.len() >= 3 && form[0] == "name" && form[1] == "password" && form[2] == "button",
        "the sign-in form's focus order: {order:?}"
    );
    b.close().await;
}
