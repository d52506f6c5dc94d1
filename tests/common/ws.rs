//! A signalling client for tests (tokio-tungstenite), an operator account with a cheap argon2 hash,
//! a call created over HTTP, and an interpreter invited to it.

use super::fixtures::interpreter;
use futures::{SinkExt, StreamExt};
use hotline_bridge::domain::Level;
use serde_json::Value;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

pub const WAIT: Duration = Duration::from_secs(10);
pub const OPERATOR: &str = "wang";
pub const OPERATOR_PASSWORD: &str = "correct horse battery";

type Stream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// What came from the server.
#[derive(Debug)]
pub enum Got {
    Json(Value),
    Close(u16, String),
    /// The connection ended without a close frame (or with a transport error).
    Gone(String),
}

pub struct WsClient {
    ws: Stream,
}

impl WsClient {
    pub async fn connect(addr: std::net::SocketAddr) -> WsClient {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .expect("websocket connect");
        WsClient { ws }
    }

    /// Connects from the loopback address `local` (e.g. 127.0.0.2), so per-address limits can be
    /// tested; `Err` carries the HTTP status and body of a refused upgrade.
    pub async fn connect_from(
        addr: std::net::SocketAddr,
        local: std::net::IpAddr,
    ) -> Result<WsClient, (u16, String)> {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(std::net::SocketAddr::new(local, 0))
            .expect("bind local address");
        let stream = socket.connect(addr).await.expect("tcp connect");
        let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
        match tokio_tungstenite::client_async(format!("ws://{addr}/ws"), stream).await {
            Ok((ws, _)) => Ok(WsClient { ws }),
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
                let body = r
                    .body()
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                Err((r.status().as_u16(), body))
            }
            Err(e) => panic!("websocket connect: {e}"),
        }
    }

    pub async fn send_text(&mut self, text: String) {
        self.ws
            .send(Message::Text(text.into()))
            .await
            .expect("send");
    }

    /// Sends without expecting success (the server may drop the connection).
    pub async fn try_send_text(&mut self, text: String) -> Result<(), String> {
        self.ws
            .send(Message::Text(text.into()))
            .await
            .map_err(|e| e.to_string())
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.ws
            .send(Message::Binary(bytes.into()))
            .await
            .expect("send");
    }

    pub async fn send(&mut self, v: Value) {
        self.send_text(v.to_string()).await;
    }

    pub async fn next(&mut self) -> Got {
        loop {
            let frame = match tokio::time::timeout(WAIT, self.ws.next()).await {
                Err(_) => panic!("nothing from the server within {WAIT:?}"),
                Ok(None) => return Got::Gone("stream ended".into()),
                Ok(Some(Err(e))) => return Got::Gone(e.to_string()),
                Ok(Some(Ok(f))) => f,
            };
            match frame {
                Message::Text(t) => return Got::Json(serde_json::from_str(&t).expect("json")),
                Message::Close(Some(f)) => return Got::Close(f.code.into(), f.reason.to_string()),
                Message::Close(None) => return Got::Close(1005, String::new()),
                _ => continue,
            }
        }
    }

    /// The next message whose `type` is `kind`, skipping others.
    pub async fn wait_for(&mut self, kind: &str) -> Value {
        loop {
            match self.next().await {
                Got::Json(v) if v["type"] == kind => return v,
                Got::Json(_) => continue,
                other => panic!("expected {kind}, got {other:?}"),
            }
        }
    }

    /// The next `error` message's code.
    pub async fn error_code(&mut self) -> String {
        let v = self.wait_for("error").await;
        v["code"].as_str().expect("code").to_owned()
    }
}

/// A caller's session: hello with the call's `token`, then in call `call_id`.
pub async fn caller_in_call(addr: std::net::SocketAddr, call_id: &str, token: &str) -> WsClient {
    let mut ws = WsClient::connect(addr).await;
    ws.send(serde_json::json!({"type": "hello", "token": token, "call_id": call_id}))
        .await;
    ws.wait_for("joined").await;
    ws
}

