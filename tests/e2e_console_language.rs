//! The staff consoles for a Chinese-speaking hotline, in real headless Chromium (zh-CN) on a real
//! redis-server. The operator console — logged out, with a caller in the queue, the call answered,
//! the dispatch panel ringing and the interpreter joined — and the interpreter console — signed
//! out, signed in, available, ringing, in the call, in wrap-up — show none of their English
//! catalog's strings (checked against web/i18n/*.js) and do show the Chinese ones. The operator
//! answers and adds the interpreter with the keyboard shortcuts, which stay quiet while a field
//! has the focus; when the interpreter leaves, the panel names her ("Li Na 已离开通话"), not
//! "cancelled". The language switch rewords the page at once and is remembered after a reload;
//! Arabic reads right to left. The university page — signed out, signed in with its coverage, the
//! editor open — shows no English either. Screenshots: target/e2e/console-zh-*.png.
mod common;

use common::browser::Browser;
use common::dispatch::{add_interpreter, app_on, dispatch_settings};
use common::fixtures::chosen;
use common::redis::TestRedis;
use common::ws::{WsClient, OPERATOR, OPERATOR_PASSWORD};
use common::{spawn_app, test_settings, universities};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use hotline_bridge::app::AppState;
use hotline_bridge::domain::{InterpreterId, Level};
use serde_json::{json, Value};
use std::time::Duration;

const STEP: Duration = Duration::from_secs(30);
const LI_NA: &str = "Li Na";
/// Catalog strings that are the same in every language: the brand, the token's format.
const SHARED: [&str; 2] = ["hotline-bridge", "your-id.secret"];

/// The visible words of the page (text, titles, placeholders, labels of what is shown), checked
/// against the page's catalog: `{ english: [English strings found], missing: [keys of `expect`
/// whose Chinese string is absent] }`. An English string counts by its fragments between
/// placeholders that have at least four characters and three Latin letters in a row, unless it is
/// one of the `SHARED` words every language writes alike.
async fn words(b: &Browser, catalog: &str, expect: &[&str]) -> Value {
    let script = format!(
        "const {{ STRINGS }} = await import('/i18n/{catalog}.js');
         const shown = (el) => !el.closest('[hidden]') && el.getClientRects().length > 0;
         const parts = [document.title, document.body.innerText];
         for (const el of document.querySelectorAll('[title], [placeholder], [aria-label]')) {{
           if (!shown(el)) continue;
           parts.push(el.title || '', el.placeholder || '', el.getAttribute('aria-label') || '');
         }}
         const text = parts.join('\\n');
         const english = [];
         const SHARED = {shared};
         for (const [key, en] of Object.entries(STRINGS.en)) {{
           const zh = STRINGS.zh[key];
           for (const f of en.split(/\\{{\\w+\\}}/).map((s) => s.trim())) {{
             if (f.length < 4 || !/[A-Za-z]{{3}}/.test(f) || SHARED.includes(f)) continue;
             if (text.includes(f)) english.push(`${{key}}: ${{f}}`);
           }}
         }}
         const expect = {expect};
         const longest = (s) => s.split(/\\{{\\w+\\}}/).map((f) => f.trim()).sort((a, b) => b.length - a.length)[0];
         const missing = expect.filter((k) => !text.includes(longest(STRINGS.zh[k])));
         return {{ english, missing, lang: document.documentElement.lang }};",
        expect = json!(expect),
        shared = json!(SHARED),
    );
    b.eval(&script).await
}

/// Checks one state of a page and saves its screenshot; failures are collected, not fatal, so
/// one run reports every state that shows English.
async fn check(
    b: &Browser,
    catalog: &str,
    state: &str,
    expect: &[&str],
    failures: &mut Vec<String>,
) {
    b.screenshot(&format!("console-zh-{catalog}-{state}")).await;
    let v = words(b, catalog, expect).await;
    if v["lang"] != "zh" {
        failures.push(format!("{catalog} {state}: page language {}", v["lang"]));
    }
    if v["english"] != json!([]) {
        failures.push(format!(
            "{catalog} {state}: English shown: {}",
            v["english"]
        ));
    }
    if v["missing"] != json!([]) {
        failures.push(format!(
            "{catalog} {state}: Chinese missing for {}",
            v["missing"]
        ));
    }
}

/// Presses `key` (a letter) on the page, wherever the focus is.
async fn press(b: &Browser, key: char) {
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    b.client.perform_actions(keys).await.expect("key press");
}

