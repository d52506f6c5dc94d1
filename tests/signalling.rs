//! The signalling socket refuses bad input precisely and never goes down: bad JSON, unknown types,
//! messages before hello, wrong tokens, a caller token used on another call, oversized messages,
//! role violations and foreign origins each get an error reply and/or a close frame with a reason,
//! and the service still answers /healthz afterwards.
use crate::common;

use common::ws::{create_call, Got, WsClient};
use common::{spawn_app, test_settings};
use hotline_bridge::api::session::MAX_MESSAGE_BYTES;
use hotline_bridge::api::ws::TRANSPORT_MAX_BYTES;
use hotline_bridge::app::AppState;
use serde_json::json;

async fn healthy(app: &common::TestApp) {
    let r = reqwest::get(app.url("/healthz")).await.expect("healthz");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn malformed_and_unknown_messages_get_error_replies_and_the_session_goes_on() {
    let app = spawn_app(AppState::in_memory(test_settings())).await;
    let mut c = WsClient::connect(app.addr).await;
    c.send_text("{\"type\": ".into()).await;
    assert_eq!(c.error_code().await, "bad_json");
    c.send_text("42".into()).await;
    assert_eq!(c.error_code().await, "bad_json");
    c.send(json!({"type": "warp_drive"})).await;
    assert_eq!(c.error_code().await, "unknown_type");
    c.send(json!({"type": "mute", "participant": "BAD ID", "muted": true}))
        .await;
    assert_eq!(c.error_code().await, "invalid");
    c.send(json!({"type": "hang_up"})).await;
    assert_eq!(c.error_code().await, "hello_first");
    c.send(json!({"type": "ping", "nonce": 5})).await;
    assert_eq!(c.wait_for("pong").await["nonce"], 5);
    healthy(&app).await;
}

#[tokio::test]
async fn a_wrong_token_gets_an_error_and_a_close_with_reason() {
    let app = spawn_app(AppState::in_memory(test_settings())).await;
    let mut c = WsClient::connect(app.addr).await;
    c.send(json!({"type": "hello", "token": "guess"})).await;
    assert_eq!(c.error_code().await, "unauthorized");
    match c.next().await {
        Got::Close(code, reason) => {
            assert_eq!(code, 1008);
            assert_eq!(reason, "unauthorized");
        }
        other => panic!("expected close, got {other:?}"),
    }
    healthy(&app).await;
}

#[tokio::test]
async fn a_caller_token_used_on_another_call_is_refused() {
    let app = spawn_app(AppState::in_memory(test_settings())).await;
    let base = app.url("");
    let (_a, token_a, _) = create_call(&base, json!({"chosen": "pt"})).await;
    let (b, _token_b, _) = create_call(&base, json!({"chosen": "fr"})).await;
    let mut c = WsClient::connect(app.addr).await;
    c.send(json!({"type": "hello", "token": token_a, "call_id": b}))
        .await;
    assert_eq!(c.error_code().await, "unauthorized");
    assert!(matches!(c.next().await, Got::Close(1008, _)));
    // The rightful caller of b is unaffected by the attempt.
    healthy(&app).await;
}

#[tokio::test]
async fn the_right_caller_token_is_welcomed_into_its_queued_call() {
    let app = spawn_app(AppState::in_memory(test_settings())).await;
    let (id, token, _) = create_call(&app.url(""), json!({"chosen": "pt"})).await;
    let mut c = WsClient::connect(app.addr).await;
    c.send(json!({"type": "hello", "token": token, "call_id": id}))
        .await;
    let w = c.wait_for("welcome").await;
    assert_eq!(w["role"], "caller");
    assert_eq!(w["max_message_bytes"], MAX_MESSAGE_BYTES);
    let s = c.wait_for("call_state").await;
    assert_eq!(s["call"]["state"], "queued");
    assert_eq!(s["call"]["position"], 1);
    assert_eq!(s["call"]["language"]["code"], "pt");
    // Role violations: a caller may not hold, consult or answer.
    for m in [
        json!({"type": "hold", "on": true}),
        json!({"type": "consult", "on": true}),
        json!({"type": "answer_call", "call_id": id}),
        json!({"type": "join_call", "call_id": id}),
    ] {
        c.send(m.clone()).await;
        assert_eq!(c.error_code().await, "forbidden", "{m}");
    }
    c.send(json!({"type": "ping", "nonce": 1})).await;
    c.wait_for("pong").await;
}

#[tokio::test]
async fn oversized_messages_close_the_session_with_1009_and_huge_frames_are_dropped() {
    let app = spawn_app(AppState::in_memory(test_settings())).await;
    let mut c = WsClient::connect(app.addr).await;
    let big = json!({"type": "offer", "sdp": "x".repeat(MAX_MESSAGE_BYTES)});
    c.send(big).await;
    assert_eq!(c.error_code().await, "too_large");
    match c.next().await {
        Got::Close(code, reason) => {
            assert_eq!(code, 1009);
            assert_eq!(reason, "message too large");
        }
        other => panic!("expected close, got {other:?}"),
    }

    // Beyond the transport limit the WebSocket layer drops the connection itself.
    let mut c = WsClient::connect(app.addr).await;
    let huge = json!({"type": "offer", "sdp": "y".repeat(TRANSPORT_MAX_BYTES + 1)});
    let _ = tokio::time::timeout(common::ws::WAIT, c.try_send_text(huge.to_string())).await;
    assert!(!matches!(c.next().await, Got::Json(_)));
    healthy(&app).await;
}

#[tokio::test]
async fn binary_frames_and_foreign_origins_are_refused() {
    let app = spawn_app(AppState::in_memory(test_settings())).await;
    let mut c = WsClient::connect(app.addr).await;
    c.send_binary(vec![1, 2, 3]).await;
    assert_eq!(c.error_code().await, "bad_json");
    assert!(matches!(c.next().await, Got::Close(1003, _)));

    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://{}/ws", app.addr)
        .into_client_request()
        .expect("request");
    req.headers_mut()
        .insert("origin", "https://evil.example".parse().expect("header"));
    let err = tokio_tungstenite::connect_async(req)
        .await
        .expect_err("foreign origin must be refused");
    match err {
        tokio_tungstenite::tungstenite::Error::Http(resp) => assert_eq!(resp.status(), 403),
        other => panic!("expected HTTP 403, got {other}"),
    }
    let mut req = format!("ws://{}/ws", app.addr)
        .into_client_request()
        .expect("request");
    req.headers_mut().insert(
        "origin",
        format!("http://{}", app.addr).parse().expect("header"),
    );
    tokio_tungstenite::connect_async(req)
        .await
        .expect("same-origin upgrade");
    healthy(&app).await;
}
