//! The bridge behind a real SIP proxy: kamailio (tests/sip/kamailio.cfg) listens on 127.0.0.3 and
//! is the only trunk source the bridge accepts; sipp calls the proxy from 127.0.0.1, kamailio
//! record-routes and relays the INVITE, the call reaches the operator queue through it with the
//! language of the number dialled, and the phone's BYE, relayed by the proxy, ends the call. The
//! same sipp calling the bridge directly is refused (403): only the proxy is the trunk.
use crate::common;

use common::kamailio::Kamailio;
use common::sipp::{self, sip_settings};
use common::spawn_app;
use common::ws::{operator_login, operator_session, settings_with_operator};
use hotline_bridge::app::AppState;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(20);
const PROXY_IP: &str = "127.0.0.3";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_through_kamailio_is_queued_and_ended_by_the_phones_bye() {
    let mut s = settings_with_operator();
    let bridge = sip_settings(&mut s, &[PROXY_IP]);
    let app = spawn_app(AppState::in_memory(s)).await;
    let op_token = operator_login(&app.url("")).await;
    let mut console = operator_session(app.addr, &op_token).await;
    let mut live = app.state.calls.live_count();
    let proxy = Kamailio::start(PROXY_IP, bridge).await;

    let direct = sipp::run("invite_forbidden.xml", "127.0.0.1", bridge, "12345001", &[]).await;
    assert_eq!(
        direct.code, 0,
        "403 for sipp without the proxy:\n{}",
        direct.log
    );

    let phone = tokio::spawn(sipp::run(
        "uac_holds_then_hangs_up.xml",
        "127.0.0.1",
        proxy.addr,
        "12345001",
        &["-d", "2000"],
    ));
    let queued = tokio::time::timeout(STEP, async {
        loop {
            let q = console.wait_for("queue").await;
            if let Some(c) = q["calls"].as_array().and_then(|c| c.first()) {
                return c.clone();
            }
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "the call reached the queue through the proxy:\n{}",
            proxy.log()
        )
    });
    assert_eq!(queued["language"]["code"], "pt", "{queued}");
    assert_eq!(queued["phone"], "…5678", "{queued}");

    let run = tokio::time::timeout(STEP + sipp::SCENARIO_TIMEOUT, phone)
        .await
        .expect("sipp finishes")
        .expect("sipp task");
    assert_eq!(
        run.code,
        0,
        "200, ACK and BYE all went through the proxy:\n{}\n--- kamailio\n{}",
        run.log,
        proxy.log()
    );
    assert!(
        run.log.contains("Record-Route:"),
        "the proxy record-routed the dialog:\n{}",
        run.log
    );
    sipp::no_call_left(
        &mut live,
        STEP,
        "the phone's BYE through the proxy ended the call",
    )
    .await;
}
