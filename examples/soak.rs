//! Soak: an hour of hotline traffic compressed into minutes, on several real `hotline-bridge`
//! processes sharing one redis-server, with nodes killed (`kill -9`) and restarted at random.
//! Operators answer calls and ask for interpreters; interpreter bots (consoles that reconnect to
//! a live node when theirs dies) accept or decline. At the end, with the traffic stopped, it
//! waits for the pool to settle (the dead nodes' leases expire and their interpreters are freed)
//! and ends with one line:
//! `calls=… served=… calls_lost=… kills=… interpreters_stuck=… double_bookings=… rss_start_mb=… rss_end_mb=…`.
//! `interpreters_stuck` and `double_bookings` must be 0. Node 0 is never killed: its RSS is the
//! one reported.
//!
//!     cargo build --release && cargo run --release --example soak -- --minutes 3

use anyhow::Context;
use clap::Parser;
use futures::{SinkExt, StreamExt};
use hotline_bridge::config::RedisSettings;
use hotline_bridge::domain::{
    InterpreterId, InterpreterProfile, Language, LanguageSkill, Level, UniversityId, WeeklySchedule,
};
use hotline_bridge::pool::{InterpreterPool, RedisPool, Status};
use hotline_bridge::testkit::interpreter_bot::{Answer, BotOptions, InterpreterBot};
use rand::Rng;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

const LANGUAGES: [&str; 3] = ["en", "fr", "pt"];
const OPERATOR: &str = "soak";
const OPERATOR_PASSWORD: &str = "soak-password";
/// How long a node may take to answer /healthz after it is started.
const NODE_START: Duration = Duration::from_secs(30);
/// How long an operator waits for an interpreter before hanging up unserved.
const SERVE_WAIT: Duration = Duration::from_secs(40);

#[derive(Parser)]
struct Args {
    /// Wall-clock minutes of traffic (one simulated hour is compressed into them).
    #[arg(long, default_value_t = 3.0)]
    minutes: f64,
    /// Bridge nodes (processes) sharing the Redis.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Interpreter bots (spread over en, fr, pt).
    #[arg(long, default_value_t = 18)]
    interpreters: usize,
    /// New calls per wall-clock minute.
    #[arg(long, default_value_t = 60)]
    calls_per_minute: u32,
    /// A node (never node 0) is killed about this often, and restarted 3 s later.
    #[arg(long, default_value_t = 25)]
    kill_every_s: u64,
    /// Longest wait, after the traffic stops, for every interpreter to be free again.
    #[arg(long, default_value_t = 90)]
    settle_s: u64,
    /// The service binary (default: `hotline-bridge` beside this example's target directory).
    #[arg(long)]
    bin: Option<std::path::PathBuf>,
}

/// What every task reports into.
#[derive(Default)]
struct Tally {
    calls: u64,
    served: u64,
    unserved: u64,
    lost: u64,
    double_bookings: u64,
    /// Interpreter → the call they were accepted for and its node, while that call lives.
    engaged: HashMap<String, (String, usize)>,
}

struct Node {
    port: u16,
    child: Option<Child>,
}

struct Cluster {
    bin: std::path::PathBuf,
    redis_url: String,
    operator_hash: String,
    nodes: Mutex<Vec<Node>>,
}

