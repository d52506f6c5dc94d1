//! The interpreter console in real headless Chromium, served by node B, takes a call living on
//! node A (two nodes on one real redis-server; node A lists node B's page origin in
//! `server.allowed_origins`). The console opens a second signalling session to node A (the
//! `ws_url` of `invited`), enters the call there with the browser's microphone: the caller's test
//! peer hears the interpreter and the page hears caller and operator. After Leave, node B's page
//! shows wrap-up, then available, and the call's session is closed.
use crate::common;

use common::browser::{speech_wav, Browser};
use common::dispatch::{
    add_interpreter, answered_call, app_on, app_on_listener, call_view, join_media,
    on_request_settings, WAIT,
};
use common::redis::TestRedis;
use hotline_bridge::api::messages::CallState;
use hotline_bridge::domain::{Level, Role};
use hotline_bridge::sfu::peer::PeerConfig;
use serde_json::json;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(30);
const CALLER_TAG: u32 = 1;
const OPERATOR_TAG: u32 = 2;
/// Packets (50 per second) that prove a stream flows.
const FLOWING: u64 = 25;

fn settings() -> hotline_bridge::config::Settings {
    let mut s = on_request_settings();
    s.dispatch.ring_timeout_s = 30;
    s.dispatch.wrap_up_s = 2;
    s
}

/// Packets the interpreter page has received from participants of `role` (its getStats).
fn page_heard(role: &str) -> String {
    format!(
        "const h = window.hotline;
         if (!h.media || !h.call) return 0;
         const roles = {{}};
         for (const p of h.call.participants) roles[p.id] = p.role;
         const s = await h.media.stats();
         return s.inbound.filter(i => roles[i.participant] === '{role}')
             .reduce((n, i) => n + (i.packetsReceived || 0), 0);"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_on_node_b_joins_a_call_on_node_a_with_its_microphone() {
    let redis = TestRedis::start();
    // Each node names the other in allowed_origins: A lets B's pages open its socket, and B's
    // pages may connect to A under B's Content-Security-Policy.
    let a_listener = common::bind().await;
    let mut on_b = settings();
    let a_addr = a_listener.local_addr().expect("addr");
    on_b.server.allowed_origins = vec![format!("http://{a_addr}")];
    let b = app_on(&redis, on_b).await;
    let mut on_a = settings();
    on_a.server.allowed_origins = vec![format!("http://{}", b.addr)];
    let a = app_on_listener(&redis, on_a, a_listener).await;
    let token = add_interpreter(&b, "li-na", &["fr"], Level::Professional).await;

    let voice = speech_wav(
        "xnode-interpreter",
        "fr",
        "Bonjour, je suis votre interprète.",
    );
    let page = Browser::launch("fr-FR,fr", Some(&voice)).await;
    page.client
        .goto(&b.url("/interpreter"))
        .await
        .expect("goto");
    page.type_into("#token", &token).await;
    page.click("#signin-form button[type=submit]").await;
    page.wait_for(
        "signed in",
        "!document.getElementById('console').hidden",
        STEP,
    )
    .await;
    page.click("#go-available").await;
    page.wait_for(
        "available",
        "document.getElementById('status').dataset.status === 'available'",
        STEP,
    )
    .await;

    let config = PeerConfig::new().expect("peer config");
    let mut call = answered_call(&a, "fr").await;
    let caller = join_media(&mut call.caller, &config, CALLER_TAG).await;
    let _operator = join_media(&mut call.operator, &config, OPERATOR_TAG).await;
    call.operator
        .send(json!({"type": "request_interpreter"}))
        .await;
    page.wait_for("rings", "!document.getElementById('ringing').hidden", STEP)
        .await;
    page.click("#accept").await;
    page.wait_for(
        "in the call over a session to node A",
        &format!(
            "!document.getElementById('in-call').hidden && window.hotline.callSig \
             && window.hotline.callSig.url === 'ws://{}/ws' \
             && window.hotline.call && window.hotline.call.state === 'interpreted'",
            a.addr
        ),
        STEP,
    )
    .await;
    page.screenshot("xnode-interpreter-in-call").await;
    let view = call_view(&a, &call.call_id).await;
    assert_eq!(view.state, CallState::Interpreted);
    assert!(view
        .participants
        .iter()
        .any(|p| p.role == Role::Interpreter));

    // The caller hears the browser's microphone (the only audio without a test marker) …
    let deadline = tokio::time::Instant::now() + STEP;
    let mut unmarked = 0;
    while unmarked < FLOWING {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the caller should hear the interpreter: {unmarked} packets"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        unmarked += caller.take().unmarked;
    }
    // … and the page hears caller and operator (its getStats, polled).
    for role in ["caller", "operator"] {
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            let n = page.eval(&page_heard(role)).await.as_u64().unwrap_or(0);
            if n >= FLOWING {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the page should hear the {role}: {n} packets"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    page.click("#leave").await;
    page.wait_for(
        "left, the call's session closed",
        "document.getElementById('in-call').hidden && window.hotline.callSig === null",
        STEP,
    )
    .await;
    page.wait_for(
        "wrap-up on node B's page",
        "document.getElementById('status').dataset.status === 'wrap_up'",
        WAIT,
    )
    .await;
    page.wait_for(
        "available again on node B's page",
        "document.getElementById('status').dataset.status === 'available'",
        STEP,
    )
    .await;
    page.screenshot("xnode-interpreter-available-again").await;
    page.close().await;
}
