//! The /university page in a real headless Chromium: sign in with the API key, add an
//! interpreter with a wrong time zone and see the error next to that field, fix it, get the
//! personal token once, and see the interpreter's hours appear in the coverage heat map.
use crate::common;

use common::browser::Browser;
use common::{spawn_app, test_settings, universities};
use hotline_bridge::app::AppState;
use hotline_bridge::auth;
use hotline_bridge::domain::InterpreterId;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_university_adds_an_interpreter_and_sees_the_coverage_change() {
    let mut settings = test_settings();
    let keys = universities::with_keys(&mut settings, &["bfsu"]);
    let app = spawn_app(AppState::in_memory(settings)).await;
    let b = Browser::launch("en-US,en", None).await;

    b.client.goto(&app.url("/university")).await.expect("goto");
    b.wait_for(
        "sign-in form",
        "!document.getElementById('signin').hidden",
        STEP,
    )
    .await;
    b.type_into("#api-key", "not-the-key").await;
    b.click("#signin-form button[type=submit]").await;
    b.wait_for(
        "wrong key refused",
        "document.getElementById('api-key-error').textContent.includes('not valid')",
        STEP,
    )
    .await;
    b.type_into("#api-key", &keys["bfsu"]).await;
    b.click("#signin-form button[type=submit]").await;
    b.wait_for(
        "signed in",
        "!document.getElementById('app').hidden && document.querySelector('table.heatmap')",
        STEP,
    )
    .await;
    b.select("#coverage-tz", "UTC").await;
    let ja_before = b
        .eval("return document.querySelectorAll('tr[data-language=ja] td.gap').length;")
        .await;
    assert_eq!(
        ja_before, 168,
        "an empty pool leaves Japanese uncovered all week"
    );

    // Add an interpreter with a wrong time zone: the error appears next to that field.
    b.click("#add").await;
    b.type_into("#f-name", "Sato Haruka").await;
    b.type_into("#f-id", "bfsu-ja-01").await;
    b.select("#f-languages .lang-code", "ja").await;
    b.type_into("#f-timezone", "Mars/Base").await;
    for hour in 0..8 {
        b.click(&format!(".wg-cell[data-i=\"{hour}\"]")).await;
    }
    b.click("#save").await;
    b.wait_for(
        "time zone error",
        "document.getElementById('err-timezone').textContent.includes('Mars/Base')",
        STEP,
    )
    .await;
    assert_eq!(
        b.eval("return document.activeElement.id;").await,
        "f-timezone"
    );
    assert!(app.state.pool.profiles().await.expect("pool").is_empty());
    b.screenshot("university-error").await;

    // Fix it: UTC, Monday 00:00-08:00 on the grid.
    b.type_into("#f-timezone", "UTC").await;
    b.click("#save").await;
    b.wait_for(
        "token shown",
        "!document.getElementById('token-panel').hidden",
        STEP,
    )
    .await;
    let token = b
        .eval("return document.getElementById('token-value').value;")
        .await;
    let token = token.as_str().expect("token").to_owned();
    assert!(token.starts_with("bfsu-ja-01."), "{token}");
    let id = InterpreterId::parse("bfsu-ja-01").expect("id");
    let stored = app
        .state
        .pool
        .profile(&id)
        .await
        .expect("pool")
        .expect("stored");
    assert!(auth::matches_sha256(
        &token,
        stored.token_sha256.as_deref().expect("hash")
    ));
    assert_eq!(stored.schedule.shifts.len(), 1);
    assert_eq!(stored.schedule.shifts[0].to_string(), "mon 00:00-08:00");
    b.screenshot("university-token").await;

    b.click("#token-done").await;
    b.wait_for("token gone", "document.getElementById('token-panel').hidden && document.getElementById('token-value').value === ''", STEP).await;
    b.wait_for(
        "listed",
        "document.querySelector('#team tbody tr[data-id=\"bfsu-ja-01\"]')",
        STEP,
    )
    .await;
    b.wait_for(
        "coverage updated",
        "document.querySelectorAll('tr[data-language=ja] td.gap').length === 160 && document.querySelectorAll('tr[data-language=ja] td.l1').length === 8",
        STEP,
    )
    .await;
    let page = b.eval("return document.body.innerHTML;").await;
    assert!(
        !page.as_str().expect("html").contains(&token[11..]),
        "the token stays on the page"
    );
    b.screenshot("university").await;
    b.close().await;
}

/// The editor's "Ringing" part: a phone number is kept; asking for the phone where the hotline
/// has no outbound trunk is refused next to the choice, saying why; with a trunk it is saved and
/// the list says how the interpreter is rung.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_university_sets_how_an_interpreter_is_rung() {
    for with_trunk in [false, true] {
        let mut settings = test_settings();
        let keys = universities::with_keys(&mut settings, &["bfsu"]);
        if with_trunk {
            common::sipp::sip_settings(&mut settings, &["127.0.0.1"]);
            settings.sip.outbound_trunk = "pbx".into();
            if let Some(t) = settings.sip.trunks.get_mut("pbx") {
                t.dial = "127.0.0.1:5060".into();
            }
        }
        let app = spawn_app(AppState::in_memory(settings)).await;
        let b = Browser::launch("en-US,en", None).await;
        b.client.goto(&app.url("/university")).await.expect("goto");
        b.wait_for(
            "sign-in form",
            "!document.getElementById('signin').hidden",
            STEP,
        )
        .await;
        b.type_into("#api-key", &keys["bfsu"]).await;
        b.click("#signin-form button[type=submit]").await;
        b.wait_for("signed in", "!document.getElementById('app').hidden", STEP)
            .await;

        b.click("#add").await;
        b.type_into("#f-name", "Ana Lima").await;
        b.type_into("#f-id", "bfsu-pt-01").await;
        b.select("#f-languages .lang-code", "pt").await;
        b.type_into("#f-timezone", "UTC").await;
        b.type_into("#f-phone", "+55 11 91234-5678").await;
        b.select("#f-ring", "phone").await;
        b.click("#save").await;
        let id = InterpreterId::parse("bfsu-pt-01").expect("id");
        if !with_trunk {
            b.wait_for(
                "ring refused, saying why",
                "document.getElementById('err-ring').textContent.includes('sip.outbound_trunk')",
                STEP,
            )
            .await;
            assert!(app.state.pool.profiles().await.expect("pool").is_empty());
            b.select("#f-ring", "app").await;
            b.click("#save").await;
        }
        b.wait_for(
            "token shown",
            "!document.getElementById('token-panel').hidden",
            STEP,
        )
        .await;
        let stored = app
            .state
            .pool
            .profile(&id)
            .await
            .expect("pool")
            .expect("stored");
        assert_eq!(
            stored.phone.as_ref().map(|n| n.as_str()),
            Some("+5511912345678")
        );
        b.click("#token-done").await;
        let note = "document.querySelector('#team tbody tr[data-id=\"bfsu-pt-01\"] .ring-note')";
        if with_trunk {
            assert_eq!(stored.ring.as_str(), "phone");
            b.wait_for(
                "the list says they are rung on the phone",
                &format!("{note} && {note}.textContent.includes('+5511912345678')"),
                STEP,
            )
            .await;
            b.screenshot("university-phone").await;
        } else {
            assert_eq!(stored.ring.as_str(), "app");
        }
        b.close().await;
    }
}
