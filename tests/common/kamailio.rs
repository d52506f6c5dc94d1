//! Kamailio (Debian `kamailio`), a real SIP proxy, in front of the bridge: a test starts it in the
//! foreground with tests/sip/kamailio.cfg filled in (its own loopback address and port, the
//! bridge's address) in a temporary directory, waits until it answers an OPTIONS (no fixed sleep),
//! and stops it when the handle is dropped. Missing kamailio fails the test, naming the fix.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;

/// How long kamailio may take to answer its first OPTIONS.
const READY_DEADLINE: Duration = Duration::from_secs(15);
/// How long one readiness probe waits for its answer before the next is sent.
const PROBE_EVERY: Duration = Duration::from_millis(100);
/// How long kamailio is given to stop its children after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);
const BINARY: &str = "/usr/sbin/kamailio";
const MODULES: &str = "/usr/lib/x86_64-linux-gnu/kamailio/modules";

pub struct Kamailio {
    /// Where the proxy listens (UDP).
    pub addr: SocketAddr,
    child: Option<Child>,
    log: tempfile::NamedTempFile,
    _dir: tempfile::TempDir,
}

impl Kamailio {
    /// Starts kamailio on `ip` (a free port) relaying to `bridge`; returns once it answers.
    pub async fn start(ip: &str, bridge: SocketAddr) -> Kamailio {
        let binary = Path::new(BINARY);
        assert!(
            binary.is_file(),
            "kamailio is not installed: the behind-a-proxy test needs a real SIP proxy. Install \
             Debian's kamailio (apt-get install kamailio), or run scripts/test.sh, which does."
        );
        let port = super::ports::free_port();
        let addr: SocketAddr = format!("{ip}:{port}").parse().expect("proxy addr");
        let dir = tempfile::tempdir().expect("temp dir");
        let template = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sip/kamailio.cfg");
        let cfg = std::fs::read_to_string(&template)
            .expect("read kamailio.cfg")
            .replace("@PROXY_IP@", ip)
            .replace("@PROXY_PORT@", &port.to_string())
            .replace("@BRIDGE_IP@", &bridge.ip().to_string())
            .replace("@BRIDGE_PORT@", &bridge.port().to_string())
            .replace("@MODULES@", MODULES);
        let cfg_path = dir.path().join("kamailio.cfg");
        std::fs::write(&cfg_path, cfg).expect("write kamailio.cfg");
        let log = tempfile::NamedTempFile::new().expect("log file");
        // -DD: stay in the foreground (children still forked); -E: log to stderr; -Y: runtime
        // files in our directory, not /run/kamailio.
        let child = Command::new(binary)
            .args(["-DD", "-E", "-f"])
            .arg(&cfg_path)
            .arg("-Y")
            .arg(dir.path())
            .args(["-m", "32", "-M", "8"])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.reopen().expect("log"))
            .stderr(log.reopen().expect("log"))
            .spawn()
            .expect("start kamailio");
        let mut k = Kamailio {
            addr,
            child: Some(child),
            log,
            _dir: dir,
        };
        k.await_ready().await;
        k
    }

    /// What kamailio logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    async fn await_ready(&mut self) {
        let probe = UdpSocket::bind("127.0.0.1:0").await.expect("probe socket");
        let local = probe.local_addr().expect("probe addr");
        let deadline = Instant::now() + READY_DEADLINE;
        let mut buf = vec![0u8; 4096];
        for n in 1u32.. {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!(
                    "kamailio exited ({status}) before it was ready:\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "kamailio did not answer OPTIONS on {} within {READY_DEADLINE:?}:\n{}",
                self.addr,
                self.log()
            );
            let options = format!(
                "OPTIONS sip:ping@{proxy} SIP/2.0\r\n\
                 Via: SIP/2.0/UDP {local};branch=z9hG4bK-ready-{n}\r\n\
                 From: <sip:test@{local}>;tag=ready\r\nTo: <sip:ping@{proxy}>\r\n\
                 Call-ID: ready-{n}@{local}\r\nCSeq: {n} OPTIONS\r\nMax-Forwards: 70\r\n\
                 Content-Length: 0\r\n\r\n",
                proxy = self.addr
            );
            probe
                .send_to(options.as_bytes(), self.addr)
                .await
                .expect("send OPTIONS");
            if let Ok(Ok((len, _))) =
                tokio::time::timeout(PROBE_EVERY, probe.recv_from(&mut buf)).await
            {
                if buf[..len].starts_with(b"SIP/2.0 200") {
                    return;
                }
            }
        }
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SIGTERM lets the main process stop the children it forked; SIGKILL only if it hangs.
        if let Ok(pid) = i32::try_from(child.id()) {
            // SAFETY: signalling a process this test started and still owns (not yet reaped).
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}
