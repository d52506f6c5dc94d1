//! sipp (Debian `sip-tester`), a real and independent SIP implementation, as the trunk: a test
//! starts it on a loopback port of its own with a scenario from tests/sip/ and awaits its exit
//! (0: every step of the scenario happened, in order). Missing sipp fails the test, naming the fix.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// How long one scenario may run before sipp gives up on its own (`-timeout`).
pub const SCENARIO_TIMEOUT: Duration = Duration::from_secs(20);

/// A settings' `[sip]` listening on a free loopback port (UDP and TCP), with trunk `pbx` for
/// `sources`, and DID 12345001 → pt.
pub fn sip_settings(s: &mut hotline_bridge::config::Settings, sources: &[&str]) -> SocketAddr {
    let port = super::ports::free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    s.sip.enabled = true;
    s.sip.listen_udp = addr;
    s.sip.listen_tcp = addr;
    s.sip.public_ip = addr.ip();
    s.sip.dids.insert(
        "12345001".into(),
        hotline_bridge::domain::Language::parse("pt").expect("pt"),
    );
    s.sip.trunks.insert(
        "pbx".into(),
        hotline_bridge::config::sip::TrunkSettings {
            sources: sources.iter().map(|s| s.to_string()).collect(),
            username: String::new(),
            password: String::new(),
            dial: String::new(),
        },
    );
    addr
}

/// A hotline with a phone trunk and a signed-in operator's console, and a phone whose call is
/// queued (`queued_phone`).
pub struct QueuedPhone {
    pub app: super::TestApp,
    pub op_token: String,
    pub console: super::ws::WsClient,
    /// The phone's RTP: what it hears, the keys it presses.
    pub phone_rtp: super::phone_rtp::PhoneRtp,
    /// sipp, until it exits.
    pub phone: tokio::task::JoinHandle<SippRun>,
    pub call_id: hotline_bridge::domain::CallId,
}

/// Serves `state` (its settings given a trunk at `bridge` by `sip_settings`), signs the
/// operator in, and has sipp call the Portuguese number 12345001 with `scenario` (one with an
/// `rtp_port` key, e.g. `uac_audio_until_bye.xml`, from +8613912345678) and `extra` arguments,
/// its audio the test's own phone socket; returns once the call is in the console's queue.
pub async fn queued_phone(
    state: hotline_bridge::api::state::AppState,
    bridge: SocketAddr,
    scenario: &str,
    extra: &[&str],
) -> QueuedPhone {
    let step = Duration::from_secs(20);
    let app = super::spawn_app(state).await;
    let op_token = super::ws::operator_login(&app.url("")).await;
    let mut console = super::ws::operator_session(app.addr, &op_token).await;
    let phone_rtp = super::phone_rtp::PhoneRtp::start().await;
    let phone = phone_call(bridge, "12345001", scenario, phone_rtp.addr, extra);
    let queued = first_queued(&mut console, step).await;
    let id = queued["call_id"].as_str().expect("call id");
    let call_id = hotline_bridge::domain::CallId::parse(id).expect("id");
    QueuedPhone {
        app,
        op_token,
        console,
        phone_rtp,
        phone,
        call_id,
    }
}

/// The entry of the first call in a queue the operator's console `ws` is sent, within `step`.
pub async fn first_queued(ws: &mut super::ws::WsClient, step: Duration) -> serde_json::Value {
    tokio::time::timeout(step, async {
        loop {
            let q = ws.wait_for("queue").await;
            if let Some(c) = q["calls"].as_array().and_then(|c| c.first()) {
                return c.clone();
            }
        }
    })
    .await
    .expect("a phone call in the operator queue")
}

/// What `phone` (a spawned `run`) left once sipp exits: within its own scenario timeout plus
/// `step`.
pub async fn finished(phone: tokio::task::JoinHandle<SippRun>, step: Duration) -> SippRun {
    tokio::time::timeout(step + SCENARIO_TIMEOUT, phone)
        .await
        .expect("sipp finishes")
        .expect("sipp task")
}

/// sipp's scenario in `phone` ran to its end (every step, in order: exit 0), or the test fails
/// saying `what` was expected, with sipp's log.
pub async fn completed(phone: tokio::task::JoinHandle<SippRun>, step: Duration, what: &str) {
    let run = finished(phone, step).await;
    assert_eq!(run.code, 0, "{what}:\n{}", run.log);
}

