//! Free loopback ports for child processes (redis-server, chromedriver). Tests in one binary run
//! in parallel, and the kernel may hand the same ephemeral port to two `bind(0)` calls once the
//! first listener is closed; so a port given out here is never given out again in this process.

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::{Mutex, OnceLock};

fn given() -> &'static Mutex<HashSet<u16>> {
    static GIVEN: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    GIVEN.get_or_init(|| Mutex::new(HashSet::new()))
}

/// The bridge's default RTP port range (config/default.toml), where phone legs' sockets come and
/// go while tests run in parallel: blocks handed out here stay clear of it.
const BRIDGE_RTP: std::ops::RangeInclusive<u16> = 40000..=40999;

/// The first of `count` consecutive UDP ports on loopback that were all free a moment ago and
/// none of which was given to another test of this process (sipp's media: its audio port and the
/// ones above it that it also binds), outside the bridge's RTP range.
pub fn free_udp_ports(count: u16) -> u16 {
    loop {
        let base = free_port();
        let Some(last) = base.checked_add(count) else {
            continue;
        };
        if BRIDGE_RTP.contains(&base) || BRIDGE_RTP.contains(&last) {
            continue;
        }
        let range = base..base + count;
        let sockets: Vec<_> = range
            .clone()
            .map(|p| std::net::UdpSocket::bind(("127.0.0.1", p)))
            .collect();
        if sockets.iter().any(Result::is_err) {
            continue;
        }
        let mut given = given().lock().unwrap_or_else(|e| e.into_inner());
        if range.clone().skip(1).any(|p| given.contains(&p)) {
            continue;
        }
        given.extend(range);
        return base;
    }
}

/// A port `p` for a SIP user agent that listens on UDP and TCP `p` and on TLS `p + 1` (baresip
/// does, with no way to turn TLS off): all three were free a moment ago, and neither port has
/// been given to another test of this process.
pub fn free_sip_ports() -> u16 {
    loop {
        let base = free_port();
        let Some(tls) = base.checked_add(1) else {
            continue;
        };
        let free = std::net::UdpSocket::bind(("127.0.0.1", base)).is_ok()
            && TcpListener::bind(("127.0.0.1", base)).is_ok()
            && TcpListener::bind(("127.0.0.1", tls)).is_ok();
        let mut given = given().lock().unwrap_or_else(|e| e.into_inner());
        if free && given.insert(tls) {
            return base;
        }
    }
}

/// A port that was free a moment ago and that no other test of this process has been given.
pub fn free_port() -> u16 {
    let given = given();
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("bind a free port");
        let mut given = given.lock().unwrap_or_else(|e| e.into_inner());
        if given.insert(port) {
            return port;
        }
    }
}
