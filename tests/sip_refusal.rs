//! Who may not call in, with sipp as the caller: an INVITE from an address that is no trunk's gets
//! 403 and is never answered, also when its Via claims (`received=`) the trunk's address; a digest trunk is challenged (401) and a wrong password gets 403,
//! the right one 200; a trunk's INVITE with a malformed SDP offer gets 400. No refused INVITE
//! leaves a call behind.
use crate::common;

use common::sipp::{self, sip_settings};
use common::{spawn_app, test_settings};
use hotline_bridge::app::AppState;
use hotline_bridge::config::sip::TrunkSettings;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_is_refused_and_a_malformed_offer_gets_400() {
    let mut s = test_settings();
    // The trunk is 127.0.0.2; sipp calls from 127.0.0.1 first.
    let bridge = sip_settings(&mut s, &["127.0.0.2"]);
    let app = spawn_app(AppState::in_memory(s)).await;

    let run = sipp::run("invite_forbidden.xml", "127.0.0.1", bridge, "12345001", &[]).await;
    assert_eq!(
        run.code, 0,
        "403 for a source that is no trunk's:\n{}",
        run.log
    );
    let run = sipp::run(
        "invite_spoofed_source.xml",
        "127.0.0.1",
        bridge,
        "12345001",
        &[],
    )
    .await;
    assert_eq!(
        run.code, 0,
        "403 for a stranger whose Via claims the trunk's address:\n{}",
        run.log
    );
    let run = sipp::run("invite_malformed.xml", "127.0.0.2", bridge, "12345001", &[]).await;
    assert_eq!(run.code, 0, "400 for the trunk's broken SDP:\n{}", run.log);
    assert!(app.state.calls.live().is_empty(), "no call was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_trunk_needs_the_right_password() {
    let mut s = test_settings();
    let bridge = sip_settings(&mut s, &[]);
    s.sip.trunks.insert(
        "pbx".into(),
        TrunkSettings {
            sources: vec![],
            username: "pbx".into(),
            password: "right-horse-battery".into(),
            dial: String::new(),
        },
    );
    let app = spawn_app(AppState::in_memory(s)).await;

    let wrong = ["-au", "pbx", "-ap", "wrong"];
    let run = sipp::run(
        "invite_wrong_password.xml",
        "127.0.0.1",
        bridge,
        "12345001",
        &wrong,
    )
    .await;
    assert_eq!(
        run.code, 0,
        "401, then 403 for a wrong password:\n{}",
        run.log
    );
    assert!(app.state.calls.live().is_empty(), "no call was created");

    let mut live = app.state.calls.live_count();
    let right = ["-au", "pbx", "-ap", "right-horse-battery"];
    let run = sipp::run("invite_digest.xml", "127.0.0.1", bridge, "12345001", &right).await;
    assert_eq!(
        run.code, 0,
        "401, then 200 for the right password:\n{}",
        run.log
    );
    tokio::time::timeout(sipp::SCENARIO_TIMEOUT, live.wait_for(|n| *n == 0))
        .await
        .expect("the call ended with sipp's BYE")
        .expect("registry");
}