/// An operator's session signed in with `op_token` (welcomed; the queue follows).
pub async fn operator_session(addr: std::net::SocketAddr, op_token: &str) -> WsClient {
    let mut ws = WsClient::connect(addr).await;
    ws.send(serde_json::json!({"type": "hello", "token": op_token}))
        .await;
    ws.wait_for("welcome").await;
    ws
}

/// The operator's session `ws` answers `call_id` and is in the call.
pub async fn answer(ws: &mut WsClient, call_id: &str) {
    ws.send(serde_json::json!({"type": "answer_call", "call_id": call_id}))
        .await;
    ws.wait_for("joined").await;
}

/// An argon2 PHC string with small parameters (the service reads them from the string), so tests
/// do not spend seconds hashing in debug builds.
pub fn cheap_argon2(password: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let params = argon2::Params::new(256, 1, 1, None).expect("params");
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::encode_b64(b"0123456789abcdef").expect("salt");
    a.hash_password(password.as_bytes(), &salt)
        .expect("hash")
        .to_string()
}

/// Test settings with operator `wang`.
pub fn settings_with_operator() -> hotline_bridge::config::Settings {
    let mut s = super::test_settings();
    s.operators.insert(
        OPERATOR.into(),
        hotline_bridge::config::OperatorAccount {
            password_argon2: cheap_argon2(OPERATOR_PASSWORD),
            languages: vec![],
        },
    );
    s
}

/// Creates a call over HTTP; returns (call_id, token, full response).
pub async fn create_call(base: &str, body: Value) -> (String, String, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/calls"))
        .json(&body)
        .send()
        .await
        .expect("create call");
    assert_eq!(r.status(), 201, "create call");
    let v: Value = r.json().await.expect("json");
    (
        v["call_id"].as_str().expect("call_id").to_owned(),
        v["token"].as_str().expect("token").to_owned(),
        v,
    )
}

/// Logs operator `wang` in over HTTP; returns the session token.
/// The operator with session `op_token` hangs call `call_id` up over the API (`base`: the app's
/// URL); the answer's status.
pub async fn operator_hangs_up(base: &str, op_token: &str, call_id: &str) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(format!("{base}/api/calls/{call_id}/hangup"))
        .bearer_auth(op_token)
        .send()
        .await
        .expect("hang up")
        .status()
}

pub async fn operator_login(base: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/operator/login"))
        .json(&serde_json::json!({"name": OPERATOR, "password": OPERATOR_PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 200, "login");
    let v: Value = r.json().await.expect("json");
    v["token"].as_str().expect("token").to_owned()
}

/// Registers interpreter `bfsu-pt-01` (off shift) in the pool with a personal token; its console
/// signs in and becomes available; the operator (`op_token`) asks for it by name over HTTP; it
/// accepts the ring. Returns its session, invited and ready to `join_call`.
pub async fn invited_interpreter(app: &super::TestApp, op_token: &str, call_id: &str) -> WsClient {
    let iid = "bfsu-pt-01";
    let itoken = format!("{iid}.personal-secret");
    let profile = interpreter(iid)
        .name("Ana")
        .speaks("pt", Level::Native)
        .token(&itoken);
    app.state
        .pool
        .upsert(&profile.build())
        .await
        .expect("upsert");
    let mut ws = WsClient::connect(app.addr).await;
    ws.send(serde_json::json!({"type": "hello", "token": itoken}))
        .await;
    ws.wait_for("welcome").await;
    ws.send(serde_json::json!({"type": "set_availability", "availability": "available"}))
        .await;
    ws.wait_for("interpreter_status").await;
    // Asked for by name, off shift: the dispatcher rings them first.
    let r = reqwest::Client::new()
        .post(app.url(&format!("/api/calls/{call_id}/participants")))
        .bearer_auth(op_token)
        .json(&serde_json::json!({"interpreter_id": iid}))
        .send()
        .await
        .expect("invite");
    assert_eq!(r.status(), 202, "invite");
    let ring = ws.wait_for("ring").await;
    assert_eq!(
        ring["call_id"], call_id,
        "rung for the call they were asked for"
    );
    ws.send(serde_json::json!({"type": "accept_offer", "offer_id": ring["offer_id"]}))
        .await;
    ws.wait_for("invited").await;
    ws
}