const OPERATOR_ONLINE: &str =
    "!document.getElementById('console').hidden && document.getElementById('link').dataset.state === 'online'";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consoles_speak_chinese_to_a_chinese_hotline() {
    let redis = TestRedis::start();
    let mut settings = dispatch_settings();
    settings.dispatch.predispatch = false;
    settings.dispatch.ring_timeout_s = 120;
    let app = app_on(&redis, settings).await;
    let token = add_interpreter(&app, "lina", &["pt"], Level::Native).await;
    let iid = InterpreterId::parse("lina").expect("id");
    let mut profile = app
        .state
        .pool
        .profile(&iid)
        .await
        .expect("pool")
        .expect("lina");
    profile.name = LI_NA.into();
    app.state.pool.upsert(&profile).await.expect("upsert");
    let mut failures = Vec::new();

    // ---- The operator logs in. ----
    let op = Browser::launch("zh-CN,zh,en", None).await;
    op.client.goto(&app.url("/operator")).await.expect("goto");
    op.wait_for(
        "operator page in Chinese",
        "document.documentElement.lang === 'zh'",
        STEP,
    )
    .await;
    check(
        &op,
        "operator",
        "login",
        &["login_h", "name", "password"],
        &mut failures,
    )
    .await;
    op.type_into("#name", OPERATOR).await;
    op.type_into("#password", OPERATOR_PASSWORD).await;
    op.click("#login-form button[type=submit]").await;
    op.wait_for("operator logged in", OPERATOR_ONLINE, STEP)
        .await;
    check(
        &op,
        "operator",
        "idle",
        &["queue_h", "queue_empty", "no_call", "link_online"],
        &mut failures,
    )
    .await;

    // ---- The interpreter signs in and goes available. ----
    let it = Browser::launch("zh-CN,zh,en", None).await;
    it.client
        .goto(&app.url("/interpreter"))
        .await
        .expect("goto");
    it.wait_for(
        "interpreter page in Chinese",
        "document.documentElement.lang === 'zh'",
        STEP,
    )
    .await;
    check(
        &it,
        "interpreter",
        "signin",
        &["signin_h", "token_label", "sign_in"],
        &mut failures,
    )
    .await;
    it.type_into("#token", &token).await;
    it.click("#signin-form button[type=submit]").await;
    it.wait_for(
        "interpreter signed in",
        "!document.getElementById('console').hidden",
        STEP,
    )
    .await;
    check(
        &it,
        "interpreter",
        "signed-in",
        &["status_h", "go_available", "log_h"],
        &mut failures,
    )
    .await;
    it.click("#go-available").await;
    it.wait_for(
        "interpreter available",
        "document.getElementById('status').dataset.status === 'available'",
        STEP,
    )
    .await;
    check(
        &it,
        "interpreter",
        "available",
        &["status_available"],
        &mut failures,
    )
    .await;

    // ---- A Portuguese caller waits; the operator answers with the keyboard. ----
    let (call, call_token) = app.state.calls.create(chosen("pt"));
    let call_id = call.id().to_string();
    let mut caller = WsClient::connect(app.addr).await;
    caller
        .send(json!({"type": "hello", "token": call_token, "call_id": call_id}))
        .await;
    caller.wait_for("joined").await;
    op.wait_for(
        "call queued",
        "document.querySelector('#queue tbody tr button')",
        STEP,
    )
    .await;
    check(
        &op,
        "operator",
        "queue",
        &["answer", "col_language", "source_chosen"],
        &mut failures,
    )
    .await;
    let title = op
        .eval("return document.querySelector('#queue tbody tr button').title;")
        .await;
    assert_eq!(
        title, "接听队列中的第一个来电（A）",
        "the shortcut is shown"
    );
    press(&op, 'a').await;
    op.wait_for(
        "call answered",
        "window.hotline.call && window.hotline.call.state === 'answered' && !document.getElementById('call').hidden",
        STEP,
    )
    .await;
    check(
        &op,
        "operator",
        "answered",
        &["call_h", "hold", "hang_up", "dispatch_add", "role_caller"],
        &mut failures,
    )
    .await;

    // Typing in a field is typing, not a shortcut: "h" there does not put the call on hold.
    op.type_into("#invite-id", "h").await;
    op.eval("document.getElementById('invite-id').blur(); return 1;")
        .await;
    let held = op.eval("return !!window.hotline.call.hold;").await;
    assert_eq!(
        held,
        json!(false),
        "a key typed in a field is not a shortcut"
    );

    // ---- "Add interpreter" by its shortcut: both consoles ring. ----
    press(&op, 'i').await;
    op.wait_for(
        "operator sees ringing",
        "document.querySelector('#dispatch-lines li[data-event=ringing]')",
        STEP,
    )
    .await;
    it.wait_for(
        "interpreter rings",
        "!document.getElementById('ringing').hidden",
        STEP,
    )
    .await;
    let ringing = op
        .eval(
            "return document.querySelector('#dispatch-lines li[data-event=ringing]').textContent;",
        )
        .await;
    let ringing = ringing.as_str().unwrap_or_default();
    assert!(
        ringing.starts_with("正在呼叫 Li Na（bfsu, 母语, 葡萄牙语）"),
        "the ringing line is worded in Chinese: {ringing}"
    );
    check(
        &op,
        "operator",
        "ringing",
        &["p_ringing", "dispatch_cancel"],
        &mut failures,
    )
    .await;
    check(
        &it,
        "interpreter",
        "ringing",
        &["ring_h", "caller_waited", "accept", "decline"],
        &mut failures,
    )
    .await;
    let tab = it.eval("return document.title;").await;
    assert!(
        tab.as_str()
            .unwrap_or_default()
            .starts_with("☎ Português (pt) — 来电中"),
        "the ringing tab title: {tab}"
    );

    // ---- She accepts: joined on both sides. ----
    it.click("#accept").await;
    it.wait_for(
        "interpreter in the call",
        "!document.getElementById('in-call').hidden",
        STEP,
    )
    .await;
    op.wait_for(
        "operator sees the interpreter join",
        "document.querySelector('#dispatch-lines li[data-event=accepted]') \
         && document.querySelector('#participants li[data-role=interpreter]')",
        STEP,
    )
    .await;
    check(
        &op,
        "operator",
        "joined",
        &["p_accepted", "dispatch_remove", "role_interpreter"],
        &mut failures,
    )
    .await;
    check(
        &it,
        "interpreter",
        "in-call",
        &["call_h", "leave", "role_operator"],
        &mut failures,
    )
    .await;

    // ---- She leaves: the panel says so, by name. ----
    it.click("#leave").await;
    op.wait_for(
        "operator told the interpreter left",
        "document.querySelector('#dispatch-lines li[data-event=left]')",
        STEP,
    )
    .await;
    let left = op
        .eval("return document.querySelector('#dispatch-lines li[data-event=left]').textContent;")
        .await;
    assert_eq!(left, "Li Na 已离开通话");
    it.wait_for(
        "interpreter in wrap-up",
        "document.getElementById('status').dataset.status === 'wrap_up'",
        STEP,
    )
    .await;
    check(
        &op,
        "operator",
        "left",
        &["p_left", "dispatch_add"],
        &mut failures,
    )
    .await;
    check(
        &it,
        "interpreter",
        "wrap-up",
        &["wrap_h", "status_wrap_up", "left_you"],
        &mut failures,
    )
    .await;

    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // ---- The switch: English at once, and still English after a reload. ----
    op.eval(
        "const s = document.getElementById('ui-language');
         s.value = 'en'; s.dispatchEvent(new Event('change')); return 1;",
    )
    .await;
    op.wait_for(
        "operator switched to English",
        "document.documentElement.lang === 'en' \
         && document.querySelector('#dispatch-lines li[data-event=left]').textContent === 'Li Na left the call' \
         && document.getElementById('hang-up').textContent === 'Hang up'",
        STEP,
    )
    .await;
    op.client.refresh().await.expect("reload");
    op.wait_for(
        "English remembered",
        &format!("document.documentElement.lang === 'en' && {OPERATOR_ONLINE}"),
        STEP,
    )
    .await;
    op.screenshot("console-zh-operator-switched-to-english")
        .await;

    // Arabic, offered to interpreters, reads right to left.
    it.eval(
        "const s = document.getElementById('ui-language');
         s.value = 'ar'; s.dispatchEvent(new Event('change')); return 1;",
    )
    .await;
    it.wait_for(
        "interpreter console in Arabic",
        "document.documentElement.dir === 'rtl' && document.getElementById('go-available').textContent === 'متاح'",
        STEP,
    )
    .await;
    it.screenshot("console-zh-interpreter-switched-to-arabic")
        .await;

    op.close().await;
    it.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_university_page_speaks_chinese_to_a_chinese_coordinator() {
    let mut settings = test_settings();
    let keys = universities::with_keys(&mut settings, &["bfsu"]);
    let app = spawn_app(AppState::in_memory(settings)).await;
    let mut failures = Vec::new();
    let b = Browser::launch("zh-CN,zh,en", None).await;
    b.client.goto(&app.url("/university")).await.expect("goto");
    b.wait_for(
        "sign-in form in Chinese",
        "document.documentElement.lang === 'zh' && !document.getElementById('signin').hidden",
        STEP,
    )
    .await;
    check(
        &b,
        "university",
        "signin",
        &["signin_h", "signin_intro", "api_key"],
        &mut failures,
    )
    .await;
    b.type_into("#api-key", &keys["bfsu"]).await;
    b.click("#signin-form button[type=submit]").await;
    b.wait_for(
        "signed in with the coverage drawn",
        "!document.getElementById('app').hidden && document.querySelector('#heatmap table')",
        STEP,
    )
    .await;
    check(
        &b,
        "university",
        "signed-in",
        &[
            "team_h",
            "team_empty",
            "coverage_h",
            "scope_all",
            "legend_title",
        ],
        &mut failures,
    )
    .await;
    b.click("#add").await;
    b.wait_for(
        "editor open",
        "!document.getElementById('editor').hidden",
        STEP,
    )
    .await;
    check(
        &b,
        "university",
        "editor",
        &[
            "editor_add",
            "week_legend",
            "week_hint",
            "preset_office",
            "choose_language",
        ],
        &mut failures,
    )
    .await;
    let monday = b
        .eval("return document.querySelector('#week-grid [role=rowheader]').textContent;")
        .await;
    assert_eq!(monday, "周一", "day names in Chinese");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    b.close().await;
}
