//! The operating files in deploy/ hold together with the service: systemd accepts the unit
//! (`systemd-analyze verify`, with no warning), the unit gives a draining node the time the
//! settings allow it before killing it, lets the media shards have the real-time priority the
//! README's deployment settings ask for, and coturn's ports stay clear of the node's own.
//! (coturn running on deploy/turnserver.conf is tests/turn_relay.rs.)

use hotline_bridge::api::server::SHUTDOWN_GRACE;
use hotline_bridge::config::Settings;
use std::process::Command;

const UNIT: &str = include_str!("../deploy/hotline-bridge.service");
const TURN: &str = include_str!("../deploy/turnserver.conf");
const README: &str = include_str!("../README.md");

/// The values of `key=` lines (comments and blanks skipped).
fn values<'a>(file: &'a str, key: &str) -> Vec<&'a str> {
    file.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim())
        .collect()
}

fn one<'a>(file: &'a str, key: &str) -> &'a str {
    match values(file, key)[..] {
        [v] => v,
        ref all => panic!("{key}: expected one value, found {all:?}"),
    }
}

#[test]
fn systemd_accepts_the_unit_without_a_warning() {
    // The unit names the installed binary; verify checks that it exists, so point it at ours.
    let dir = tempfile::tempdir().expect("tempdir");
    let unit = UNIT.replace(
        "/usr/local/bin/hotline-bridge",
        env!("CARGO_BIN_EXE_hotline-bridge"),
    );
    let path = dir.path().join("hotline-bridge.service");
    std::fs::write(&path, unit).expect("write unit");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze (Debian's systemd, installed by scripts/test.sh)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify: {}\n{stderr}",
        out.status
    );
}

#[test]
fn the_unit_stops_by_draining_and_waits_for_the_drain() {
    let defaults = Settings::from_toml_str("").expect("defaults");
    assert_eq!(one(UNIT, "KillSignal"), "SIGTERM");
    assert_eq!(one(UNIT, "ExecReload"), "/bin/kill -HUP $MAINPID");
    let stop: u64 = one(UNIT, "TimeoutStopSec").parse().expect("seconds");
    let drain = defaults.server.drain_s + SHUTDOWN_GRACE.as_secs();
    assert!(
        stop > drain,
        "TimeoutStopSec={stop} kills a node still draining (drain_s + grace = {drain} s)"
    );
    // Sandboxed, with its state where the SQLite record goes.
    assert_eq!(one(UNIT, "DynamicUser"), "yes");
    assert_eq!(one(UNIT, "ProtectSystem"), "strict");
    let state = one(UNIT, "StateDirectory");
    assert_eq!(
        one(UNIT, "WorkingDirectory"),
        format!("/var/lib/{state}"),
        "the relative data/hotline.db must land in the state directory"
    );
    assert!(defaults.records.database.starts_with("sqlite://data/"));
    assert_eq!(one(UNIT, "CapabilityBoundingSet"), "");
}

#[test]
fn coturns_ports_stay_clear_of_the_nodes() {
    let defaults = Settings::from_toml_str("").expect("defaults");
    let listen: u16 = one(TURN, "listening-port").parse().expect("port");
    let (min, max): (u16, u16) = (
        one(TURN, "min-port").parse().expect("port"),
        one(TURN, "max-port").parse().expect("port"),
    );
    // One media shard per core by default: keep room for 64 cores.
    let media = defaults.media.udp_port..defaults.media.udp_port + 64;
    assert!(
        !media.contains(&listen),
        "coturn's {listen} is a media shard's port"
    );
    for port in [min, max] {
        assert!(
            !media.contains(&port),
            "relay port {port} is a media shard's"
        );
    }
    let rtp = defaults.sip.rtp_port_min..=defaults.sip.rtp_port_max;
    assert!(
        max < *rtp.start() || min > *rtp.end(),
        "coturn's relay ports {min}-{max} overlap the phone RTP ports {rtp:?}"
    );
    // The bridge's credentials scheme, and no open relay into the nodes' network.
    assert!(TURN.lines().any(|l| l.trim() == "use-auth-secret"));
    assert!(values(TURN, "denied-peer-ip").contains(&"0.0.0.0-255.255.255.255"));
}

#[test]
fn the_unit_lets_the_shards_have_the_real_time_priority_the_deployment_settings_ask_for() {
    // The README's settings for a public hotline set `realtime_priority = N` under [media].
    let asked: u8 = README
        .lines()
        .filter_map(|l| l.trim().strip_prefix("realtime_priority = "))
        .map(|v| v.split_whitespace().next().expect("a value"))
        .map(|v| v.parse().expect("a priority"))
        .next()
        .expect("the README's deployment settings set media.realtime_priority");
    assert!(
        asked > 0,
        "the deployment settings ask for real-time priority"
    );
    let limit: u8 = one(UNIT, "LimitRTPRIO").parse().expect("a number");
    assert!(
        limit >= asked,
        "LimitRTPRIO={limit} lets the service ask for {asked}"
    );
    assert_ne!(
        one(UNIT, "RestrictRealtime"),
        "yes",
        "SCHED_FIFO is not forbidden"
    );
    let s = Settings::from_toml_str(&format!("[media]\nrealtime_priority = {asked}"))
        .expect("a valid setting");
    assert_eq!(s.media.realtime_priority, asked);
}
