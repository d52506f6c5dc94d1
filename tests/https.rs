//! HTTPS and WSS on the service's own listener: with `server.tls_cert` / `server.tls_key` the
//! node answers over TLS with HSTS, redirects plain HTTP on that port to https, and a
//! certificate reload (SIGHUP or the files changing) reaches new connections while an open
//! WebSocket goes on.
use crate::common;

use common::browser::Browser;
use common::node::{Node, START_DEADLINE};
use common::redis::TestRedis;
use common::test_settings;
use common::tls::TestCa;
use futures::{SinkExt, StreamExt};
use hotline_bridge::api::tls::Certificates;
use hotline_bridge::app::{self, AppState};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// One HTTP/1.1 request on a fresh TLS connection; the whole response as text.
async fn https_get(ca: &TestCa, addr: SocketAddr, path: &str) -> String {
    let (mut tls, _) = ca.connect(addr).await;
    let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    tls.read_to_string(&mut response).await.expect("read");
    response
}

/// The node served over TLS from the files in `dir`, through `app::serve` and the settings.
async fn spawn_tls_app(dir: &Path) -> (SocketAddr, CancellationToken) {
    let mut settings = test_settings();
    settings.server.tls_cert = path(dir, "cert.pem");
    settings.server.tls_key = path(dir, "key.pem");
    serve(settings, None).await
}

fn path(dir: &Path, file: &str) -> String {
    dir.join(file).to_string_lossy().into_owned()
}

async fn serve(
    settings: hotline_bridge::config::Settings,
    certs: Option<Arc<Certificates>>,
) -> (SocketAddr, CancellationToken) {
    let listener = common::bind().await;
    let addr = listener.local_addr().expect("addr");
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    let state = AppState::in_memory(settings);
    tokio::spawn(async move {
        let served = match certs {
            Some(c) => app::serve_with_tls(listener, state, token, Some(c)).await,
            None => app::serve(listener, state, token).await,
        };
        if let Err(e) = served {
            panic!("test app failed: {e:#}");
        }
    });
    (addr, shutdown)
}

#[tokio::test]
async fn https_answers_with_hsts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new();
    let issued = ca.issue(dir.path());
    let (addr, shutdown) = spawn_tls_app(dir.path()).await;

    let response = https_get(&ca, addr, "/healthz").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let lower = response.to_ascii_lowercase();
    assert!(
        lower.contains("strict-transport-security: max-age=31536000"),
        "{response}"
    );
    let (_, presented) = ca.connect(addr).await;
    assert_eq!(presented, issued.to_vec());

    shutdown.cancel();
}

/// Plain HTTP on the TLS port, as when someone types the address without `https://`: a 308 to
/// the same host, port, path and query on https, and nothing of the service itself.
#[tokio::test]
async fn plain_http_on_the_tls_port_is_redirected_to_https() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new();
    ca.issue(dir.path());
    let (addr, shutdown) = spawn_tls_app(dir.path()).await;

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let plain = client
        .get(format!("http://{addr}/call?lang=pt"))
        .send()
        .await
        .expect("plain HTTP answered");
    assert_eq!(plain.status(), 308);
    let location = plain.headers()["location"].to_str().expect("location");
    assert_eq!(location, format!("https://{addr}/call?lang=pt"));
    assert!(
        !plain.headers().contains_key("strict-transport-security"),
        "HSTS means nothing over plain HTTP"
    );
    // A POST keeps its method through a 308; the API is not served over plain HTTP.
    let post = client
        .post(format!("http://{addr}/api/calls"))
        .json(&serde_json::json!({ "language": "pt" }))
        .send()
        .await
        .expect("answered");
    assert_eq!(post.status(), 308);
    assert_eq!(
        post.headers()["location"],
        format!("https://{addr}/api/calls").as_str()
    );

    // No Host to redirect to: the JSON error.
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("tcp");
    tcp.write_all(b"GET /call HTTP/1.0\r\n\r\n")
        .await
        .expect("write");
    let mut response = String::new();
    tcp.read_to_string(&mut response).await.expect("read");
    assert!(response.starts_with("HTTP/1.0 400"), "{response}");
    assert!(response.contains(r#""code":"bad_request""#), "{response}");

    // The same port still speaks TLS.
    let response = https_get(&ca, addr, "/healthz").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    shutdown.cancel();
}

#[tokio::test]
async fn a_connection_over_the_cap_gets_its_json_error_over_tls_or_plain_http() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new();
    ca.issue(dir.path());
    let mut settings = test_settings();
    settings.server.tls_cert = path(dir.path(), "cert.pem");
    settings.server.tls_key = path(dir.path(), "key.pem");
    settings.limits.connections_per_address = 1;
    let (addr, shutdown) = serve(settings, None).await;
    // The first connection holds the address's one place.
    let (held, _) = ca.connect(addr).await;
    let response = https_get(&ca, addr, "/healthz").await;
    assert!(response.starts_with("HTTP/1.1 429"), "{response}");
    assert!(response.contains("too_many_connections"), "{response}");
    // Plain HTTP over the cap gets the same error, in plain text (no redirect to come back to).
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("tcp");
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("write");
    let mut plain = String::new();
    tcp.read_to_string(&mut plain).await.expect("read");
    assert!(plain.starts_with("HTTP/1.1 429"), "{plain}");
    assert!(plain.contains("too_many_connections"), "{plain}");
    drop(held);
    shutdown.cancel();
}

