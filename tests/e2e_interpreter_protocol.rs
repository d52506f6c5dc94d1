//! The interpreter protocol on the interpreter console, in real headless Chromium (zh-CN) on a
//! real redis-server with an SQLite record: the operator files the case's category and asks for
//! an interpreter with a one-line brief; the ringing console shows the brief and the call's job
//! number before Li Na accepts; in the call it shows the job number, the caller's language, the
//! case's category, the brief and the call's elapsed time, ticking. Screenshots:
//! target/e2e/protocol-*.png (each also checked by axe-core).
use crate::common;

use common::browser::{speech_wav, Browser};
use common::dispatch::{add_interpreter, answered_call, on_request_settings};
use common::redis::TestRedis;
use common::spawn_app;
use common::ws::operator_login;
use hotline_bridge::app::build_state;
use hotline_bridge::domain::{job_number, CallId, Level};
use serde_json::json;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(30);
const BRIEF: &str = "行李在机场丢失，来电者很着急";
const CATEGORY: &str = "失物招领";

/// The text of `css` on the page.
async fn text(b: &Browser, css: &str) -> String {
    b.eval(&format!(
        "return document.querySelector({css:?}).textContent;"
    ))
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_interpreter_reads_the_brief_ringing_and_the_calls_facts_in_it() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = on_request_settings();
    settings.dispatch.ring_timeout_s = 60;
    settings.records.database = format!("sqlite://{}", dir.path().join("hotline.db").display());
    settings.redis.url = redis.url();
    let app = spawn_app(build_state(settings).await.expect("state")).await;
    let token = add_interpreter(&app, "li-na", &["pt"], Level::Native).await;

    let mic = speech_wav("protocol-interpreter", "en", "Hello, I am the interpreter.");
    let b = Browser::launch("zh-CN,zh", Some(&mic)).await;
    b.client.goto(&app.url("/interpreter")).await.expect("goto");
    b.type_into("#token", &token).await;
    b.click("#signin-form button[type=submit]").await;
    b.wait_for(
        "signed in",
        "!document.getElementById('console').hidden",
        STEP,
    )
    .await;
    b.click("#go-available").await;
    b.wait_for(
        "available",
        "document.getElementById('status').dataset.status === 'available'",
        STEP,
    )
    .await;

    // The operator answers (the case opens) and files its category.
    let mut call = answered_call(&app, "pt").await;
    let job = job_number(&CallId::parse(&call.call_id).expect("call id"));
    let number = tokio::time::timeout(STEP, async {
        loop {
            let v = call.operator.wait_for("call_state").await;
            if let Some(n) = v["call"]["case_number"].as_str() {
                return n.to_owned();
            }
        }
    })
    .await
    .expect("the case opens");
    let op = operator_login(&app.url("")).await;
    let r = reqwest::Client::new()
        .patch(app.url(&format!("/api/cases/{number}")))
        .bearer_auth(&op)
        .json(&json!({"category": CATEGORY}))
        .send()
        .await
        .expect("edit the case");
    assert_eq!(r.status(), 200, "category filed");

    call.operator
        .send(json!({"type": "request_interpreter", "brief": BRIEF}))
        .await;
    b.wait_for(
        "ringing with the brief",
        "!document.getElementById('ringing').hidden \
         && !document.getElementById('ring-brief-row').hidden",
        STEP,
    )
    .await;
    assert_eq!(text(&b, "#ring-brief").await, BRIEF);
    assert_eq!(text(&b, "#ring-job").await, job);
    b.screenshot("protocol-interpreter-ringing").await;

    b.click("#accept").await;
    b.wait_for(
        "in the call with its facts",
        "!document.getElementById('in-call').hidden \
         && !document.getElementById('call-category-row').hidden",
        STEP,
    )
    .await;
    assert_eq!(text(&b, "#call-job").await, job);
    assert_eq!(text(&b, "#call-category").await, CATEGORY);
    assert_eq!(text(&b, "#call-brief").await, BRIEF);
    let language = text(&b, "#call-language").await;
    assert!(language.contains("pt"), "the caller's language: {language}");
    // The elapsed time ticks by itself.
    let first = text(&b, "#call-elapsed").await;
    assert!(first.contains(':'), "elapsed time as m:ss: {first:?}");
    b.wait_for(
        "the call time ticks",
        &format!("document.getElementById('call-elapsed').textContent !== {first:?}"),
        STEP,
    )
    .await;
    b.screenshot("protocol-interpreter-in-call").await;
    b.close().await;
}
