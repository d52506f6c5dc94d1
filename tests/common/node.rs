//! `Node`: the real `hotline-bridge` binary as a child process on a free port, configured by
//! `HOTLINE__…` variables (a test Redis, an operator account, no seed roster, its call record in
//! an SQLite file of its own), for tests that signal or kill it. Its log goes to a file, printed
//! when a test fails; it is killed on drop.

use super::redis::TestRedis;
use super::ws::{cheap_argon2, OPERATOR, OPERATOR_PASSWORD};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_hotline-bridge");
/// How long the node may take to answer `/readyz` with 200 after it is started.
pub const START_DEADLINE: Duration = Duration::from_secs(30);
const POLL_EVERY: Duration = Duration::from_millis(50);

pub struct Node {
    child: Child,
    pub addr: SocketAddr,
    log: std::path::PathBuf,
    /// The node's call record: an SQLite file of its own, beside its log.
    pub record: String,
    _dir: tempfile::TempDir,
}

impl Node {
    /// Starts the binary on `redis` (keys under `prefix`) with these extra `HOTLINE__…`
    /// variables, e.g. `("HOTLINE__SERVER__DRAIN_S", "2")`.
    pub fn start(redis: &TestRedis, prefix: &str, extra: &[(&str, &str)]) -> Node {
        let port = super::ports::free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let dir = tempfile::tempdir().expect("temp dir for the node's log");
        let log = dir.path().join("node.log");
        let record = format!("sqlite://{}", dir.path().join("hotline.db").display());
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new(BIN)
            .env_remove("HOTLINE_CONFIG")
            .env("HOTLINE_LOG", "info,hotline_bridge=info")
            .env("HOTLINE__SERVER__LISTEN", addr.to_string())
            .env("HOTLINE__REDIS__URL", redis.url())
            .env("HOTLINE__REDIS__KEY_PREFIX", prefix)
            .env("HOTLINE__ROSTER__FILE", "")
            .env("HOTLINE__RECORDS__DATABASE", &record)
            .env("HOTLINE__MEDIA__UDP_PORT", "0")
            .env("HOTLINE__MEDIA__PUBLIC_IP", "127.0.0.1")
            .env(
                format!(
                    "HOTLINE__OPERATORS__{}__PASSWORD_ARGON2",
                    OPERATOR.to_uppercase()
                ),
                cheap_argon2(OPERATOR_PASSWORD),
            )
            .envs(extra.iter().map(|(k, v)| (*k, *v)))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start hotline-bridge");
        Node {
            child,
            addr,
            log,
            record,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until `/readyz` answers 200.
    pub async fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_DEADLINE;
        let client = reqwest::Client::new();
        loop {
            if let Ok(r) = client.get(self.url("/readyz")).send().await {
                if r.status() == 200 {
                    return;
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the node exited at start-up ({status}):\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "the node was not ready within {START_DEADLINE:?}:\n{}",
                self.log()
            );
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// Sends `signal` (`TERM`, `INT`, `KILL`) with the `kill` command.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} {}", self.pid());
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the process to exit; panics (with its log) if it has not within `within`.
    pub async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the node") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the node did not exit within {within:?}:\n{}",
                self.log()
            );
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// Waits until the node's log holds `text`; panics (with its log) if it has not within
    /// `within` or the node exited.
    pub async fn wait_logged(&mut self, text: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let log = self.log();
            if log.contains(text) {
                return;
            }
            assert!(
                Instant::now() < deadline && self.running(),
                "the node did not log {text:?} within {within:?}:\n{log}"
            );
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// What the node has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- node log ---\n{}--- end of node log ---", self.log());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
