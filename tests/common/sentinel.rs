//! `SentinelGroup`: a Redis master, one replica and three sentinels (`redis-sentinel`), real
//! processes on free loopback ports, each in its own temporary directory with its own config file,
//! deciding quickly (down after 1 s, failover timeout 5 s). The master can be killed like a crash;
//! everything is killed on drop.

use super::ports::free_port;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The name the sentinels monitor the master under.
pub const MASTER_NAME: &str = "hb-test";
/// How long a process may take to answer after it is started, and the group to settle.
const START_DEADLINE: Duration = Duration::from_secs(30);
const POLL_EVERY: Duration = Duration::from_millis(50);
/// Sentinels that must agree the master is down (of three).
const QUORUM: u32 = 2;
/// Sentinel decisions, short so the test is quick.
const DOWN_AFTER_MS: u64 = 1000;
const FAILOVER_TIMEOUT_MS: u64 = 5000;

/// One process of the group.
struct Process {
    port: u16,
    _dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Process {
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

pub struct SentinelGroup {
    /// The data servers: [0] starts as master, [1] as its replica.
    servers: Vec<Process>,
    sentinels: Vec<Process>,
}

impl SentinelGroup {
    /// Starts master, replica and sentinels, and waits until the replica is in sync and every
    /// sentinel knows the replica and the two other sentinels (only then can they fail over).
    pub fn start() -> Self {
        let master = spawn_server(None);
        let replica = spawn_server(Some(master.port));
        let sentinels: Vec<Process> = (0..3).map(|_| spawn_sentinel(master.port)).collect();
        let group = SentinelGroup {
            servers: vec![master, replica],
            sentinels,
        };
        let replica_port = group.servers[1].port;
        poll_until("the replica is in sync with the master", || {
            info(replica_port, "replication").is_some_and(|i| i.contains("master_link_status:up"))
        });
        for s in &group.sentinels {
            poll_until("every sentinel knows the replica and the others", || {
                let others: Option<Vec<redis::Value>> =
                    query(s.port, &["SENTINEL", "SENTINELS", MASTER_NAME]);
                let replicas: Option<Vec<redis::Value>> =
                    query(s.port, &["SENTINEL", "REPLICAS", MASTER_NAME]);
                others.is_some_and(|o| o.len() == 2) && replicas.is_some_and(|r| r.len() == 1)
            });
        }
        group
    }

    /// The sentinels' addresses, `127.0.0.1:port`.
    pub fn sentinel_addrs(&self) -> Vec<String> {
        self.sentinels
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.port))
            .collect()
    }

    /// The master's port as a majority of the sentinels name it now, if they agree.
    pub fn master_port(&self) -> Option<u16> {
        self.watch().master_port()
    }

    /// Kills the current master with SIGKILL (a crash); returns its port.
    pub fn kill_master(&mut self) -> u16 {
        let port = self.master_port().expect("the sentinels name a master");
        let server = self
            .servers
            .iter_mut()
            .find(|s| s.port == port)
            .expect("the master is one of ours");
        server.kill();
        port
    }

    /// A handle that asks the sentinels, for a task of its own.
    pub fn watch(&self) -> FailoverWatch {
        FailoverWatch {
            sentinels: self.sentinels.iter().map(|s| s.port).collect(),
        }
    }
}

/// Asks the group's sentinels who the master is.
#[derive(Clone)]
pub struct FailoverWatch {
    sentinels: Vec<u16>,
}

impl FailoverWatch {
    /// The master's port as a majority of the sentinels name it now, if they agree.
    pub fn master_port(&self) -> Option<u16> {
        let named: Vec<u16> = self
            .sentinels
            .iter()
            .filter_map(|port| {
                let addr: Option<(String, String)> =
                    query(*port, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME]);
                addr.and_then(|(_, port)| port.parse().ok())
            })
            .collect();
        let first = *named.first()?;
        (named.iter().filter(|p| **p == first).count() >= 2).then_some(first)
    }

    /// Waits (polling, up to `within`) until a majority of the sentinels name a master other
    /// than `old` and that server says it is the master; returns its port.
    pub async fn await_failover(&self, old: u16, within: Duration) -> u16 {
        let deadline = Instant::now() + within;
        loop {
            if let Some(port) = self.master_port().filter(|p| *p != old) {
                if info(port, "replication").is_some_and(|i| i.contains("role:master")) {
                    return port;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the sentinels promoted no replica within {within:?}"
            );
            tokio::time::sleep(POLL_EVERY).await;
        }
    }
}

fn spawn_server(replica_of: Option<u16>) -> Process {
    let port = free_port();
    let dir = tempfile::tempdir().expect("temp dir for redis");
    let mut conf = format!(
        "port {port}\nbind 127.0.0.1\nsave \"\"\nappendonly no\ndaemonize no\n\
         loglevel warning\nlogfile {}\ndir {}\n",
        dir.path().join("redis.log").display(),
        dir.path().display()
    );
    if let Some(master) = replica_of {
        conf.push_str(&format!("replicaof 127.0.0.1 {master}\n"));
    }
    spawn("redis-server", port, dir, &conf)
}

fn spawn_sentinel(master: u16) -> Process {
    let port = free_port();
    let dir = tempfile::tempdir().expect("temp dir for a sentinel");
    let conf = format!(
        "port {port}\nbind 127.0.0.1\ndaemonize no\nloglevel notice\nlogfile {}\ndir {}\n\
         sentinel monitor {MASTER_NAME} 127.0.0.1 {master} {QUORUM}\n\
         sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n\
         sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}\n\
         sentinel parallel-syncs {MASTER_NAME} 1\n",
        dir.path().join("sentinel.log").display(),
        dir.path().display()
    );
    spawn("redis-sentinel", port, dir, &conf)
}

/// Runs `program` on a config file (sentinels rewrite theirs, so each has its own) and waits
/// until it answers PING.
fn spawn(program: &str, port: u16, dir: tempfile::TempDir, conf: &str) -> Process {
    let file = dir.path().join("node.conf");
    std::fs::write(&file, conf).expect("write config");
    let child = Command::new(program)
        .arg(&file)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program} (is it installed?): {e}"));
    let mut p = Process {
        port,
        _dir: dir,
        child: Some(child),
    };
    let deadline = Instant::now() + START_DEADLINE;
    while query::<String>(port, &["PING"]).as_deref() != Some("PONG") {
        if let Some(Ok(Some(status))) = p.child.as_mut().map(|c| c.try_wait()) {
            panic!(
                "{program} exited with {status} on port {port}: {}",
                log(p._dir.path())
            );
        }
        assert!(
            Instant::now() < deadline,
            "{program} gave no answer on port {port}"
        );
        std::thread::sleep(POLL_EVERY);
    }
    p
}

fn log(dir: &Path) -> String {
    ["redis.log", "sentinel.log"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(dir.join(f)).ok())
        .collect()
}

fn poll_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + START_DEADLINE;
    while !ok() {
        assert!(
            Instant::now() < deadline,
            "{what}: not within {START_DEADLINE:?}"
        );
        std::thread::sleep(POLL_EVERY);
    }
}

/// One command to the server on `port`; `None` if it does not answer (or answers an error).
fn query<T: redis::FromRedisValue>(port: u16, args: &[&str]) -> Option<T> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).ok()?;
    let mut con = client
        .get_connection_with_timeout(Duration::from_millis(500))
        .ok()?;
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(&mut con).ok()
}

fn info(port: u16, section: &str) -> Option<String> {
    query(port, &["INFO", section])
}
