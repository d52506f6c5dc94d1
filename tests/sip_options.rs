//! A trunk's health check, with sipp as the trunk: OPTIONS is answered 200 over UDP and over TCP,
//! and with 403 from an address that is no trunk's.
use crate::common;

use common::sipp::{self, sip_settings};
use common::{spawn_app, test_settings};
use hotline_bridge::app::AppState;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_from_a_trunk_is_answered_over_udp_and_tcp() {
    let mut s = test_settings();
    let bridge = sip_settings(&mut s, &["127.0.0.1"]);
    let _app = spawn_app(AppState::in_memory(s)).await;

    let run = sipp::run("options.xml", "127.0.0.1", bridge, "12345001", &[]).await;
    assert_eq!(run.code, 0, "200 over UDP:\n{}", run.log);
    let run = sipp::run(
        "options.xml",
        "127.0.0.1",
        bridge,
        "12345001",
        &["-t", "t1"],
    )
    .await;
    assert_eq!(run.code, 0, "200 over TCP:\n{}", run.log);
    let run = sipp::run("options.xml", "127.0.0.3", bridge, "12345001", &[]).await;
    assert_ne!(
        run.code, 0,
        "a stranger's OPTIONS is not answered 200:\n{}",
        run.log
    );
    assert!(run.log.contains("403"), "it gets 403:\n{}", run.log);
}
