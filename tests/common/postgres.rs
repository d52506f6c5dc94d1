//! `TestPostgres`: a real PostgreSQL (Debian's postgresql package) on a free loopback port (never
//! 5432), its cluster made by initdb in a temporary directory, without fsync; it can be stopped
//! (a fast shutdown, like a maintenance restart) and started again on the same port with its data,
//! and is stopped on drop. As root the server runs as the `postgres` user, since it refuses root.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the server may take to say "ready" in its pid file after it is started, and to stop.
const START_DEADLINE: Duration = Duration::from_secs(30);
const POLL_EVERY: Duration = Duration::from_millis(20);
/// Attempts at finding a free port (another process may take the one we picked).
const PORT_ATTEMPTS: usize = 5;
/// The superuser initdb makes; trust authentication on loopback, so no password.
const USER: &str = "hotline";

pub struct TestPostgres {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// The user and group to run as (`None`: as this process).
    run_as: Option<(u32, u32)>,
}

impl TestPostgres {
    /// Makes a cluster and starts a server on a free port; waits until it accepts connections.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir for postgres");
        let run_as = run_as();
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown temp dir");
        }
        let status = Command::new(bin("initdb"))
            .arg("-D")
            .arg(dir.path().join("data"))
            .args(["-U", USER, "-A", "trust", "-E", "UTF8", "--no-sync"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .as_user(run_as)
            .status()
            .expect("cannot run initdb (is the postgresql package installed?)");
        assert!(status.success(), "initdb failed: {status}");
        let mut pg = TestPostgres {
            port: 0,
            dir,
            child: None,
            run_as,
        };
        let mut last = String::new();
        for _ in 0..PORT_ATTEMPTS {
            pg.port = super::ports::free_port();
            match pg.spawn() {
                Ok(()) => return pg,
                Err(e) => last = e,
            }
        }
        panic!("postgres did not start: {last}");
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server (a fast shutdown: sessions are cut, like a restart for maintenance) and
    /// waits until it is gone; its data stays.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGINT is PostgreSQL's fast shutdown; SIGKILL would leave its backends running.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
            let deadline = Instant::now() + START_DEADLINE;
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(POLL_EVERY);
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, with the data it had.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn().expect("postgres restart");
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    fn spawn(&mut self) -> Result<(), String> {
        let data = self.dir.path().join("data");
        let mut child = Command::new(bin("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                self.dir.path().display()
            ))
            .args(["-c", "fsync=off", "-c", "full_page_writes=off"])
            .args(["-c", "synchronous_commit=off", "-c", "max_connections=40"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .as_user(self.run_as)
            .spawn()
            .map_err(|e| {
                format!("cannot run postgres (is the postgresql package installed?): {e}")
            })?;
        // Ready when the pid file names our child and says so (a server of another test on this
        // port would make ours exit instead).
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if ready(&data.join("postmaster.pid"), child.id()) {
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
                    "not ready on port {} within {START_DEADLINE:?}",
                    self.port
                ));
            }
            std::thread::sleep(POLL_EVERY);
        }
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The pid file's first line is the server's pid and its eighth its status ("ready" once it
/// accepts connections).
fn ready(pid_file: &Path, pid: u32) -> bool {
    let Ok(text) = std::fs::read_to_string(pid_file) else {
        return false;
    };
    let lines: Vec<&str> = text.lines().collect();
    lines.first().map(|l| l.trim()) == Some(pid.to_string().as_str())
        && lines.get(7).is_some_and(|l| l.trim() == "ready")
}

/// As root: the `postgres` user's ids (PostgreSQL will not run as root).
fn run_as() -> Option<(u32, u32)> {
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .expect("run id");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("as root the tests run PostgreSQL as the `postgres` user: it must exist")
    };
    Some((id("-u"), id("-g")))
}

/// A PostgreSQL program: from the newest /usr/lib/postgresql/<version>/bin (Debian keeps them
/// off PATH), else from PATH.
fn bin(name: &str) -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse().ok()?;
            Some((v, e.path().join("bin").join(name)))
        })
        .filter(|(_, p)| p.exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .map_or_else(|| PathBuf::from(name), |(_, p)| p)
}

trait AsUser {
    fn as_user(&mut self, ids: Option<(u32, u32)>) -> &mut Self;
}

impl AsUser for Command {
    fn as_user(&mut self, ids: Option<(u32, u32)>) -> &mut Self {
        if let Some((uid, gid)) = ids {
            self.uid(uid).gid(gid);
        }
        self
    }
}
