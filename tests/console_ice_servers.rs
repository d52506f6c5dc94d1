//! The operator and interpreter consoles get their ICE servers where they enter a call: `joined`
//! carries the configured STUN/TURN URLs with TURN credentials in coturn's shared-secret scheme,
//! named after the participant and valid for `media.turn_ttl_s` from the moment they joined.
use crate::common;

use common::spawn_app;
use common::ws::{
    create_call, invited_interpreter, operator_login, settings_with_operator, WsClient,
};
use hotline_bridge::app::AppState;
use hotline_bridge::engine::ice_servers::turn_credential;
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};

const TURN_URLS: [&str; 2] = [
    "turn:turn.example.org:3478?transport=udp",
    "turns:turn.example.org:5349",
];
const TURN_SECRET: &str = "shared-with-coturn";
const TURN_TTL_S: u64 = 900;

fn unix_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// Checks `joined` against the configuration: the URLs, a username `<expiry>:<participant>` that
/// expires `TURN_TTL_S` after a moment within [before, after], and the HMAC of that username.
fn assert_turn_credentials(joined: &Value, before: u64, after: u64) {
    let participant = joined["participant"].as_str().expect("participant");
    let servers = joined["ice_servers"].as_array().expect("ice_servers");
    assert_eq!(servers.len(), 1, "{joined}");
    let s = &servers[0];
    assert_eq!(s["urls"], json!(TURN_URLS));
    let username = s["username"].as_str().expect("username");
    let (expiry, name) = username.split_once(':').expect("<expiry>:<id>");
    assert_eq!(name, participant);
    let expiry: u64 = expiry.parse().expect("expiry in unix seconds");
    assert!(
        (before + TURN_TTL_S..=after + TURN_TTL_S).contains(&expiry),
        "expiry {expiry} is not {TURN_TTL_S} s after joining ({before}..={after})"
    );
    assert_eq!(
        s["credential"].as_str().expect("credential"),
        turn_credential(TURN_SECRET, username)
    );
}

#[tokio::test]
async fn operator_and_interpreter_get_time_limited_turn_credentials_when_they_join() {
    let mut settings = settings_with_operator();
    settings.media.turn_urls = TURN_URLS.iter().map(|u| u.to_string()).collect();
    settings.media.turn_secret = TURN_SECRET.into();
    settings.media.turn_ttl_s = TURN_TTL_S;
    let app = spawn_app(AppState::in_memory(settings)).await;
    let base = app.url("");
    let (call_id, _, _) = create_call(&base, json!({"chosen": "pt"})).await;

    let op_token = operator_login(&base).await;
    let mut op = WsClient::connect(app.addr).await;
    op.send(json!({"type": "hello", "token": op_token})).await;
    let welcome = op.wait_for("welcome").await;
    assert!(
        welcome.get("ice_servers").is_none(),
        "credentials are handed out per call, not per login"
    );
    let before = unix_s();
    op.send(json!({"type": "answer_call", "call_id": call_id}))
        .await;
    let op_joined = op.wait_for("joined").await;
    assert_turn_credentials(&op_joined, before, unix_s());

    let mut int = invited_interpreter(&app, &op_token, &call_id).await;
    let before = unix_s();
    int.send(json!({"type": "join_call", "call_id": call_id}))
        .await;
    let joined = int.wait_for("joined").await;
    assert_turn_credentials(&joined, before, unix_s());
    assert_ne!(
        joined["ice_servers"][0]["username"], op_joined["ice_servers"][0]["username"],
        "each participant has its own credential"
    );
}

#[tokio::test]
async fn without_turn_urls_joined_has_no_ice_servers() {
    let app = spawn_app(AppState::in_memory(settings_with_operator())).await;
    let base = app.url("");
    let (call_id, _, _) = create_call(&base, json!({"chosen": "pt"})).await;
    let mut op = WsClient::connect(app.addr).await;
    op.send(json!({"type": "hello", "token": operator_login(&base).await}))
        .await;
    op.send(json!({"type": "answer_call", "call_id": call_id}))
        .await;
    let joined = op.wait_for("joined").await;
    assert_eq!(joined["ice_servers"], json!([]));
    assert_eq!(joined["ice_transport_policy"], "all");
}