#[tokio::test]
async fn a_reloaded_certificate_reaches_new_connections_and_an_open_websocket_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new();
    let first = ca.issue(dir.path());
    let mut settings = test_settings();
    settings.server.tls_cert = path(dir.path(), "cert.pem");
    settings.server.tls_key = path(dir.path(), "key.pem");
    let certs = Certificates::load(&settings.server.tls_cert, &settings.server.tls_key)
        .expect("certificates");
    let (addr, shutdown) = serve(settings, Some(certs.clone())).await;

    let (tls, presented) = ca.connect(addr).await;
    assert_eq!(presented, first.to_vec());
    let (mut ws, _) = tokio_tungstenite::client_async(format!("wss://{addr}/ws"), tls)
        .await
        .expect("wss upgrade");

    // A broken file keeps the certificate in service.
    std::fs::write(dir.path().join("cert.pem"), "not a certificate").expect("write");
    let err = certs
        .reload()
        .expect_err("a broken certificate must not load");
    assert!(format!("{err:#}").contains("cert.pem"), "{err:#}");
    let (_, presented) = ca.connect(addr).await;
    assert_eq!(presented, first.to_vec());

    let second = ca.issue(dir.path());
    assert_ne!(first, second);
    certs.reload().expect("reload");
    let (_, presented) = ca.connect(addr).await;
    assert_eq!(presented, second.to_vec());

    // The WebSocket opened under the first certificate still carries frames both ways.
    ws.send(Message::Ping(b"still there".to_vec().into()))
        .await
        .expect("ping");
    loop {
        match ws.next().await.expect("socket open").expect("frame") {
            Message::Pong(p) => {
                assert_eq!(&p[..], b"still there");
                break;
            }
            Message::Close(c) => panic!("socket closed after the reload: {c:?}"),
            _ => continue,
        }
    }
    shutdown.cancel();
}

#[test]
fn a_key_that_does_not_fit_is_refused_naming_the_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new();
    ca.issue(dir.path());
    let other: PathBuf = dir.path().join("other");
    std::fs::create_dir(&other).expect("dir");
    ca.issue(&other);
    let err = Certificates::load(dir.path().join("cert.pem"), other.join("key.pem"))
        .err()
        .expect("mismatched key must fail");
    let text = format!("{err:#}");
    assert!(
        text.contains("key.pem") && text.contains("cert.pem"),
        "{text}"
    );
}

/// The point of HTTPS: Chromium on https://127.0.0.1 (not localhost) is a secure context, so
/// `/call` gets the microphone and a WSS socket; a certificate swap while the page holds them
/// changes nothing for either.
#[tokio::test]
async fn chromium_gets_the_microphone_on_https_and_keeps_it_across_a_certificate_swap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new();
    let (_, first) = ca.issue_with_spki(dir.path());
    let mut settings = test_settings();
    settings.server.tls_cert = path(dir.path(), "cert.pem");
    settings.server.tls_key = path(dir.path(), "key.pem");
    let certs = Certificates::load(&settings.server.tls_cert, &settings.server.tls_key)
        .expect("certificates");
    let (addr, shutdown) = serve(settings, Some(certs.clone())).await;
    // The second certificate's key is made now, so Chromium can be told to accept both (only
    // these two keys: any other certificate error still fails).
    let spare = tempfile::tempdir().expect("tempdir");
    let (second_der, second) = ca.issue_with_spki(spare.path());
    let accept = format!("--ignore-certificate-errors-spki-list={first},{second}");
    let browser = Browser::launch_with("en-US,en", None, &[accept]).await;
    browser
        .client
        .goto(&format!("https://{addr}/call"))
        .await
        .expect("goto");
    let got = browser
        .eval(
            "window.hotlineTestMic = await navigator.mediaDevices.getUserMedia({ audio: true });
             return { secure: window.isSecureContext, origin: location.origin,
                      tracks: window.hotlineTestMic.getAudioTracks().length };",
        )
        .await;
    assert_eq!(got["secure"], true, "{got}");
    assert_eq!(got["origin"], format!("https://{addr}"), "{got}");
    assert_eq!(got["tracks"], 1, "{got}");
    // The page's signalling socket, over WSS like the pages open it on https.
    browser
        .eval("window.hotlineTestWs = new WebSocket(`wss://${location.host}/ws`); return true;")
        .await;
    browser
        .wait_for(
            "the WSS socket",
            "window.hotlineTestWs.readyState === WebSocket.OPEN",
            Duration::from_secs(5),
        )
        .await;

    // Swap to the second certificate: the page's microphone stays live and the page still
    // reaches the node.
    for file in ["cert.pem", "key.pem"] {
        std::fs::copy(spare.path().join(file), dir.path().join(file)).expect("swap");
    }
    certs.reload().expect("reload");
    let (_, presented) = ca.connect(addr).await;
    assert_eq!(presented, second_der.to_vec());
    browser
        .wait_for(
            "the microphone after the swap",
            "window.hotlineTestMic.getAudioTracks()[0].readyState === 'live'",
            Duration::from_secs(5),
        )
        .await;
    let health = browser
        .eval("const r = await fetch('/healthz', { cache: 'no-store' }); return r.status;")
        .await;
    assert_eq!(health, 200);
    let ws = browser
        .eval("return window.hotlineTestWs.readyState === WebSocket.OPEN;")
        .await;
    assert_eq!(ws, true, "the WSS socket opened before the swap was closed");
    browser.close().await;
    shutdown.cancel();
}