impl Cluster {
    fn start(&self, i: usize) -> anyhow::Result<()> {
        let port = self.nodes.lock().expect("nodes")[i].port;
        let child = Command::new(&self.bin)
            .env("HOTLINE__SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .env(
                "HOTLINE__SERVER__PUBLIC_URL",
                format!("http://127.0.0.1:{port}"),
            )
            .env("HOTLINE__REDIS__URL", &self.redis_url)
            .env("HOTLINE__REDIS__KEY_PREFIX", "soak")
            .env("HOTLINE__ROSTER__FILE", "")
            // Not the default SQLite file in the working folder, shared by every node.
            .env("HOTLINE__RECORDS__DATABASE", "")
            .env("HOTLINE__MEDIA__UDP_PORT", "0")
            .env("HOTLINE__DISPATCH__RING_TIMEOUT_S", "5")
            .env("HOTLINE__DISPATCH__WRAP_UP_S", "1")
            .env("HOTLINE__DISPATCH__PREDISPATCH", "false")
            .env("HOTLINE__DISPATCH__INTERPRETER_SILENCE_S", "0")
            .env("HOTLINE__CALLS__CREATE_PER_MINUTE", "100000")
            .env("HOTLINE__CALLS__CREATE_BURST", "100000")
            // Every simulated caller, operator and interpreter comes from 127.0.0.1: the
            // per-address caps are meant for real clients.
            .env("HOTLINE__CALLS__MAX_WAITING_PER_ADDRESS", "0")
            .env("HOTLINE__LIMITS__CONNECTIONS_PER_ADDRESS", "0")
            .env("HOTLINE__LIMITS__WS_SESSIONS_PER_ADDRESS", "0")
            .env(
                format!(
                    "HOTLINE__OPERATORS__{}__PASSWORD_ARGON2",
                    OPERATOR.to_uppercase()
                ),
                &self.operator_hash,
            )
            .env("HOTLINE_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", self.bin.display()))?;
        self.nodes.lock().expect("nodes")[i].child = Some(child);
        Ok(())
    }

    fn kill(&self, i: usize) -> bool {
        let mut nodes = self.nodes.lock().expect("nodes");
        match nodes[i].child.take() {
            Some(mut c) => {
                let _ = c.kill(); // SIGKILL
                let _ = c.wait();
                true
            }
            None => false,
        }
    }

    fn alive(&self) -> Vec<(usize, SocketAddr)> {
        let nodes = self.nodes.lock().expect("nodes");
        nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.child.is_some())
            .map(|(i, n)| (i, SocketAddr::from(([127, 0, 0, 1], n.port))))
            .collect()
    }

    fn pid(&self, i: usize) -> Option<u32> {
        self.nodes.lock().expect("nodes")[i]
            .child
            .as_ref()
            .map(Child::id)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.lock().map(|n| n.len()).unwrap_or(0) {
            self.kill(i);
        }
    }
}

async fn healthy(addr: SocketAddr) -> anyhow::Result<()> {
    let deadline = Instant::now() + NODE_START;
    loop {
        if let Ok(r) = reqwest::get(format!("http://{addr}/readyz")).await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "node {addr} not ready in {NODE_START:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn rss_mb(pid: Option<u32>) -> f64 {
    pid.and_then(|p| std::fs::read_to_string(format!("/proc/{p}/status")).ok())
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws_send(ws: &mut Ws, v: Value) -> anyhow::Result<()> {
    ws.send(Message::Text(v.to_string().into())).await?;
    Ok(())
}

/// The next JSON message satisfying `pred`; `None` when the socket ends or `wait` passes.
async fn ws_until(
    ws: &mut Ws,
    wait: Duration,
    mut pred: impl FnMut(&Value) -> bool,
) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
                if pred(&v) {
                    return Some(v);
                }
            }
            Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) | Ok(None) | Err(_) => return None,
            Ok(Some(Ok(_))) => {}
        }
    }
}

