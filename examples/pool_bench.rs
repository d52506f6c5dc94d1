//! Pool benchmark: claim → accept → release round trips on `RedisPool` and `MemoryPool`, one at a
//! time and from C concurrent tasks (sharing one pool, as one node's dispatchers do). Starts its
//! own redis-server on a free loopback port unless `--redis-url` is given. Prints a table and ends
//! with one `key=value` line: p50/p99 are sequential round trips, cycles/s the concurrent rate.
//!
//! `cargo run --release --example pool_bench -- --interpreters 64 --cycles 5000 --concurrency 16`

use clap::Parser;
use hotline_bridge::config::Settings;
use hotline_bridge::domain::{
    CallId, InterpreterId, InterpreterProfile, Language, LanguageSkill, Level, Millis, NodeId,
    OfferId, TimeZoneName, UniversityId, WeeklySchedule,
};
use hotline_bridge::pool::{Availability, ClaimRequest, InterpreterPool, MemoryPool, RedisPool};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const T0: Millis = 1_750_040_000_000;
/// Offers never expire during a run.
const RING_MS: u64 = 3_600_000;
const REDIS_START_DEADLINE: Duration = Duration::from_secs(10);

#[derive(Parser)]
struct Args {
    /// Interpreters in the pool.
    #[arg(long, default_value_t = 64)]
    interpreters: usize,
    /// Cycles per measurement (sequential, and in total across the concurrent tasks).
    #[arg(long, default_value_t = 5000)]
    cycles: usize,
    /// Concurrent tasks; each gets its own slice of interpreters, so claims do not contend.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Use this Redis instead of starting one (keys go under the prefix `bench-<pid>`).
    #[arg(long)]
    redis_url: Option<String>,
}

/// A redis-server of our own, killed on drop.
struct OwnRedis {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_redis() -> anyhow::Result<(OwnRedis, String)> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let dir = tempfile::tempdir()?;
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--loglevel", "warning"])
        .arg("--dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let own = OwnRedis { child, _dir: dir };
    let url = format!("redis://127.0.0.1:{port}/");
    let client = redis::Client::open(url.as_str())?;
    let deadline = Instant::now() + REDIS_START_DEADLINE;
    while client
        .get_connection()
        .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
        .is_err()
    {
        anyhow::ensure!(Instant::now() < deadline, "redis-server did not answer");
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok((own, url))
}

fn profile(id: &InterpreterId) -> InterpreterProfile {
    InterpreterProfile {
        id: id.clone(),
        university: UniversityId::parse("bench").expect("literal id"),
        name: format!("Interpreter {id}"),
        languages: vec![LanguageSkill {
            language: Language::parse("pt").expect("literal language"),
            level: Level::Native,
        }],
        schedule: WeeklySchedule {
            timezone: TimeZoneName::parse("UTC").expect("literal tz"),
            shifts: Vec::new(),
        },
        token_sha256: None,
        phone: None,
        ring: Default::default(),
    }
}

async fn seed(pool: &dyn InterpreterPool, n: usize) -> anyhow::Result<Vec<InterpreterId>> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let id = InterpreterId::parse(&format!("pt-{i}"))?;
        pool.upsert(&profile(&id)).await?;
        pool.heartbeat(&id, T0).await?;
        pool.set_availability(&id, Availability::Available, T0)
            .await?;
        ids.push(id);
    }
    Ok(ids)
}

/// `cycles` claim → accept → release round trips over `candidates`; returns each one's latency.
async fn cycles(
    pool: Arc<dyn InterpreterPool>,
    tag: String,
    candidates: Vec<InterpreterId>,
    cycles: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut out = Vec::with_capacity(cycles);
    for n in 0..cycles {
        let offer = OfferId::parse(&format!("{tag}-{n}"))?;
        let req = ClaimRequest {
            offer_id: offer.clone(),
            node: NodeId::new(1),
            call_id: CallId::parse(&format!("call-{tag}-{n}"))?,
            language: Language::parse("pt")?,
            candidates: candidates.clone(),
            now: T0,
            deadline: T0 + RING_MS,
            presence_ttl_ms: RING_MS,
        };
        let start = Instant::now();
        let o = pool
            .claim(&req)
            .await?
            .ok_or_else(|| anyhow::anyhow!("{tag}: nobody free"))?;
        pool.respond(&offer, &o.interpreter, true, T0).await?;
        pool.release(&offer, T0, 0).await?;
        out.push(start.elapsed());
    }
    Ok(out)
}