/// The binary itself: started with a certificate, `kill -HUP` makes it serve the file's new
/// certificate to new connections.
#[tokio::test]
async fn the_binary_reloads_its_certificate_on_sighup() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new();
    let first = ca.issue(dir.path());
    let (cert, key) = (path(dir.path(), "cert.pem"), path(dir.path(), "key.pem"));
    let mut node = Node::start(
        &redis,
        "https-sighup",
        &[
            ("HOTLINE__SERVER__TLS_CERT", &cert),
            ("HOTLINE__SERVER__TLS_KEY", &key),
        ],
    );
    node.wait_logged("serving", START_DEADLINE).await;
    let (_, presented) = ca.connect(node.addr).await;
    assert_eq!(presented, first.to_vec());

    let second = ca.issue(dir.path());
    node.signal("HUP");
    node.wait_logged("TLS certificate reloaded", START_DEADLINE)
        .await;
    let (_, presented) = ca.connect(node.addr).await;
    assert_eq!(presented, second.to_vec());
    assert!(node.running(), "SIGHUP must not stop the node");
}

/// The binary itself: the certificate files replaced on disk are picked up without a signal; a
/// half-written certificate is refused and the one in service stays until the files are whole.
#[tokio::test]
async fn the_binary_reloads_its_certificate_when_the_files_change() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new();
    let first = ca.issue(dir.path());
    let (cert, key) = (path(dir.path(), "cert.pem"), path(dir.path(), "key.pem"));
    let mut node = Node::start(
        &redis,
        "https-watch",
        &[
            ("HOTLINE__SERVER__TLS_CERT", &cert),
            ("HOTLINE__SERVER__TLS_KEY", &key),
            ("HOTLINE__SERVER__TLS_CHECK_MS", "100"),
        ],
    );
    node.wait_logged("serving", START_DEADLINE).await;
    let (_, presented) = ca.connect(node.addr).await;
    assert_eq!(presented, first.to_vec());

    // A renewal caught half-way: the new certificate's PEM cut in the middle, beside the old key.
    let spare = tempfile::tempdir().expect("tempdir");
    let second = ca.issue(spare.path());
    let whole = std::fs::read_to_string(spare.path().join("cert.pem")).expect("read");
    std::fs::write(&cert, &whole[..whole.len() / 2]).expect("write half");
    node.wait_logged("the new TLS certificate does not load", START_DEADLINE)
        .await;
    let (_, presented) = ca.connect(node.addr).await;
    assert_eq!(
        presented,
        first.to_vec(),
        "a half-written file replaced the certificate"
    );
    assert!(!node
        .log()
        .contains("files changed: TLS certificate reloaded"));

    // The writer finishes: certificate and key, the way certbot renames them into place.
    for file in ["cert.pem", "key.pem"] {
        let staged = dir.path().join(format!(".{file}.new"));
        std::fs::copy(spare.path().join(file), &staged).expect("stage");
        std::fs::rename(&staged, dir.path().join(file)).expect("rename");
    }
    node.wait_logged("files changed: TLS certificate reloaded", START_DEADLINE)
        .await;
    let (_, presented) = ca.connect(node.addr).await;
    assert_eq!(presented, second.to_vec());
    assert!(node.running());
}
