//! Shared test helpers: an app on an ephemeral port with test settings. Submodules add a test
//! Redis server, WebRTC test peers, WebSocket clients.
#![allow(dead_code)]

pub mod abuse;
pub mod baresip;
pub mod coturn;
pub mod dispatch;
pub mod fixtures;
pub mod kamailio;
pub mod media;
pub mod metrics;
pub mod node;
pub mod phone_rtp;
pub mod ports;
pub mod postgres;
pub mod process;
pub mod proxy;
pub mod redis;
pub mod sentinel;
pub mod sipp;
pub mod supervisors;
pub mod tls;
pub mod universities;

use hotline_bridge::app::{self, AppState};
use hotline_bridge::config::Settings;
use std::net::SocketAddr;
use tokio_util::sync::CancellationToken;

/// Tests that start many real peers at once (three browsers, a cluster of nodes, two softphones)
/// take this, one at a time: all the integration tests share one process and the machine's
/// cores, and two such tests at once would measure the scheduler, not the service.
pub async fn one_heavy_at_a_time() -> tokio::sync::SemaphorePermit<'static> {
    static HEAVY: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);
    HEAVY
        .acquire()
        .await
        .expect("the semaphore is never closed")
}

/// A running app; shuts down when dropped.
pub struct TestApp {
    pub addr: SocketAddr,
    /// `https` when the settings name a certificate, else `http`.
    pub scheme: &'static str,
    pub state: AppState,
    shutdown: CancellationToken,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{}", self.scheme, self.addr, path)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
        // Every task of the app (calls, dispatcher, bus, media loop) stops with it.
        self.state.lifecycle.root().cancel();
    }
}

/// Settings for tests: the defaults, the roster not loaded and no call record kept unless a test
/// asks for them.
pub fn test_settings() -> Settings {
    let mut s = Settings::load_with_env(None, Vec::new()).expect("default settings");
    s.roster.file = String::new();
    // No call record unless a test asks for one (the default file is under the working folder).
    s.records.database = String::new();
    // Any free UDP port: build_state binds the media port, and tests run in parallel.
    s.media.udp_port = 0;
    s
}

/// Serves `state` on 127.0.0.1 port 0.
pub async fn spawn_app(state: AppState) -> TestApp {
    spawn_app_on(bind().await, state).await
}

/// A listener on 127.0.0.1 port 0, for settings that must name the app's own address.
pub async fn bind() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind")
}

/// Serves `state` on `listener`; returns once the app answers HTTP, which it does only after
/// everything it starts first (the SIP edge's sockets among them) is up.
pub async fn spawn_app_on(listener: tokio::net::TcpListener, state: AppState) -> TestApp {
    let addr = listener.local_addr().expect("addr");
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    let serve_state = state.clone();
    let serving = tokio::spawn(async move {
        if let Err(e) = app::serve(listener, serve_state, token).await {
            panic!("test app failed: {e:#}");
        }
    });
    // The listener is bound already, so this request waits in its backlog until the app serves
    // (over TLS, plain HTTP is answered with a redirect: an answer all the same).
    let scheme = if state.settings.server.tls() {
        "https"
    } else {
        "http"
    };
    let up = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(format!("http://{addr}/healthz"))
        .timeout(std::time::Duration::from_secs(30))
        .send()
        .await;
    if up.is_err() && serving.is_finished() {
        // The app stopped before serving: its panic says why.
        if let Err(e) = serving.await {
            if e.is_panic() {
                std::panic::resume_unwind(e.into_panic());
            }
        }
    }
    TestApp {
        addr,
        scheme,
        state,
        shutdown,
    }
}
pub mod browser;
pub mod ws;

/// How many interpreters the shipped `interpreters.toml` lists (counted from the file, so tests
/// follow the roster as it grows).
pub fn shipped_roster_size() -> usize {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/interpreters.toml"))
        .expect("read interpreters.toml");
    text.lines()
        .filter(|l| l.trim() == "[[interpreters]]")
        .count()
}
