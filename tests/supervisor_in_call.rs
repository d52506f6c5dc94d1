//! A supervisor in a live call, through the service's front door: logged in over HTTP, they list
//! the live calls, enter one over the WebSocket and send media from a real WebRTC test peer on
//! loopback. Listening, they hear caller, operator and interpreter and nobody hears them, and the
//! caller's view does not show them; whispering, only the operator hears them; barging in,
//! everyone does and the caller sees a supervisor. The operator's view names the supervisor and
//! the mode, and each change is in the audit stream. Only supervisors may do any of it.
use crate::common;

use common::dispatch::{hears_more, join_media};
use common::spawn_app;
use common::supervisors::{supervisor_login, with_supervisor};
use common::ws::{
    answer, caller_in_call, create_call, invited_interpreter, operator_login, operator_session,
    settings_with_operator, WsClient,
};
use hotline_bridge::app::AppState;
use hotline_bridge::domain::EventKind;
use hotline_bridge::sfu::peer::PeerConfig;
use hotline_bridge::testkit::TestPeer;
use serde_json::{json, Value};
use std::time::Duration;

/// Packets a source may still deliver after a change is applied (in flight, ~100 ms at 50/s),
/// beyond which it is heard when it must not be.
const IN_FLIGHT: u64 = 8;
/// How long a stream that must stay silent is watched (~25 packets if it flowed).
const QUIET_WINDOW: Duration = Duration::from_millis(500);

async fn state_where(ws: &mut WsClient, pred: impl Fn(&Value) -> bool) -> Value {
    loop {
        let v = ws.wait_for("call_state").await;
        if pred(&v["call"]) {
            return v["call"].clone();
        }
    }
}

fn supervisor_mode(view: &Value) -> Option<String> {
    view["participants"]
        .as_array()?
        .iter()
        .find(|p| p["role"] == "supervisor")
        .and_then(|p| p["supervision"].as_str().map(str::to_owned))
}

/// `listener` hears (almost) nothing from `tag` over the quiet window. A silence is not an event:
/// the window is watched after the change that causes it has been confirmed.
async fn stays_quiet(listener: &TestPeer, tag: u32, who: &str) {
    let before = listener.packets_from(tag);
    tokio::time::sleep(QUIET_WINDOW).await;
    let got = listener.packets_from(tag) - before;
    assert!(got <= IN_FLIGHT, "{who} heard {got} packets from #{tag}");
}

async fn supervise(sup: &mut WsClient, op: &mut WsClient, mode: &str) {
    sup.send(json!({"type": "supervise", "mode": mode})).await;
    let want = mode.to_owned();
    state_where(op, |v| supervisor_mode(v).as_deref() == Some(want.as_str())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_listens_whispers_and_barges_in_and_only_a_supervisor_may() {
    let app = spawn_app(AppState::in_memory(with_supervisor(
        settings_with_operator(),
    )))
    .await;
    let base = app.url("");
    let config = PeerConfig::new().expect("peer config");
    let http = reqwest::Client::new();

    let (call_id, token, _) = create_call(&base, json!({"chosen": "pt"})).await;
    let mut caller_ws = caller_in_call(app.addr, &call_id, &token).await;
    let caller = join_media(&mut caller_ws, &config, 1).await;
    let op_token = operator_login(&base).await;
    let mut op_ws = operator_session(app.addr, &op_token).await;
    answer(&mut op_ws, &call_id).await;
    let operator = join_media(&mut op_ws, &config, 2).await;
    let mut int_ws = invited_interpreter(&app, &op_token, &call_id).await;
    int_ws
        .send(json!({"type": "join_call", "call_id": call_id}))
        .await;
    int_ws.wait_for("joined").await;
    let interpreter = join_media(&mut int_ws, &config, 3).await;

    // Only a supervisor lists the live calls.
    let calls = |t: &str| {
        http.get(format!("{base}/api/supervisor/calls"))
            .bearer_auth(t)
            .send()
    };
    assert_eq!(calls(&op_token).await.expect("calls").status(), 403);
    assert_eq!(calls(&token).await.expect("calls").status(), 401);
    let sup_token = supervisor_login(&base).await;
    let listed: Value = calls(&sup_token)
        .await
        .expect("calls")
        .json()
        .await
        .expect("json");
    assert_eq!(listed["calls"][0]["call_id"], call_id.as_str());
    assert_eq!(listed["calls"][0]["state"], "interpreted");

    // An operator may not supervise.
    op_ws
        .send(json!({"type": "supervise", "mode": "barge"}))
        .await;
    assert_eq!(op_ws.error_code().await, "forbidden");

    // The supervisor enters, listening: hears all three, heard by nobody, unseen by the caller.
    let mut sup_ws = WsClient::connect(app.addr).await;
    sup_ws
        .send(json!({"type": "hello", "token": sup_token}))
        .await;
    let welcome = sup_ws.wait_for("welcome").await;
    assert_eq!(welcome["role"], "supervisor");
    sup_ws
        .send(json!({"type": "join_call", "call_id": call_id}))
        .await;
    sup_ws.wait_for("joined").await;
    let sup = join_media(&mut sup_ws, &config, 4).await;
    let view = state_where(&mut op_ws, |v| supervisor_mode(v).is_some()).await;
    assert_eq!(supervisor_mode(&view).as_deref(), Some("listen"));
    let named = view["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .any(|p| p["role"] == "supervisor" && p["name"] == "zhao");
    assert!(named, "the operator sees who listens: {view}");
    hears_more(&sup, &[1, 2, 3], "listening supervisor").await;
    for (peer, who) in [
        (&caller, "caller"),
        (&operator, "operator"),
        (&interpreter, "interpreter"),
    ] {
        stays_quiet(peer, 4, who).await;
    }
    let v = caller_ws.wait_for("call_state").await;
    let roles: Vec<&Value> = v["call"]["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .map(|p| &p["role"])
        .collect();
    assert!(
        !roles.contains(&&json!("supervisor")),
        "the caller does not see a listening supervisor: {v}"
    );

    // Whispering: only the operator hears them.
    supervise(&mut sup_ws, &mut op_ws, "whisper").await;
    hears_more(&operator, &[4], "operator (whisper)").await;
    stays_quiet(&caller, 4, "caller (whisper)").await;
    stays_quiet(&interpreter, 4, "interpreter (whisper)").await;

    // Barging in: everyone hears them, and the caller sees a supervisor in the call.
    supervise(&mut sup_ws, &mut op_ws, "barge").await;
    hears_more(&caller, &[4], "caller (barge)").await;
    hears_more(&interpreter, &[4], "interpreter (barge)").await;
    hears_more(&operator, &[4], "operator (barge)").await;
    state_where(&mut caller_ws, |v| {
        v["participants"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["role"] == "supervisor"))
    })
    .await;

    // Every step is in the audit stream.
    let events = app.state.pool.recent_events(50).await.expect("events");
    let modes: Vec<String> = events
        .iter()
        .filter(|e| e.kind == EventKind::Supervise)
        .map(|e| e.detail.clone())
        .collect();
    for mode in ["listen", "whisper", "barge"] {
        assert!(
            modes
                .iter()
                .any(|d| d.contains(&format!("\"mode\":\"{mode}\"")) && d.contains("zhao")),
            "{mode} audited: {modes:?}"
        );
    }
}
