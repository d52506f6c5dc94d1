//! Dispatch overhead on real Redis: from a request for an interpreter to the ring arriving on the
//! interpreter's WebSocket. Starts a redis-server on a free port (or uses `--redis-url`), serves
//! the app on loopback, signs in `--bots` interpreter bots, then makes `--requests` requests one
//! after another (each ring is cancelled so the pool stays free). Prints p50/p90/p99 and ends with
//! one line: `dispatch_overhead_p50_ms=… dispatch_overhead_p99_ms=…`.

use clap::Parser;
use hotline_bridge::api::messages::{LanguageSource, LanguageView};
use hotline_bridge::app::{self, AppState};
use hotline_bridge::config::Settings;
use hotline_bridge::domain::{
    InterpreterId, InterpreterProfile, Language, LanguageSkill, Level, UniversityId, WeeklySchedule,
};
use hotline_bridge::drivers::media;
use hotline_bridge::pool::RedisPool;
use hotline_bridge::testkit::interpreter_bot::{Answer, BotOptions, InterpreterBot};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How long one ring may take to arrive before the bench gives up.
const RING_WAIT: Duration = Duration::from_secs(10);
const REDIS_START: Duration = Duration::from_secs(10);

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 500)]
    requests: usize,
    #[arg(long, default_value_t = 20)]
    bots: usize,
    /// Use this Redis instead of starting one (its keys under the prefix are overwritten).
    #[arg(long)]
    redis_url: Option<String>,
}

struct Redis(Child);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_redis() -> anyhow::Result<(Redis, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let dir = std::env::temp_dir().join(format!("dispatch-bench-{port}"));
    std::fs::create_dir_all(&dir)?;
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(["--appendonly", "no", "--loglevel", "warning"])
        .arg("--dir")
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let redis = Redis(child);
    let deadline = Instant::now() + REDIS_START;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        anyhow::ensure!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((redis, format!("redis://127.0.0.1:{port}/")))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let (_redis, url) = match &a.redis_url {
        Some(u) => (None, u.clone()),
        None => {
            let (r, u) = start_redis()?;
            (Some(r), u)
        }
    };
    let mut settings = Settings::load_with_env(None, Vec::new())?;
    settings.roster.file = String::new();
    settings.redis.url = url;
    settings.dispatch.predispatch = false;
    settings.dispatch.ring_timeout_s = 30;
    settings.media.udp_port = 0;
    // Every bot connects from 127.0.0.1: the per-address caps are meant for real clients.
    settings.limits.ws_sessions_per_address = 0;
    settings.limits.connections_per_address = 0;
    let pool = RedisPool::open(&settings.redis)?;
    let m = media::start(&settings.media, CancellationToken::new())?;
    let state = AppState::new(
        settings,
        Arc::new(pool),
        hotline_bridge::pool::PoolKind::Redis,
        m,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    tokio::spawn(app::serve(listener, state.clone(), shutdown.clone()));

    let language = Language::parse("en")?;
    let shifts: Vec<serde_json::Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| serde_json::json!({"day": d, "start": "00:00", "end": "24:00"}))
        .collect();
    let schedule: WeeklySchedule =
        serde_json::from_value(serde_json::json!({"timezone": "UTC", "shifts": shifts}))?;
    let mut bots = Vec::new();
    for i in 0..a.bots {
        let id = format!("bench-{i:03}");
        let token = format!("{id}.bench-secret");
        state
            .pool
            .upsert(&InterpreterProfile {
                id: InterpreterId::parse(&id)?,
                university: UniversityId::parse("bench")?,
                name: id.clone(),
                languages: vec![LanguageSkill {
                    language,
                    level: Level::Professional,
                }],
                schedule: schedule.clone(),
                token_sha256: Some(hotline_bridge::auth::sha256_hex(&token)),
                phone: None,
                ring: Default::default(),
            })
            .await?;
        let mut bot = InterpreterBot::start(BotOptions {
            addr,
            token,
            answer: Answer::Ignore,
            delay: Duration::ZERO,
            heartbeat: Duration::from_secs(2),
            join_media: false,
            tag: i as u32,
        })
        .await?;
        bot.wait(RING_WAIT, |e| {
            e.kind() == "interpreter_status" && e.msg["status"] == "available"
        })
        .await
        .ok_or_else(|| anyhow::anyhow!("bot {i} did not become available"))?;
        bots.push(bot);
    }

    // Every bot's rings, merged into one stream of (arrival, call id). The bots themselves stay
    // here until the end: a bot whose command sender is dropped signs off.
    let (ring_tx, mut rings) = tokio::sync::mpsc::unbounded_channel();
    for bot in &mut bots {
        let tx = ring_tx.clone();
        let (_, closed) = tokio::sync::mpsc::unbounded_channel();
        let mut events = std::mem::replace(&mut bot.events, closed);
        tokio::spawn(async move {
            while let Some(e) = events.recv().await {
                if e.kind() == "ring" {
                    let _ = tx.send((e.at, e.msg["call_id"].as_str().unwrap_or("").to_owned()));
                }
            }
        });
    }

    let mut samples = Vec::with_capacity(a.requests);
    for _ in 0..a.requests {
        let (call, _) = state.calls.create(LanguageView {
            code: None,
            source: LanguageSource::Unknown,
            confidence: 0.0,
        });
        let id = call.id().clone();
        let t0 = Instant::now();
        state.dispatch.request(id.clone(), language).await?;
        let deadline = tokio::time::Instant::now() + RING_WAIT;
        loop {
            let (at, call_id) = tokio::time::timeout_at(deadline, rings.recv())
                .await?
                .ok_or_else(|| anyhow::anyhow!("bots gone"))?;
            if call_id == id.as_str() {
                samples.push(at.duration_since(t0).as_secs_f64() * 1000.0);
                break;
            }
        }
        state.dispatch.cancel(id).await?;
        let _ = call.hang_up().await;
    }
    shutdown.cancel();
    drop(bots);
    samples.sort_by(f64::total_cmp);
    let (p50, p90, p99) = (
        percentile(&samples, 0.5),
        percentile(&samples, 0.9),
        percentile(&samples, 0.99),
    );
    println!(
        "{} requests, {} bots: request → ring on the interpreter's WebSocket: p50 {p50:.2} ms, \
         p90 {p90:.2} ms, p99 {p99:.2} ms, max {:.2} ms",
        samples.len(),
        a.bots,
        samples.last().copied().unwrap_or(f64::NAN)
    );
    println!("dispatch_overhead_p50_ms={p50:.2} dispatch_overhead_p99_ms={p99:.2}");
    Ok(())
}