/// One call: a caller on a live node, an operator answers and asks for an interpreter, talks
/// for a while once one accepts, and hangs up. A call whose node dies under it is lost.
async fn one_call(cluster: Arc<Cluster>, tally: Arc<Mutex<Tally>>) -> anyhow::Result<()> {
    let alive = cluster.alive();
    let (node, addr) = alive[rand::thread_rng().gen_range(0..alive.len())];
    let language = LANGUAGES[rand::thread_rng().gen_range(0..LANGUAGES.len())];
    let http = reqwest::Client::new();
    tally.lock().expect("tally").calls += 1;
    let lost = |tally: &Arc<Mutex<Tally>>| tally.lock().expect("tally").lost += 1;
    let created: Value = match http
        .post(format!("http://{addr}/api/calls"))
        .json(&json!({"chosen": language}))
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => r.json().await?,
        _ => {
            lost(&tally);
            return Ok(());
        }
    };
    let call_id = created["call_id"].as_str().unwrap_or_default().to_owned();
    let (mut caller, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await?;
    ws_send(
        &mut caller,
        json!({"type": "hello", "token": created["token"], "call_id": call_id}),
    )
    .await?;
    let login: Value = http
        .post(format!("http://{addr}/api/operator/login"))
        .json(&json!({"name": OPERATOR, "password": OPERATOR_PASSWORD}))
        .send()
        .await?
        .json()
        .await?;
    let (mut op, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await?;
    ws_send(&mut op, json!({"type": "hello", "token": login["token"]})).await?;
    ws_send(&mut op, json!({"type": "answer_call", "call_id": call_id})).await?;
    ws_send(&mut op, json!({"type": "request_interpreter"})).await?;
    let accepted = ws_until(&mut op, SERVE_WAIT, |v| {
        v["type"] == "dispatch" && v["progress"]["event"] == "accepted"
    })
    .await;
    let Some(accepted) = accepted else {
        let alive_now = cluster.alive().iter().any(|(i, _)| *i == node);
        {
            let mut t = tally.lock().expect("tally");
            if alive_now {
                t.unserved += 1;
            } else {
                t.lost += 1;
            }
        }
        let _ = ws_send(&mut op, json!({"type": "hang_up"})).await;
        return Ok(());
    };
    let interpreter = accepted["progress"]["interpreter"]
        .as_str()
        .unwrap_or("?")
        .to_owned();
    {
        let mut t = tally.lock().expect("tally");
        t.served += 1;
        if let Some((other, _)) = t.engaged.get(&interpreter) {
            eprintln!("double booking: {interpreter} accepted {call_id} while in {other}");
            t.double_bookings += 1;
        }
        t.engaged
            .insert(interpreter.clone(), (call_id.clone(), node));
    }
    // Talk, then hang up; a node that dies meanwhile ends the operator's socket.
    let talk = Duration::from_millis(rand::thread_rng().gen_range(3_000..15_000));
    let ended_early = ws_until(&mut op, talk, |_| false).await.is_none()
        && !cluster.alive().iter().any(|(i, _)| *i == node);
    let _ = ws_send(&mut op, json!({"type": "hang_up"})).await;
    let mut t = tally.lock().expect("tally");
    if t.engaged
        .get(&interpreter)
        .is_some_and(|(c, _)| *c == call_id)
    {
        t.engaged.remove(&interpreter);
    }
    if ended_early {
        t.lost += 1;
    }
    Ok(())
}

/// One interpreter's console: signs in to a live node, and signs in again elsewhere whenever
/// its node goes away.
async fn console(
    cluster: Arc<Cluster>,
    token: String,
    tag: u32,
    stop: tokio_util::sync::CancellationToken,
) {
    while !stop.is_cancelled() {
        let alive = cluster.alive();
        let (_, addr) = alive[rand::thread_rng().gen_range(0..alive.len())];
        let opts = BotOptions {
            addr,
            token: token.clone(),
            answer: Answer::Random(0.85),
            delay: Duration::from_millis(300),
            heartbeat: Duration::from_secs(2),
            join_media: false,
            tag,
        };
        if let Ok(mut bot) = InterpreterBot::start(opts).await {
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    e = bot.events.recv() => match e {
                        None => break,
                        Some(e) if e.kind() == "closed" && !e.call_socket => break,
                        Some(_) => {}
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn register(pool: &RedisPool, n: usize) -> anyhow::Result<Vec<(String, String)>> {
    let shifts: Vec<Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| json!({"day": d, "start": "00:00", "end": "24:00"}))
        .collect();
    let schedule: WeeklySchedule =
        serde_json::from_value(json!({"timezone": "UTC", "shifts": shifts}))?;
    let mut out = Vec::new();
    for i in 0..n {
        let id = format!("soak-{i:03}");
        let token = format!("{id}.soak-secret");
        pool.upsert(&InterpreterProfile {
            id: InterpreterId::parse(&id)?,
            university: UniversityId::parse("soak")?,
            name: id.clone(),
            languages: vec![LanguageSkill {
                language: Language::parse(LANGUAGES[i % LANGUAGES.len()])?,
                level: Level::Professional,
            }],
            schedule: schedule.clone(),
            token_sha256: Some(hotline_bridge::auth::sha256_hex(&token)),
            phone: None,
            ring: Default::default(),
        })
        .await?;
        out.push((id, token));
    }
    Ok(out)
}

/// Interpreters offered or busy in the pool right now.
async fn engaged_in_pool(pool: &RedisPool) -> anyhow::Result<Vec<String>> {
    let now = hotline_bridge::drivers::clock::now_ms();
    let mut out = Vec::new();
    for l in LANGUAGES {
        for s in pool.states_for(Language::parse(l)?, now).await? {
            if matches!(s.status, Status::Offered | Status::Busy) {
                out.push(format!("{} ({:?})", s.id, s.status));
            }
        }
    }
    Ok(out)
}

fn cheap_argon2(password: &str) -> anyhow::Result<String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let params = argon2::Params::new(1024, 1, 1, None).map_err(|e| anyhow::anyhow!("{e}"))?;
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::encode_b64(b"soak-salt-16byte").map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(a.hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .to_string())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let bin = match a.bin {
        Some(b) => b,
        None => std::env::current_exe()?
            .parent()
            .and_then(|examples| examples.parent())
            .map(|dir| dir.join("hotline-bridge"))
            .context("no target directory")?,
    };
    anyhow::ensure!(
        bin.exists(),
        "{} not found: build it first (cargo build --release)",
        bin.display()
    );

    let redis_port = free_port()?;
    let redis_dir = tempfile::tempdir()?;
    let mut redis = Command::new("redis-server")
        .args([
            "--port",
            &redis_port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(["--appendonly", "no"])
        .arg("--dir")
        .arg(redis_dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting redis-server")?;
    let redis_url = format!("redis://127.0.0.1:{redis_port}/");
    let mut redis_settings: RedisSettings =
        hotline_bridge::config::Settings::load_with_env(None, Vec::new())?.redis;
    redis_settings.url = redis_url.clone();
    redis_settings.key_prefix = "soak".into();
    let pool = RedisPool::open(&redis_settings)?;
    let deadline = Instant::now() + NODE_START;
    while pool.ping().await.is_err() {
        anyhow::ensure!(Instant::now() < deadline, "redis-server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let interpreters = register(&pool, a.interpreters).await?;

    let mut nodes = Vec::new();
    for _ in 0..a.nodes.max(2) {
        nodes.push(Node {
            port: free_port()?,
            child: None,
        });
    }
    let cluster = Arc::new(Cluster {
        bin,
        redis_url,
        operator_hash: cheap_argon2(OPERATOR_PASSWORD)?,
        nodes: Mutex::new(nodes),
    });
    for i in 0..a.nodes.max(2) {
        cluster.start(i)?;
    }
    for (_, addr) in cluster.alive() {
        healthy(addr).await?;
    }
    let stop = tokio_util::sync::CancellationToken::new();
    let mut consoles = Vec::new();
    for (i, (_id, token)) in interpreters.into_iter().enumerate() {
        consoles.push(tokio::spawn(console(
            cluster.clone(),
            token,
            i as u32,
            stop.clone(),
        )));
    }
    // Let the consoles sign in, then measure the node that is never killed.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_start = rss_mb(cluster.pid(0));

    let tally = Arc::new(Mutex::new(Tally::default()));
    let run_for = Duration::from_secs_f64(a.minutes * 60.0);
    let started = Instant::now();
    let gap = Duration::from_secs_f64(60.0 / f64::from(a.calls_per_minute.max(1)));
    let mut calls = tokio::task::JoinSet::new();
    let mut kills = 0u64;
    let mut next_kill = Instant::now() + Duration::from_secs(a.kill_every_s);
    let mut next_progress = Instant::now() + Duration::from_secs(30);
    while started.elapsed() < run_for {
        calls.spawn(one_call(cluster.clone(), tally.clone()));
        if Instant::now() >= next_kill {
            let victim = rand::thread_rng().gen_range(1..a.nodes.max(2));
            if cluster.kill(victim) {
                kills += 1;
                let c = cluster.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    if c.start(victim).is_ok() {
                        let addr = SocketAddr::from((
                            [127, 0, 0, 1],
                            c.nodes.lock().expect("nodes")[victim].port,
                        ));
                        let _ = healthy(addr).await;
                    }
                });
            }
            let jitter = rand::thread_rng().gen_range(0.5..1.5);
            next_kill = Instant::now() + Duration::from_secs_f64(a.kill_every_s as f64 * jitter);
        }
        if Instant::now() >= next_progress {
            let t = tally.lock().expect("tally");
            eprintln!(
                "{:>4.0}s: calls {} served {} unserved {} lost {} kills {kills}",
                started.elapsed().as_secs_f64(),
                t.calls,
                t.served,
                t.unserved,
                t.lost
            );
            next_progress = Instant::now() + Duration::from_secs(30);
        }
        tokio::time::sleep(gap).await;
    }
    while let Some(r) = calls.join_next().await {
        if let Ok(Err(e)) = r {
            eprintln!("call task: {e:#}");
        }
    }
    // Every node alive again (a victim restarting), then wait for the pool to settle.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let settle = Instant::now() + Duration::from_secs(a.settle_s);
    let mut stuck = engaged_in_pool(&pool).await?;
    while !stuck.is_empty() && Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(500)).await;
        stuck = engaged_in_pool(&pool).await?;
    }
    if !stuck.is_empty() {
        eprintln!("still engaged after {} s: {}", a.settle_s, stuck.join(", "));
    }
    let rss_end = rss_mb(cluster.pid(0));
    stop.cancel();
    for c in consoles {
        let _ = c.await;
    }
    let t = tally.lock().expect("tally");
    println!(
        "calls={} served={} unserved={} calls_lost={} kills={kills} interpreters_stuck={} \
         double_bookings={} rss_start_mb={rss_start:.1} rss_end_mb={rss_end:.1}",
        t.calls,
        t.served,
        t.unserved,
        t.lost,
        stuck.len(),
        t.double_bookings
    );
    drop(t);
    drop(cluster);
    let _ = redis.kill();
    let _ = redis.wait();
    Ok(())
}