struct Figures {
    p50_us: f64,
    p99_us: f64,
    cycles_per_s: f64,
    cycles: usize,
}

fn figures(mut lat: Vec<Duration>, wall: Duration) -> Figures {
    lat.sort();
    let pick = |q: f64| {
        let i = ((lat.len() as f64 * q).ceil() as usize).clamp(1, lat.len()) - 1;
        lat[i].as_secs_f64() * 1e6
    };
    Figures {
        p50_us: pick(0.50),
        p99_us: pick(0.99),
        cycles_per_s: lat.len() as f64 / wall.as_secs_f64(),
        cycles: lat.len(),
    }
}

/// Sequential, then concurrent figures for one pool.
async fn measure(
    name: &str,
    pool: Arc<dyn InterpreterPool>,
    args: &Args,
) -> anyhow::Result<(Figures, Figures)> {
    let ids = seed(pool.as_ref(), args.interpreters).await?;
    // Warm-up: connections made, scripts loaded.
    cycles(pool.clone(), format!("{name}-warm"), ids.clone(), 100).await?;

    let start = Instant::now();
    let lat = cycles(
        pool.clone(),
        format!("{name}-seq"),
        ids.clone(),
        args.cycles,
    )
    .await?;
    let seq = figures(lat, start.elapsed());

    let per_task = args.cycles.div_ceil(args.concurrency);
    let slice = (args.interpreters / args.concurrency).max(1);
    let start = Instant::now();
    let tasks: Vec<_> = (0..args.concurrency)
        .map(|t| {
            let mine: Vec<_> = ids
                .iter()
                .cycle()
                .skip(t * slice)
                .take(slice)
                .cloned()
                .collect();
            tokio::spawn(cycles(pool.clone(), format!("{name}-c{t}"), mine, per_task))
        })
        .collect();
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await??);
    }
    let conc = figures(lat, start.elapsed());
    Ok((seq, conc))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.concurrency > 0 && args.interpreters >= args.concurrency && args.cycles > 0,
        "need cycles > 0 and interpreters >= concurrency > 0"
    );
    let (_own, url) = match &args.redis_url {
        Some(u) => (None, u.clone()),
        None => {
            let (own, url) = start_redis()?;
            (Some(own), url)
        }
    };
    let mut settings = Settings::load(None)?.redis;
    settings.url = url.clone();
    settings.key_prefix = format!("bench-{}", std::process::id());
    let redis: Arc<dyn InterpreterPool> = Arc::new(RedisPool::open(&settings)?);
    let memory: Arc<dyn InterpreterPool> = Arc::new(MemoryPool::new());

    let (r_seq, r_conc) = measure("redis", redis, &args).await?;
    let (m_seq, m_conc) = measure("memory", memory, &args).await?;

    println!(
        "pool_bench: claim -> accept -> release, {} interpreters, redis at {}",
        args.interpreters,
        url.trim_start_matches("redis://")
    );
    println!("| pool   | mode          | cycles | p50 µs   | p99 µs   | cycles/s  |");
    println!("|--------|---------------|--------|----------|----------|-----------|");
    for (pool, mode, f) in [
        ("redis", "sequential".to_string(), &r_seq),
        ("redis", format!("{} tasks", args.concurrency), &r_conc),
        ("memory", "sequential".to_string(), &m_seq),
        ("memory", format!("{} tasks", args.concurrency), &m_conc),
    ] {
        println!(
            "| {pool:<6} | {mode:<13} | {:>6} | {:>8.1} | {:>8.1} | {:>9.0} |",
            f.cycles, f.p50_us, f.p99_us, f.cycles_per_s
        );
    }
    println!(
        "redis_p50_us={:.1} redis_p99_us={:.1} redis_cycles_per_s={:.0} memory_p50_us={:.2} \
         memory_p99_us={:.2} memory_cycles_per_s={:.0} redis_vs_memory_p50_ratio={:.1} \
         redis_seq_cycles_per_s={:.0} redis_conc_p99_us={:.1} concurrency={} interpreters={}",
        r_seq.p50_us,
        r_seq.p99_us,
        r_conc.cycles_per_s,
        m_seq.p50_us,
        m_seq.p99_us,
        m_conc.cycles_per_s,
        r_seq.p50_us / m_seq.p50_us,
        r_seq.cycles_per_s,
        r_conc.p99_us,
        args.concurrency,
        args.interpreters,
    );
    Ok(())
}
