//! The interpreter and operator consoles in real headless Chromium, when things go wrong: a wrong
//! or expired personal token, a ring (the tab's title says so until it ends), an offer another
//! interpreter took first, the connection lost and regained, a wrong operator password and an
//! expired operator session. Each page must say what happened in plain words and recover where
//! it can. Real redis-server; the consoles reach the
//! service through a TCP proxy whose link the test cuts.
use crate::common;

use common::browser::Browser;
use common::dispatch::{
    add_interpreter, answered_call, app_on, dispatch_settings, on_request_settings,
};
use common::proxy::CutProxy;
use common::redis::TestRedis;
use common::ws::{OPERATOR, OPERATOR_PASSWORD};
use hotline_bridge::domain::{InterpreterId, Level};
use serde_json::json;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(20);

async fn sign_in(b: &Browser, token: &str) {
    b.type_into("#token", token).await;
    b.click("#signin-form button[type=submit]").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_interpreter_console_explains_what_went_wrong_and_recovers() {
    let redis = TestRedis::start();
    let mut settings = on_request_settings();
    settings.dispatch.parallel_offers = 2;
    settings.dispatch.ring_timeout_s = 60;
    let app = app_on(&redis, settings).await;
    let proxy = CutProxy::start(app.addr).await;
    let ana_token = add_interpreter(&app, "ana", &["pt"], Level::Native).await;
    let bea_token = add_interpreter(&app, "bea", &["pt"], Level::Native).await;

    let ana = Browser::launch("en-US,en", None).await;
    ana.client
        .goto(&proxy.url("/interpreter"))
        .await
        .expect("goto");

    // Not a token at all: said before anything is sent.
    sign_in(&ana, "no-dot-here").await;
    ana.wait_for(
        "malformed token",
        "document.getElementById('signin-error').textContent.includes('looks like your-id.secret')",
        STEP,
    )
    .await;
    // A wrong token: refused by the service, said plainly.
    sign_in(&ana, "ana.not-the-secret").await;
    ana.wait_for(
        "wrong token",
        "document.getElementById('signin-error').textContent.includes('wrong or has expired') \
         && document.getElementById('console').hidden",
        STEP,
    )
    .await;
    ana.screenshot("console-interpreter-wrong-token").await;

    sign_in(&ana, &ana_token).await;
    ana.wait_for(
        "signed in",
        "!document.getElementById('console').hidden",
        STEP,
    )
    .await;
    ana.click("#go-available").await;
    ana.wait_for(
        "ana available",
        "document.getElementById('status').dataset.status === 'available'",
        STEP,
    )
    .await;

    let bea = Browser::launch("en-US,en", None).await;
    bea.client
        .goto(&app.url("/interpreter"))
        .await
        .expect("goto");
    sign_in(&bea, &bea_token).await;
    bea.wait_for(
        "bea signed in",
        "!document.getElementById('console').hidden",
        STEP,
    )
    .await;
    bea.click("#go-available").await;
    bea.wait_for(
        "bea available",
        "document.getElementById('status').dataset.status === 'available'",
        STEP,
    )
    .await;

    // Two consoles ring at once (parallel offers); Bea accepts first; Ana is told it was taken.
    let mut call = answered_call(&app, "pt").await;
    call.operator
        .send(json!({"type": "request_interpreter"}))
        .await;
    for (b, who) in [(&ana, "ana"), (&bea, "bea")] {
        b.wait_for(
            &format!("{who} rings"),
            "!document.getElementById('ringing').hidden \
             && document.getElementById('status').dataset.status === 'offered' \
             && document.title.startsWith('☎ Português (pt) — ringing')",
            STEP,
        )
        .await;
    }
    ana.axe("/interpreter while ringing").await;
    bea.click("#accept").await;
    ana.wait_for(
        "offer taken",
        "document.getElementById('ringing').hidden \
         && !document.getElementById('banner').hidden \
         && document.getElementById('banner').textContent.includes('taken by another interpreter') \
         && document.title === 'Interpreter console · hotline-bridge'",
        STEP,
    )
    .await;
    ana.wait_for(
        "ana still available",
        "document.getElementById('status').dataset.status === 'available'",
        STEP,
    )
    .await;
    ana.screenshot("console-interpreter-offer-taken").await;
    bea.wait_for(
        "bea in the call",
        "!document.getElementById('in-call').hidden",
        STEP,
    )
    .await;
    bea.axe("/interpreter in a call").await;

    // The network drops: the console says so and reconnects by itself when it is back.
    proxy.cut();
    ana.wait_for(
        "connection lost",
        "document.getElementById('banner').textContent.includes('Connection lost') \
         && document.getElementById('link').dataset.state === 'reconnecting'",
        STEP,
    )
    .await;
    ana.screenshot("console-interpreter-reconnecting").await;
    proxy.restore();
    ana.wait_for(
        "reconnected",
        "document.getElementById('link').dataset.state === 'online' \
         && document.getElementById('banner').hidden \
         && document.getElementById('status').dataset.status === 'available'",
        STEP,
    )
    .await;

    // The university issues Ana a new token: the old one has expired. At her next connection
    // the console sends her back to sign in, saying why.
    let iid = InterpreterId::parse("ana").expect("id");
    let mut profile = app
        .state
        .pool
        .profile(&iid)
        .await
        .expect("pool")
        .expect("ana");
    profile.token_sha256 = Some(hotline_bridge::auth::sha256_hex("ana.a-new-secret"));
    app.state.pool.upsert(&profile).await.expect("upsert");
    proxy.cut();
    ana.wait_for(
        "connection lost again",
        "document.getElementById('link').dataset.state === 'reconnecting'",
        STEP,
    )
    .await;
    proxy.restore();
    ana.wait_for(
        "expired token",
        "!document.getElementById('signin').hidden \
         && document.getElementById('signin-error').textContent.includes('wrong or has expired')",
        STEP,
    )
    .await;
    ana.screenshot("console-interpreter-expired-token").await;

    ana.close().await;
    bea.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_console_explains_what_went_wrong_and_recovers() {
    let redis = TestRedis::start();
    let app = app_on(&redis, dispatch_settings()).await;
    let proxy = CutProxy::start(app.addr).await;
    let op = Browser::launch("zh-CN,zh,en", None).await;
    op.client.goto(&proxy.url("/operator")).await.expect("goto");

    op.type_into("#name", OPERATOR).await;
    op.type_into("#password", "not the password").await;
    op.click("#login-form button[type=submit]").await;
    op.wait_for(
        "wrong password",
        "document.getElementById('login-error').textContent === '用户名或密码错误。' \
         && document.getElementById('console').hidden",
        STEP,
    )
    .await;
    op.screenshot("console-operator-wrong-password").await;

    op.type_into("#password", OPERATOR_PASSWORD).await;
    op.click("#login-form button[type=submit]").await;
    op.wait_for(
        "logged in",
        "!document.getElementById('console').hidden \
         && document.getElementById('link').dataset.state === 'online'",
        STEP,
    )
    .await;

    proxy.cut();
    op.wait_for(
        "connection lost",
        "document.getElementById('link').dataset.state === 'reconnecting'",
        STEP,
    )
    .await;
    op.screenshot("console-operator-reconnecting").await;
    proxy.restore();
    op.wait_for(
        "reconnected",
        "document.getElementById('link').dataset.state === 'online'",
        STEP,
    )
    .await;

    // A session the service no longer knows (expired, or logged out elsewhere): back to login.
    op.eval("sessionStorage.setItem('hotline.operator.token', 'expired-session'); location.reload(); return 1;")
        .await;
    op.wait_for(
        "expired session",
        "document.readyState === 'complete' && !document.getElementById('login').hidden \
         && document.getElementById('console').hidden",
        STEP,
    )
    .await;
    op.close().await;
}
