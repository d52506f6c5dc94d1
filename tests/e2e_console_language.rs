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
use crate::common;
// The page helpers, in tests/e2e_console_language/.
mod zh_page;

use common::dispatch::{app_on, on_request_settings};
use common::fixtures::{chosen, interpreter};
use common::redis::TestRedis;
use common::ws::{caller_in_call, OPERATOR, OPERATOR_PASSWORD};
use common::{spawn_app, test_settings, universities};
use hotline_bridge::app::AppState;
use hotline_bridge::domain::Level;
use serde_json::json;
use std::time::Duration;
use zh_page::{ZhPage, ZH};

const STEP: Duration = Duration::from_secs(30);
const LI_NA: &str = "Li Na";
const OPERATOR_ONLINE: &str =
    "!document.getElementById('console').hidden && document.getElementById('link').dataset.state === 'online'";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consoles_speak_chinese_to_a_chinese_hotline() {
    let redis = TestRedis::start();
    let mut settings = on_request_settings();
    settings.dispatch.ring_timeout_s = 120;
    let app = app_on(&redis, settings).await;
    let token = "lina.personal-secret";
    let lina = interpreter("lina").name(LI_NA).speaks("pt", Level::Native);
    let lina = lina.always_on_shift().token(token).build();
    app.state.pool.upsert(&lina).await.expect("upsert");

    // ---- The operator logs in. ----
    let op = ZhPage::open(
        app.url("/operator"),
        "operator",
        "operator page in Chinese",
        ZH,
    )
    .await;
    op.check("login", &["login_h", "name", "password"]).await;
    op.type_into("#name", OPERATOR).await;
    op.type_into("#password", OPERATOR_PASSWORD).await;
    op.click("#login-form button[type=submit]").await;
    op.wait_for("operator logged in", OPERATOR_ONLINE, STEP)
        .await;
    op.check(
        "idle",
        &["queue_h", "queue_empty", "no_call", "link_online"],
    )
    .await;

    // ---- The interpreter signs in and goes available. ----
    let it = ZhPage::open(
        app.url("/interpreter"),
        "interpreter",
        "interpreter page in Chinese",
        ZH,
    )
    .await;
    it.check("signin", &["signin_h", "token_label", "sign_in"])
        .await;
    it.type_into("#token", token).await;
    it.click("#signin-form button[type=submit]").await;
    it.wait_for(
        "interpreter signed in",
        "!document.getElementById('console').hidden",
        STEP,
    )
    .await;
    it.check("signed-in", &["status_h", "go_available", "log_h"])
        .await;
    it.click("#go-available").await;
    it.wait_for(
        "interpreter available",
        "document.getElementById('status').dataset.status === 'available'",
        STEP,
    )
    .await;
    it.check("available", &["status_available"]).await;

    // ---- A Portuguese caller waits; the operator answers with the keyboard. ----
    let (call, call_token) = app.state.calls.create(chosen("pt"));
    let call_id = call.id().to_string();
    let _caller = caller_in_call(app.addr, &call_id, &call_token).await;
    op.wait_for(
        "call queued",
        "document.querySelector('#queue tbody tr button')",
        STEP,
    )
    .await;
    op.check("queue", &["answer", "col_language", "source_chosen"])
        .await;
    let title = op
        .eval("return document.querySelector('#queue tbody tr button').title;")
        .await;
    assert_eq!(
        title, "接听队列中的第一个来电（A）",
        "the shortcut is shown"
    );
    op.press('a').await;
    op.wait_for(
        "call answered",
        "window.hotline.call && window.hotline.call.state === 'answered' && !document.getElementById('call').hidden",
        STEP,
    )
    .await;
    op.check(
        "answered",
        &["call_h", "hold", "hang_up", "dispatch_add", "role_caller"],
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
    op.press('i').await;
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
    op.check("ringing", &["p_ringing", "dispatch_cancel"]).await;
    it.check("ringing", &["ring_h", "caller_waited", "accept", "decline"])
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
    op.check(
        "joined",
        &["p_accepted", "dispatch_remove", "role_interpreter"],
    )
    .await;
    it.check("in-call", &["call_h", "leave", "role_operator"])
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
    op.check("left", &["p_left", "dispatch_add"]).await;
    it.check("wrap-up", &["wrap_h", "status_wrap_up", "left_you"])
        .await;

    // ---- Hold and take the caller back with H. ----
    op.press('h').await;
    op.wait_for(
        "held by its shortcut",
        "window.hotline.call && window.hotline.call.hold === true \
         && document.getElementById('hold').getAttribute('aria-pressed') === 'true'",
        STEP,
    )
    .await;
    op.press('h').await;
    op.wait_for(
        "taken back by its shortcut",
        "window.hotline.call && !window.hotline.call.hold",
        STEP,
    )
    .await;

    let failures = [op.failures(), it.failures()].concat();
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

    // ---- A plain X does nothing; Shift+X hangs up, and the call ends for the caller too. ----
    op.press('x').await;
    op.press('h').await;
    op.wait_for(
        "H still reaches the call after a plain X",
        "window.hotline.call && window.hotline.call.hold === true",
        STEP,
    )
    .await;
    op.press_shifted('X').await;
    op.wait_for(
        "hung up by Shift+X",
        "window.hotline.call === null && document.getElementById('call').hidden",
        STEP,
    )
    .await;
    // The call's task answers with its last view, or is gone once it has ended.
    if let Ok(view) = call.view().await {
        assert_eq!(
            view.state,
            hotline_bridge::api::messages::CallState::Ended,
            "the call ended"
        );
    }

    op.close().await;
    it.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_university_page_speaks_chinese_to_a_chinese_coordinator() {
    let mut settings = test_settings();
    let keys = universities::with_keys(&mut settings, &["bfsu"]);
    let app = spawn_app(AppState::in_memory(settings)).await;
    let signin = format!("{ZH} && !document.getElementById('signin').hidden");
    let b = ZhPage::open(
        app.url("/university"),
        "university",
        "sign-in form in Chinese",
        &signin,
    )
    .await;
    b.check("signin", &["signin_h", "signin_intro", "api_key"])
        .await;
    b.type_into("#api-key", &keys["bfsu"]).await;
    b.click("#signin-form button[type=submit]").await;
    b.wait_for(
        "signed in with the coverage drawn",
        "!document.getElementById('app').hidden && document.querySelector('#heatmap table')",
        STEP,
    )
    .await;
    b.check(
        "signed-in",
        &[
            "team_h",
            "team_empty",
            "coverage_h",
            "scope_all",
            "legend_title",
        ],
    )
    .await;
    b.click("#add").await;
    b.wait_for(
        "editor open",
        "!document.getElementById('editor').hidden",
        STEP,
    )
    .await;
    b.check(
        "editor",
        &[
            "editor_add",
            "week_legend",
            "week_hint",
            "preset_office",
            "choose_language",
        ],
    )
    .await;
    let monday = b
        .eval("return document.querySelector('#week-grid [role=rowheader]').textContent;")
        .await;
    assert_eq!(monday, "周一", "day names in Chinese");
    let failures = b.failures();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    b.close().await;
}
