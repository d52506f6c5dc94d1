//! Requests the bridge does not serve get the SIP error that says why, with sipp as the trunk:
//! REGISTER, SUBSCRIBE, MESSAGE and a REFER outside a dialog get 405 with Allow; a BYE for a
//! dialog that does not exist gets 481. None of them leaves a call behind. (Unauthenticated
//! INVITEs, 401/403, and an unreadable SDP, 400, are tests/sip_refusal.rs. A request whose From,
//! To, Via, CSeq or Call-ID the SIP stack cannot read is dropped by the stack unanswered, before
//! the edge sees it: it names no transaction a response could be matched to.)
use crate::common;

use common::sipp::{self, sip_settings};
use common::{spawn_app, test_settings};
use hotline_bridge::app::AppState;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn methods_we_do_not_serve_get_405_and_unknown_dialogs_481() {
    let mut s = test_settings();
    let bridge = sip_settings(&mut s, &["127.0.0.1"]);
    let app = spawn_app(AppState::in_memory(s)).await;

    let run = sipp::run("methods_refused.xml", "127.0.0.1", bridge, "12345001", &[]).await;
    assert_eq!(run.code, 0, "405, 405, 405, 405, 481:\n{}", run.log);
    assert!(
        run.log.contains("Allow: INVITE, ACK, CANCEL, BYE, OPTIONS"),
        "a 405 names what we do serve:\n{}",
        run.log
    );
    assert!(app.state.calls.live().is_empty(), "no call was created");
}
