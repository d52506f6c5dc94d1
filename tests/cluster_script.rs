//! `scripts/cluster.sh` as a user runs it: Redis with Sentinel, PostgreSQL, coturn, three real
//! bridge nodes (this build's binary), HAProxy checking `/readyz` and kamailio in front of the
//! nodes' SIP, on free ports. Through the
//! proxy, in real Chromium: a caller and the operator pinned to node A (HAProxy's cookie), an
//! interpreter console pinned to node B that takes the call living on node A (its second session
//! goes to node A's public_url), all three hearing each other. Then node A gets SIGTERM: HAProxy
//! takes it out of rotation (its stats say DOWN, new requests, even with node A's cookie, are
//! answered by the others) while the call on it goes on, everyone still heard, and phone calls
//! (sipp) through kamailio are answered by the other nodes. Ctrl-C (SIGINT to the script's
//! process group, as a terminal sends it) stops every process.
use crate::common;

use common::browser::{speech_wav, Browser};
use common::fixtures::interpreter;
use hotline_bridge::domain::Level;
use hotline_bridge::pool::{InterpreterPool, RedisPool};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const STEP: Duration = Duration::from_secs(30);
/// The script starts eight servers and three debug-build nodes (each loads the seed roster).
const UP_DEADLINE: Duration = Duration::from_secs(360);
const MEDIA_UP: &str =
    "window.hotline.media && window.hotline.media.pc.connectionState === 'connected'";
/// Ports the script uses above its base (TCP and UDP are both checked; see its header).
const OFFSETS: &[u16] = &[
    0, 1, 10, 11, 12, 20, 21, 26, 27, 28, 32, 40, 41, 50, 51, 52, 60, 61, 62, 63,
];

struct Cluster {
    child: Child,
    base: u16,
    dir: String,
    operator_password: String,
    output: std::sync::mpsc::Receiver<String>,
}

impl Cluster {
    fn start() -> Cluster {
        let base = free_base();
        let mut child = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/cluster.sh"))
            .env("CLUSTER_PORT", base.to_string())
            .env("HOTLINE_BIN", env!("CARGO_BIN_EXE_hotline-bridge"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, like a terminal's foreground job: Ctrl-C reaches all of it.
            .process_group(0)
            .spawn()
            .expect("run scripts/cluster.sh");
        let (tx, output) = std::sync::mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        let mut cluster = Cluster {
            child,
            base,
            dir: String::new(),
            operator_password: String::new(),
            output,
        };
        let mut seen = Vec::new();
        let deadline = Instant::now() + UP_DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match cluster.output.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("hotline cluster up (logs and data in ") {
                        cluster.dir = rest.trim_end_matches(')').to_owned();
                    }
                    if let Some((_, pw)) = line.split_once("password: ") {
                        cluster.operator_password = pw.trim_end_matches(')').to_owned();
                    }
                    let done = line == "Ctrl-C stops everything.";
                    seen.push(line);
                    if done {
                        break;
                    }
                }
                Err(_) => panic!(
                    "the cluster did not come up within {UP_DEADLINE:?}:\n{}",
                    seen.join("\n")
                ),
            }
        }
        assert!(!cluster.dir.is_empty() && !cluster.operator_password.is_empty());
        println!("{}", seen.join("\n"));
        cluster
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.base)
    }

    fn node_url(&self, i: u16, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.base + 10 + i)
    }

    fn node_pid(&self, name: &str) -> i32 {
        std::fs::read_to_string(format!("{}/node-{name}.pid", self.dir))
            .expect("node pid file")
            .trim()
            .parse()
            .expect("pid")
    }

    /// HAProxy's view of `server` (node-a …): UP, DOWN, …, from its stats page's CSV.
    async fn status(&self, server: &str) -> String {
        let csv = reqwest::get(format!("http://127.0.0.1:{}/;csv", self.base + 1))
            .await
            .expect("stats")
            .text()
            .await
            .expect("csv");
        csv.lines()
            .find(|l| l.starts_with(&format!("nodes,{server},")))
            .and_then(|l| l.split(',').nth(17))
            .unwrap_or_default()
            .to_owned()
    }

    /// Ctrl-C: SIGINT to the script's process group; waits for the script to finish.
    fn interrupt(&mut self) -> std::process::ExitStatus {
        let group = format!("-{}", self.child.id());
        let ok = Command::new("kill")
            .args(["-INT", "--", &group])
            .status()
            .expect("kill");
        assert!(ok.success());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "the script did not stop in 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether any process of the script's group is still alive.
    fn group_alive(&self) -> bool {
        Command::new("kill")
            .args(["-0", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.group_alive() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .status();
        }
        let _ = self.child.wait();
    }
}

/// A base port whose offsets are all free, TCP and UDP, and the relay and RTP blocks above it.
fn free_base() -> u16 {
    'search: for _ in 0..200 {
        let base = 20_000 + (rand::random::<u16>() % 400) * 100;
        let ports = OFFSETS
            .iter()
            .map(|o| base + o)
            .chain(base + 100..base + 260);
        let mut held = Vec::new();
        for port in ports {
            let udp = std::net::UdpSocket::bind(("127.0.0.1", port));
            let tcp = std::net::TcpListener::bind(("127.0.0.1", port));
            match (udp, tcp) {
                (Ok(u), Ok(t)) => held.push((u, t)),
                _ => continue 'search,
            }
        }
        return base;
    }
    panic!("no free block of ports for the cluster");
}

