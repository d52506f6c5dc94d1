//! The web story over HTTPS: the node serves its own test certificate (rcgen) on
//! https://127.0.0.1:<port>, and the three real Chromium browsers of `tests/e2e_story.rs` (a
//! pt-BR caller, the operator, an interpreter a university registers) go through it on that
//! origin, microphones and WSS included. In the middle of the three-way call the certificate
//! files are replaced: the node picks them up by itself, new connections get the new
//! certificate, and the call goes on with everyone hearing everyone.
use crate::common;
use crate::e2e_story;

use common::dispatch::app_on;
use common::redis::TestRedis;
use common::tls::TestCa;
use common::universities;
use common::ws::settings_with_operator;
use e2e_story::routes::EVERYONE;
use e2e_story::scenes::Story;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_three_way_story_runs_on_https_and_a_certificate_swap_keeps_the_call() {
    let _heavy = common::one_heavy_at_a_time().await;
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new();
    let (first_der, first) = ca.issue_with_spki(dir.path());
    // The next certificate's key is made now, so Chromium is told to accept these two keys only.
    let spare = tempfile::tempdir().expect("tempdir");
    let (second_der, second) = ca.issue_with_spki(spare.path());

    let mut settings = settings_with_operator();
    let keys = universities::with_keys(&mut settings, &["bfsu"]);
    settings.dispatch.predispatch = false;
    settings.dispatch.ring_timeout_s = 60;
    settings.dispatch.wrap_up_s = 4;
    settings.server.tls_cert = dir.path().join("cert.pem").to_string_lossy().into_owned();
    settings.server.tls_key = dir.path().join("key.pem").to_string_lossy().into_owned();
    settings.server.tls_check_ms = 200;
    let app = app_on(&redis, settings).await;
    assert!(app.url("/call").starts_with("https://127.0.0.1:"));
    let (_, presented) = ca.connect(app.addr).await;
    assert_eq!(presented, first_der.to_vec());

    let accept = format!("--ignore-certificate-errors-spki-list={first},{second}");
    let mut story = Story::begin_with(&app, &[accept]).await;
    let token = story
        .university_registers_the_interpreter(&keys["bfsu"])
        .await;
    story.interpreter_signs_in(&token).await;
    story.operator_logs_in().await;
    story.caller_calls().await;
    story.operator_answers().await;
    story.operator_adds_an_interpreter().await;
    story.interpreter_accepts().await;
    for page in [&story.caller, &story.operator, &story.interpreter] {
        let origin = page
            .b
            .eval("return [window.isSecureContext, location.origin];")
            .await;
        assert_eq!(origin[0], true, "{:?}: {origin}", page.who);
        assert_eq!(origin[1], format!("https://{}", app.addr), "{:?}", page.who);
    }

    // The renewal, renamed into place as certbot does; the node notices the files by itself.
    for file in ["cert.pem", "key.pem"] {
        let staged = dir.path().join(format!(".{file}.new"));
        std::fs::copy(spare.path().join(file), &staged).expect("stage");
        std::fs::rename(&staged, dir.path().join(file)).expect("rename");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, presented) = ca.connect(app.addr).await;
        if presented == second_der.to_vec() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the node still presents the old certificate 10 s after the swap"
        );
        // Polled: the reload is a file check on the node's timer, not an event the test sees.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    story.routes("after the certificate swap", EVERYONE).await;

    story.consult().await;
    story.hold_and_resume().await;
    story.caller_mutes_and_unmutes().await;
    story.interpreter_leaves().await;
    story.caller_hangs_up_and_rates().await;
    story.audit_tells_the_story().await;
    story.interpreter_is_back_after_wrap_up().await;
    // The HTTP story keeps target/e2e/story-report.txt; this one only closes its browsers.
    let Story {
        caller,
        operator,
        interpreter,
        ..
    } = story;
    for page in [caller, operator, interpreter] {
        page.b.close().await;
    }
}
