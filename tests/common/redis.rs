//! `TestRedis`: a real redis-server on a free loopback port (never 6379), without persistence, in
//! a temporary directory; it can be stopped and restarted on the same port, and is killed on drop.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long redis-server may take to answer PING after it is started.
const START_DEADLINE: Duration = Duration::from_secs(10);
const POLL_EVERY: Duration = Duration::from_millis(10);
/// Attempts at finding a free port (another process may take the one we picked).
const PORT_ATTEMPTS: usize = 5;

pub struct TestRedis {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl TestRedis {
    /// Starts a server on a free port and waits until it answers PING.
    pub fn start() -> Self {
        let mut last = String::new();
        for _ in 0..PORT_ATTEMPTS {
            match Self::start_on(super::ports::free_port()) {
                Ok(r) => return r,
                Err(e) => last = e,
            }
        }
        panic!("redis-server did not start: {last}");
    }

    /// Starts a server on `port`; an error if it does not come up there as ours (e.g. the port
    /// is taken, even by another redis-server).
    pub fn start_on(port: u16) -> Result<Self, String> {
        let mut r = TestRedis {
            port,
            dir: tempfile::tempdir().expect("temp dir for redis"),
            child: None,
        };
        r.spawn().map(|()| r)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (like a crash); its data is gone, nothing is persisted.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a fresh, empty server on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn().expect("redis-server restart");
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    fn spawn(&mut self) -> Result<(), String> {
        let mut child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--daemonize", "no"])
            .args(["--loglevel", "warning"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run redis-server (is it installed?): {e}"))?;
        let pid = child.id();
        // Another server on this port (another test's, if the port was handed out twice) would
        // answer too: only an answer carrying our child's process id counts.
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if server_pid(self.port) == Some(pid) {
                self.child = Some(child);
                return Ok(());
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("exited with {status} on port {}", self.port));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "our server gave no answer on port {} within {START_DEADLINE:?}",
                    self.port
                ));
            }
            std::thread::sleep(POLL_EVERY);
        }
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The process id of the redis-server answering on `port`, if one answers.
fn server_pid(port: u16) -> Option<u32> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).ok()?;
    let mut con = client
        .get_connection_with_timeout(Duration::from_millis(500))
        .ok()?;
    let info: String = redis::cmd("INFO").arg("server").query(&mut con).ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .and_then(|v| v.trim().parse().ok())
}