/// A browser whose HAProxy cookie pins it to node `cookie` (a, b, c), on `path` of the proxy.
async fn pinned(
    cluster: &Cluster,
    lang: &str,
    mic: &std::path::Path,
    cookie: &str,
    path: &str,
) -> Browser {
    let b = Browser::launch(lang, Some(mic)).await;
    // Set on the stats page, which sets no cookie of its own (HAProxy's is HttpOnly, beyond a
    // page's reach once set); cookies do not go by port, so the proxy's pages send it.
    b.client
        .goto(&format!("http://127.0.0.1:{}/", cluster.base + 1))
        .await
        .expect("goto");
    b.eval(&format!(
        "document.cookie = 'HB_NODE={cookie}; path=/'; return true;"
    ))
    .await;
    b.client.goto(&cluster.url(path)).await.expect("goto");
    b
}

async fn node_id(url: String) -> String {
    let v: serde_json::Value = reqwest::get(url)
        .await
        .expect("readyz")
        .json()
        .await
        .expect("json");
    v["node"]["id"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_across_nodes_through_the_proxy_outlives_its_node_leaving_the_rotation() {
    let _heavy = common::one_heavy_at_a_time().await;
    let mut cluster = Cluster::start();
    let a_id = node_id(cluster.node_url(0, "/readyz")).await;

    // An interpreter for Portuguese, straight into the cluster's pool (through its sentinels).
    let mut settings = common::test_settings();
    settings.redis.url = String::new();
    settings.redis.sentinel_master = "hotline".into();
    settings.redis.sentinels = (26..=28)
        .map(|o| format!("127.0.0.1:{}", cluster.base + o))
        .collect();
    let pool = RedisPool::open(&settings.redis).expect("pool through the sentinels");
    let token = "li-na.cluster-test-token";
    let profile = interpreter("li-na")
        .name("Li Na")
        .token(token)
        .speaks("pt", Level::Professional)
        .always_on_shift()
        .build();
    pool.upsert(&profile).await.expect("upsert");

    let interpreter_mic = speech_wav("cluster-interpreter", "en", "Hello, I am the interpreter.");
    let interpreter = pinned(&cluster, "en-US,en", &interpreter_mic, "b", "/interpreter").await;
    interpreter.type_into("#token", token).await;
    interpreter.click("#signin-form button[type=submit]").await;
    interpreter
        .wait_for(
            "signed in",
            "!document.getElementById('console').hidden",
            STEP,
        )
        .await;
    interpreter.click("#go-available").await;
    interpreter
        .wait_for(
            "available",
            "document.getElementById('status').dataset.status === 'available'",
            STEP,
        )
        .await;

    let operator_mic = speech_wav("cluster-operator", "cmn", "您好，这里是市民热线。");
    let operator = pinned(&cluster, "zh-CN,zh,en", &operator_mic, "a", "/operator").await;
    operator.type_into("#name", common::ws::OPERATOR).await;
    operator
        .type_into("#password", &cluster.operator_password)
        .await;
    operator.click("#login-form button[type=submit]").await;
    operator
        .wait_for(
            "operator online",
            "document.getElementById('link').dataset.state === 'online'",
            STEP,
        )
        .await;

    let caller_mic = speech_wav("cluster-caller", "pt-br", "Olá, perdi o meu passaporte.");
    let caller = pinned(&cluster, "pt-BR,pt", &caller_mic, "a", "/call").await;
    caller
        .wait_for(
            "caller page",
            "document.documentElement.lang === 'pt'",
            STEP,
        )
        .await;
    caller.click("#call").await;
    caller.wait_for("caller media up", MEDIA_UP, STEP).await;
    operator
        .wait_for(
            "call queued",
            "document.querySelector('#queue tbody tr')",
            STEP,
        )
        .await;
    operator.click("#queue tbody tr button.primary").await;
    operator.wait_for("operator media up", MEDIA_UP, STEP).await;
    // Pre-dispatch may have rung her already; otherwise the operator asks.
    let ringing = "!document.getElementById('ringing').hidden";
    if interpreter.eval(&format!("return {ringing};")).await != true {
        operator.click("#dispatch-add").await;
    }
    interpreter.wait_for("the ring", ringing, STEP).await;
    interpreter.click("#accept").await;
    interpreter
        .wait_for(
            "in the call over a session to node A",
            &format!(
                "window.hotline.callSig && window.hotline.callSig.url === 'ws://127.0.0.1:{}/ws' \
                 && {MEDIA_UP}",
                cluster.base + 10
            ),
            STEP,
        )
        .await;
    caller
        .wait_for("three-way", "window.hotline.state === 'interpreter'", STEP)
        .await;
    let step = "three-way across nodes";
    caller.hears_audio(step, "the caller").await;
    operator.hears_audio(step, "the operator").await;
    interpreter.hears_audio(step, "the interpreter").await;

    // Node A, holding the call, is told to stop.
    let status = Command::new("kill")
        .args(["-TERM", &cluster.node_pid("a").to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = cluster.status("node-a").await;
        if s.starts_with("DOWN") || s.starts_with("MAINT") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "HAProxy still has node A as {s:?}"
        );
        // Polled: HAProxy's health checks run on its own clock (every second).
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let client = reqwest::Client::new();
    for cookie in ["", "HB_NODE=a"] {
        for _ in 0..6 {
            let v: serde_json::Value = client
                .get(cluster.url("/readyz"))
                .header("cookie", cookie)
                .send()
                .await
                .expect("readyz through the proxy")
                .json()
                .await
                .expect("json");
            assert_eq!(v["status"], "ready", "{v}");
            assert_ne!(
                v["node"]["id"],
                a_id.as_str(),
                "node A still in rotation ({cookie})"
            );
        }
    }
    // Phone calls through kamailio go on being answered: node A refuses them while it drains
    // (503) and kamailio tries the next node.
    let proxy: std::net::SocketAddr = format!("127.0.0.1:{}", cluster.base + 60)
        .parse()
        .expect("addr");
    let phones = common::sipp::run_calls(
        "uac_via_proxy_hangs_up.xml",
        "127.0.0.1",
        proxy,
        "12345001",
        3,
        &["-d", "500", "-r", "2"],
    )
    .await;
    assert_eq!(
        phones.code, 0,
        "phone calls through kamailio while node A drains:\n{}",
        phones.log
    );
    // Round robin over three nodes gave node A one of the three: refused there, answered next.
    let a_log = std::fs::read_to_string(format!("{}/node-a.log", cluster.dir)).expect("log");
    assert!(
        a_log.contains("INVITE while draining; refused"),
        "no phone call was tried on node A while it drained"
    );
    let step = "node A draining, out of rotation";
    caller.hears_audio(step, "the caller").await;
    operator.hears_audio(step, "the operator").await;
    interpreter.hears_audio(step, "the interpreter").await;
    assert_eq!(
        caller.eval("return window.hotline.state;").await,
        "interpreter",
        "{step}: the call was dropped"
    );

    caller.close().await;
    operator.close().await;
    interpreter.close().await;
    let status = cluster.interrupt();
    assert_eq!(status.code(), Some(130), "the script's exit on Ctrl-C");
    let deadline = Instant::now() + Duration::from_secs(20);
    while cluster.group_alive() {
        assert!(
            Instant::now() < deadline,
            "processes of the cluster outlived Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !std::path::Path::new(&cluster.dir).exists(),
        "the cluster's temporary directory was left"
    );
}
