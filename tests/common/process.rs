//! `NodeProcess`: the real `hotline-bridge` binary as a separate process on a test Redis, set up
//! through `HOTLINE__…` variables, with operator `wang`; it can be killed like a crash
//! (`kill -9`) and is killed on drop. Its log goes to a file shown when a test needs it.

use super::redis::TestRedis;
use super::ws::{cheap_argon2, OPERATOR, OPERATOR_PASSWORD};
use serde_json::Value;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the binary may take to answer `/readyz` after it is started.
const READY_DEADLINE: Duration = Duration::from_secs(30);
const POLL_EVERY: Duration = Duration::from_millis(50);

pub struct NodeProcess {
    pub addr: SocketAddr,
    /// The node id it reports in `/readyz`.
    pub node: String,
    child: Option<Child>,
    log: tempfile::NamedTempFile,
}

impl NodeProcess {
    /// Starts the binary on `redis` with these extra `HOTLINE__…` settings and waits until it is
    /// ready and holds its lease.
    pub async fn start(redis: &TestRedis, settings: &[(&str, &str)]) -> NodeProcess {
        let port = super::ports::free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let log = tempfile::NamedTempFile::new().expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hotline-bridge"));
        cmd.arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOTLINE_LOG", "warn,hotline_bridge=info")
            .env("HOTLINE__REDIS__URL", redis.url())
            .env("HOTLINE__SERVER__LISTEN", addr.to_string())
            .env("HOTLINE__SERVER__PUBLIC_URL", format!("http://{addr}"))
            .env("HOTLINE__MEDIA__UDP_PORT", "0")
            .env("HOTLINE__ROSTER__FILE", "")
            .env("HOTLINE__RECORDS__DATABASE", "")
            .env(
                format!(
                    "HOTLINE__OPERATORS__{}__PASSWORD_ARGON2",
                    OPERATOR.to_uppercase()
                ),
                cheap_argon2(OPERATOR_PASSWORD),
            );
        for (k, v) in settings {
            cmd.env(k, v);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.reopen().expect("log"))
            .stderr(log.reopen().expect("log"))
            .spawn()
            .expect("start hotline-bridge");
        let mut node = NodeProcess {
            addr,
            node: String::new(),
            child: Some(child),
            log,
        };
        let deadline = Instant::now() + READY_DEADLINE;
        loop {
            if let Some(ready) = node.readyz().await {
                if let Some(id) = ready["node"]["id"].as_str() {
                    if !ready["node"]["lease_expires_at"].is_null() {
                        node.node = id.to_owned();
                        return node;
                    }
                }
            }
            if let Some(Ok(Some(status))) = node.child.as_mut().map(Child::try_wait) {
                panic!("hotline-bridge exited with {status}:\n{}", node.log());
            }
            assert!(
                Instant::now() < deadline,
                "hotline-bridge not ready within {READY_DEADLINE:?}:\n{}",
                node.log()
            );
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// `/readyz` when it answers 200.
    pub async fn readyz(&self) -> Option<Value> {
        let r = reqwest::get(self.url("/readyz")).await.ok()?;
        if r.status() != 200 {
            return None;
        }
        r.json().await.ok()
    }

    /// SIGKILL, as `kill -9`: nothing is released, nothing is said to anyone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