/// No call is live on the node whose `live_count()` is `live`, within `step`.
pub async fn no_call_left(
    live: &mut tokio::sync::watch::Receiver<usize>,
    step: Duration,
    why: &str,
) {
    tokio::time::timeout(step, live.wait_for(|n| *n == 0))
        .await
        .unwrap_or_else(|_| panic!("{why}: a call is still live"))
        .expect("registry");
}

/// What a sipp run left: its exit code and its log (errors and messages), for assertion messages.
pub struct SippRun {
    pub code: i32,
    pub log: String,
}

/// Runs `scenario` (a file in tests/sip/) once from `local_ip` against `bridge`, calling number
/// `service`, with `extra` arguments; returns when sipp exits.
pub async fn run(
    scenario: &str,
    local_ip: &str,
    bridge: SocketAddr,
    service: &str,
    extra: &[&str],
) -> SippRun {
    run_calls(scenario, local_ip, bridge, service, 1, extra).await
}

/// sipp calls `number` through the trunk with `scenario` (one of those with an `rtp_port` key,
/// e.g. `uac_audio_until_bye.xml`), its audio going to and from the test's own phone socket
/// `rtp` (`phone_rtp::PhoneRtp`); `extra` as sipp's arguments. Runs in the background.
pub fn phone_call(
    bridge: SocketAddr,
    number: &str,
    scenario: &str,
    rtp: SocketAddr,
    extra: &[&str],
) -> tokio::task::JoinHandle<SippRun> {
    let mut args = vec!["-key".to_owned(), "rtp_port".into(), rtp.port().to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    let (number, scenario) = (number.to_owned(), scenario.to_owned());
    tokio::spawn(async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&scenario, "127.0.0.1", bridge, &number, &args).await
    })
}

/// As `run`, with `calls` calls of the scenario (sipp's default rate unless `extra` sets `-r`).
pub async fn run_calls(
    scenario: &str,
    local_ip: &str,
    bridge: SocketAddr,
    service: &str,
    calls: u32,
    extra: &[&str],
) -> SippRun {
    let port = super::ports::free_port();
    let bridge = bridge.to_string();
    let mut args = vec!["-s", service];
    args.extend_from_slice(extra);
    args.push(&bridge);
    sipp(scenario, local_ip, port, calls, &args).await
}

/// Runs `scenario` (a file in tests/sip/) as a phone that is called: sipp listens on
/// `local_ip:port` for one call (the bridge dialling it through its outbound trunk); returns
/// when sipp exits.
pub async fn answer_one(scenario: &str, local_ip: &str, port: u16, extra: &[&str]) -> SippRun {
    sipp(scenario, local_ip, port, 1, extra).await
}

/// A settings' outbound trunk (made by `sip_settings` first): trunk `pbx` dials `phone`.
pub fn dial_through_pbx(s: &mut hotline_bridge::config::Settings, phone: SocketAddr) {
    if let Some(t) = s.sip.trunks.get_mut("pbx") {
        t.dial = phone.to_string();
    }
    s.sip.outbound_trunk = "pbx".into();
}

async fn sipp(scenario: &str, local_ip: &str, port: u16, calls: u32, args: &[&str]) -> SippRun {
    let sipp = which_sipp();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sip")
        .join(scenario);
    let port = port.to_string();
    // sipp binds its audio port, the one above (RTCP) and the two above that (video).
    let media = super::ports::free_udp_ports(4).to_string();
    let timeout = format!("{}s", SCENARIO_TIMEOUT.as_secs());
    let calls = calls.to_string();
    let out = Command::new(sipp)
        .current_dir(dir.path())
        .args(["-sf", file.to_str().expect("path")])
        .args(["-i", local_ip, "-p", &port, "-mp", &media])
        .args([
            "-m",
            &calls,
            "-timeout",
            &timeout,
            "-timeout_error",
            "-nostdin",
        ])
        .args(["-trace_err", "-trace_msg"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output()
        .await
        .expect("run sipp");
    let mut log = String::from_utf8_lossy(&out.stderr).into_owned();
    for entry in std::fs::read_dir(dir.path())
        .expect("read sipp dir")
        .flatten()
    {
        log.push_str(&format!("\n--- {}\n", entry.file_name().to_string_lossy()));
        log.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
    }
    SippRun {
        code: out.status.code().unwrap_or(-1),
        log,
    }
}

fn which_sipp() -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("sipp"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "sipp is not installed: these tests need a real SIP peer. Install Debian's \
                 sip-tester (apt-get install sip-tester), or run scripts/test.sh, which does."
            )
        })
}
