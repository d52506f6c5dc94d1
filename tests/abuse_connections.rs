//! The doors of the HTTP listener under abuse, through real TCP on loopback (each attacker on its
//! own 127.0.0.x address): open connections are capped per address (429) and in all (503) with
//! our JSON error body, and a place given back is usable again; a client that never finishes its
//! request headers is cut off; signalling sessions are capped per address; the unauthenticated
//! CPU-costly endpoints and sign-in attempts are rate-limited; sign-ins wait for a free password
//! check, or get 503.
//! A real call on the node keeps its audio flowing through the floods; each limit is counted.
use crate::common;

use common::abuse::{limited, LiveCall};
use common::dispatch::WAIT;
use common::ws::{settings_with_operator, WsClient};
use common::{spawn_app, test_settings, TestApp};
use hotline_bridge::app::AppState;
use serde_json::{json, Value};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// A TCP connection to the app from `127.0.0.<last>`.
async fn connect_from(app: &TestApp, last: u8) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(loopback(last), 0))
        .expect("bind");
    socket.connect(app.addr).await.expect("connect")
}

/// Sends one GET on `stream` and reads the whole response (the server closes or answers with
/// Connection: close); returns the status and the body.
async fn get(mut stream: TcpStream, path: &str) -> (u16, String) {
    let request = format!("GET {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n");
    // A refused connection may already be answered and closed: the write may fail, the read not.
    let _ = stream.write_all(request.as_bytes()).await;
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut response))
        .await
        .expect("a response in time")
        .expect("read");
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn error_code(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body:?}"));
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{v}"
    );
    v["error"]["code"].as_str().expect("code").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_flood_is_capped_per_address_and_in_all_while_a_real_call_goes_on() {
    let mut s = test_settings();
    s.limits.connections_per_address = 5;
    s.limits.connections = 12;
    let app = spawn_app(AppState::in_memory(s)).await;
    let live = LiveCall::start(&app, "es").await;

    // One address opens connections and sends nothing: five are held, the sixth is refused.
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(connect_from(&app, 2).await);
    }
    let (status, body) = get(connect_from(&app, 2).await, "/healthz").await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(error_code(&body), "too_many_connections");
    // Another address is served meanwhile.
    let (status, _) = get(connect_from(&app, 3).await, "/healthz").await;
    assert_eq!(status, 200);

    // More addresses fill the node: beyond twelve open connections everyone waits.
    for last in 4..=5 {
        for _ in 0..4 {
            held.push(connect_from(&app, last).await);
        }
    }
    let (status, body) = get(connect_from(&app, 6).await, "/healthz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(error_code(&body), "busy");
    live.still_flowing("with the node's connections full").await;

    // Connections given back are places again.
    held.clear();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, _) = get(connect_from(&app, 2).await, "/healthz").await;
        if status == 200 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "closed connections free their places"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(limited(&app, "connections_per_address").await >= 1);
    assert!(limited(&app, "connections").await >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let mut s = test_settings();
    s.limits.header_read_timeout_s = 1;
    let app = spawn_app(AppState::in_memory(s)).await;
    let mut slow = connect_from(&app, 2).await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nhost: test\r\nx-slow: ")
        .await
        .expect("write");
    let started = tokio::time::Instant::now();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(WAIT, slow.read_to_end(&mut rest)).await;
    assert!(
        closed.is_ok(),
        "the connection is closed by the server within {WAIT:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(900));
    // A normal client meanwhile is served.
    let (status, _) = get(connect_from(&app, 3).await, "/healthz").await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signalling_sessions_are_capped_per_address() {
    let mut s = test_settings();
    s.limits.ws_sessions_per_address = 3;
    let app = spawn_app(AppState::in_memory(s)).await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(
            WsClient::connect_from(app.addr, loopback(2))
                .await
                .expect("within the cap"),
        );
    }
    let Err((status, body)) = WsClient::connect_from(app.addr, loopback(2)).await else {
        panic!("a fourth session from one address is refused");
    };
    assert_eq!(status, 429);
    assert_eq!(error_code(&body), "too_many_sessions");
    WsClient::connect_from(app.addr, loopback(3))
        .await
        .expect("another address opens its session");
    // A session that ends gives its place back.
    open.pop();
    let deadline = tokio::time::Instant::now() + WAIT;
    while WsClient::connect_from(app.addr, loopback(2)).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place comes back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(limited(&app, "ws_sessions_per_address").await >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detection_and_coverage_are_rate_limited_per_address() {
    let mut s = test_settings();
    s.limits.public_per_minute = 60;
    s.limits.public_burst = 3;
    let app = spawn_app(AppState::in_memory(s)).await;
    let client = reqwest::Client::builder()
        .local_address(loopback(2))
        .build()
        .expect("client");
    let detect = || {
        client
            .post(app.url("/api/detect"))
            .json(&json!({"text": "Olá, perdi o meu passaporte"}))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(detect().await.expect("detect").status(), 200);
    }
    let refused = detect().await.expect("detect");
    assert_eq!(refused.status(), 429);
    assert!(
        refused.headers().get("retry-after").is_some(),
        "Retry-After"
    );
    let body = refused.text().await.expect("body");
    assert_eq!(error_code(&body), "rate_limited");
    let coverage = client
        .get(app.url("/api/coverage"))
        .send()
        .await
        .expect("coverage");
    assert_eq!(coverage.status(), 429, "the same budget");
    // Another address is not affected.
    let other = reqwest::Client::builder()
        .local_address(loopback(3))
        .build()
        .expect("client");
    let r = other
        .get(app.url("/api/coverage"))
        .send()
        .await
        .expect("coverage");
    assert_eq!(r.status(), 200);
    assert!(limited(&app, "public_per_minute").await >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ins_wait_for_a_free_password_check_or_get_503() {
    let mut s = settings_with_operator();
    s.limits.password_checks = 1;
    let app = spawn_app(AppState::in_memory(s)).await;
    let login = || {
        reqwest::Client::new()
            .post(app.url("/api/operator/login"))
            .json(&json!({"name": common::ws::OPERATOR, "password": common::ws::OPERATOR_PASSWORD}))
            .send()
    };
    // Every check busy (held here, as a flood of sign-ins would): the sign-in is refused in time.
    let busy = app
        .state
        .limits
        .password_checks
        .clone()
        .acquire_owned()
        .await
        .expect("permit");
    let refused = login().await.expect("login");
    assert_eq!(refused.status(), 503);
    let body = refused.text().await.expect("body");
    assert_eq!(error_code(&body), "unavailable");
    assert_eq!(limited(&app, "password_checks").await, 1);
    drop(busy);
    let ok = login().await.expect("login");
    assert_eq!(ok.status(), 200, "a free check: signed in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_guessing_is_rate_limited_per_address() {
    let mut s = settings_with_operator();
    s.limits.login_per_minute = 60;
    s.limits.login_burst = 3;
    let app = spawn_app(AppState::in_memory(s)).await;
    let guess = |from: u8| {
        reqwest::Client::builder()
            .local_address(loopback(from))
            .build()
            .expect("client")
            .post(app.url("/api/operator/login"))
            .json(&json!({"name": common::ws::OPERATOR, "password": "guess"}))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(guess(2).await.expect("login").status(), 401);
    }
    let refused = guess(2).await.expect("login");
    assert_eq!(refused.status(), 429);
    assert!(
        refused.headers().get("retry-after").is_some(),
        "Retry-After"
    );
    let body = refused.text().await.expect("body");
    assert_eq!(error_code(&body), "rate_limited");
    assert_eq!(
        guess(3).await.expect("login").status(),
        401,
        "another address"
    );
    assert_eq!(limited(&app, "login_per_minute").await, 1);
}
