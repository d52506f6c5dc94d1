//! `TestCoturn`: a real coturn (`turnserver`, Debian's `coturn`) on free loopback ports, in a
//! temporary directory, with the shared secret the service signs its time-limited TURN
//! credentials with (`use-auth-secret`), on the configuration shipped in deploy/turnserver.conf.
//! It relays on 127.0.0.1 and to 127.0.0.1 only (the test's media service is there), has no
//! CLI, TLS or DTLS listeners, and is killed on drop.

use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long coturn may take to answer a STUN binding request after it is started.
const START_DEADLINE: Duration = Duration::from_secs(10);
/// Relay ports the server may allocate from (one per allocation).
const RELAY_PORTS: u16 = 16;
pub const REALM: &str = "hotline.test";

pub struct TestCoturn {
    pub port: u16,
    /// The ports relayed media leaves from: a relay candidate of this server has one of them.
    pub relay_ports: std::ops::RangeInclusive<u16>,
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl TestCoturn {
    /// Starts coturn with `secret` as its `static-auth-secret` and waits until it answers STUN.
    pub fn start(secret: &str) -> TestCoturn {
        let dir = tempfile::tempdir().expect("temp dir for coturn");
        let port = super::ports::free_udp_ports(2);
        let relay = super::ports::free_udp_ports(RELAY_PORTS);
        let log = dir.path().join("turn.log");
        let child = Command::new("turnserver")
            // The shipped configuration (not Debian's /etc/turnserver.conf), the test's
            // ports, addresses and secret over it.
            .arg("-c")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/deploy/turnserver.conf"
            ))
            .args(["--no-stdout-log", "--simple-log", "--verbose"])
            .arg("--log-file")
            .arg(&log)
            .arg("--pidfile")
            .arg(dir.path().join("turn.pid"))
            .arg("--userdb")
            .arg(dir.path().join("turndb"))
            .args(["--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1"])
            .args(["--listening-port", &port.to_string()])
            .args(["--alt-listening-port", &(port + 1).to_string()])
            .args(["--min-port", &relay.to_string()])
            .args(["--max-port", &(relay + RELAY_PORTS - 1).to_string()])
            .args(["--use-auth-secret", "--static-auth-secret", secret])
            .args(["--realm", REALM, "--fingerprint"])
            // The test's media service listens on loopback, which coturn refuses by default;
            // the configuration denies every peer but the media nodes' addresses.
            .args(["--allow-loopback-peers", "--allowed-peer-ip", "127.0.0.1"])
            .args(["--no-tls", "--no-dtls"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("turnserver (coturn, installed by scripts/test.sh)");
        let mut turn = TestCoturn {
            port,
            relay_ports: relay..=relay + RELAY_PORTS - 1,
            child,
            log,
            _dir: dir,
        };
        turn.wait_answering();
        turn
    }

    /// The URL to hand the pages (`media.turn_urls`), UDP.
    pub fn url(&self) -> String {
        format!("turn:127.0.0.1:{}?transport=udp", self.port)
    }

    /// What coturn has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends STUN binding requests until one is answered.
    fn wait_answering(&mut self) {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("udp");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        // A binding request: type 0x0001, no attributes, the magic cookie, a transaction id.
        let mut request = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
        request.extend_from_slice(b"hotline-test");
        let deadline = Instant::now() + START_DEADLINE;
        let mut answer = [0u8; 512];
        loop {
            let _ = socket.send_to(&request, ("127.0.0.1", self.port));
            if let Ok((n, _)) = socket.recv_from(&mut answer) {
                // A binding success response for our transaction.
                if n >= 20 && answer[..2] == [0x01, 0x01] && answer[8..20] == request[8..20] {
                    return;
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("coturn exited at start-up ({status}):\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "coturn did not answer on port {} within {START_DEADLINE:?}:\n{}",
                self.port,
                self.log()
            );
        }
    }
}

impl Drop for TestCoturn {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- coturn log ---\n{}--- end of coturn log ---",
                self.log()
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
