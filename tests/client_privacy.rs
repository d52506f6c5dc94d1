//! What a client may see, and no more: a caller sees the people in the call by role, never an
//! operator's account or an interpreter's name; an unreadable SDP offer is refused in the
//! service's own words, without the WebRTC stack's internals; an operator's signalling session
//! ends when they log out; and an interpreter the dispatcher has booked cannot be pulled into
//! another call through the REST invite (409).
use crate::common;

use common::fixtures::{interpreter, rung};
use common::spawn_app;
use common::ws::{
    answer, create_call, operator_login, operator_session, settings_with_operator, Got, WsClient,
    OPERATOR,
};
use hotline_bridge::app::AppState;
use hotline_bridge::domain::{InterpreterId, Level, NodeId};
use serde_json::{json, Value};

async fn caller_session(app: &common::TestApp, call_id: &str, token: &str) -> WsClient {
    let mut c = WsClient::connect(app.addr).await;
    c.send(json!({"type": "hello", "token": token, "call_id": call_id}))
        .await;
    c.wait_for("welcome").await;
    c
}

#[tokio::test]
async fn a_caller_sees_the_operator_by_role_never_by_account() {
    let app = spawn_app(AppState::in_memory(settings_with_operator())).await;
    let base = app.url("");
    let (call_id, token, _) = create_call(&base, json!({"chosen": "pt"})).await;
    let mut caller = caller_session(&app, &call_id, &token).await;
    let op_token = operator_login(&base).await;
    let mut op = operator_session(app.addr, &op_token).await;
    op.send(json!({"type": "answer_call", "call_id": call_id}))
        .await;

    // Every message the caller gets until the operator shows up in their view.
    let mut seen = Vec::<Value>::new();
    let operator = loop {
        let m = caller.wait_for("call_state").await;
        seen.push(m.clone());
        let participants = m["call"]["participants"].as_array().cloned();
        if let Some(p) = participants
            .into_iter()
            .flatten()
            .find(|p| p["role"] == "operator")
        {
            break p;
        }
    };
    assert!(operator.get("name").is_none(), "{operator}");
    let text = serde_json::to_string(&seen).expect("json");
    assert!(
        !text.contains(OPERATOR),
        "the operator's account reached the caller: {text}"
    );

    // The same call read over HTTP: the caller's token gets roles, the operator's the names.
    let http = reqwest::Client::new();
    let as_caller: Value = http
        .get(app.url(&format!("/api/calls/{call_id}")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert!(!as_caller.to_string().contains(OPERATOR), "{as_caller}");
    assert_eq!(as_caller["participants"][1]["id"], operator["id"]);
    let as_operator: Value = http
        .get(app.url(&format!("/api/calls/{call_id}")))
        .bearer_auth(&op_token)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert!(as_operator.to_string().contains(OPERATOR), "{as_operator}");
}

#[tokio::test]
async fn an_unreadable_offer_is_refused_without_the_stacks_internals() {
    let app = spawn_app(AppState::in_memory(settings_with_operator())).await;
    let (call_id, token, _) = create_call(&app.url(""), json!({"chosen": "pt"})).await;
    let mut caller = caller_session(&app, &call_id, &token).await;
    caller.wait_for("joined").await;
    for sdp in [
        "v=0\r\nthis is not a session description\r\n",
        "v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:\u{1F4A5}\r\n",
        "",
    ] {
        caller.send(json!({"type": "offer", "sdp": sdp})).await;
        let e = caller.wait_for("error").await;
        assert_eq!(e["code"], "media", "{sdp:?}: {e}");
        let message = e["message"].as_str().expect("message");
        assert!(
            message.starts_with("the SDP offer was not accepted"),
            "{sdp:?}: {message}"
        );
        assert!(!message.contains("0x"), "{sdp:?}: {message}");
    }
    // The session goes on.
    caller.send(json!({"type": "ping", "nonce": 3})).await;
    assert_eq!(caller.wait_for("pong").await["nonce"], 3);
}

#[tokio::test]
async fn logging_out_closes_the_operators_signalling_session() {
    let app = spawn_app(AppState::in_memory(settings_with_operator())).await;
    let base = app.url("");
    let op_token = operator_login(&base).await;
    let mut op = operator_session(app.addr, &op_token).await;
    let r = reqwest::Client::new()
        .post(app.url("/api/operator/logout"))
        .bearer_auth(&op_token)
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), 204);
    let e = op.wait_for("error").await;
    assert_eq!(e["code"], "unauthorized", "{e}");
    loop {
        match op.next().await {
            Got::Json(_) => continue,
            Got::Close(code, reason) => {
                assert_eq!((code, reason.as_str()), (1008, "logged out"));
                break;
            }
            Got::Gone(why) => panic!("closed without a close frame: {why}"),
        }
    }
}

#[tokio::test]
async fn an_interpreter_the_dispatcher_booked_cannot_be_invited_elsewhere() {
    let state = AppState::in_memory(settings_with_operator());
    let pool = state.pool.clone();
    let app = spawn_app(state).await;
    let base = app.url("");
    let iid = InterpreterId::parse("bfsu-pt-01").expect("id");
    let profile = interpreter("bfsu-pt-01")
        .name("Ana")
        .speaks("pt", Level::Native);
    pool.upsert(&profile.build()).await.expect("upsert");
    let now = hotline_bridge::drivers::clock::now_ms();
    // Rung for another call by the dispatcher.
    let node = NodeId::new(1);
    let offer = rung(
        &*pool,
        node,
        "o-elsewhere",
        "call-elsewhere",
        "pt",
        &iid,
        now,
    )
    .await;

    let (call_id, _token, _) = create_call(&base, json!({"chosen": "pt"})).await;
    let op_token = operator_login(&base).await;
    let mut op = operator_session(app.addr, &op_token).await;
    answer(&mut op, &call_id).await;
    let invite = || async {
        reqwest::Client::new()
            .post(app.url(&format!("/api/calls/{call_id}/participants")))
            .bearer_auth(&op_token)
            .json(&json!({"interpreter_id": iid}))
            .send()
            .await
            .expect("invite")
    };
    for stage in ["ringing", "in a call"] {
        let r = invite().await;
        assert_eq!(r.status(), 409, "{stage}");
        let body: Value = r.json().await.expect("json");
        assert_eq!(
            body["error"]["code"], "interpreter_engaged",
            "{stage}: {body}"
        );
        assert_eq!(body["error"]["field"], "interpreter_id", "{stage}");
        pool.respond(&offer.id, &iid, true, now + 1)
            .await
            .expect("accept");
    }
    // Released after that call, the interpreter may be invited again.
    pool.release(&offer.id, now + 2, 0).await.expect("release");
    assert_eq!(invite().await.status(), 202);
}
