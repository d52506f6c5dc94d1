//! Load benchmark: N concurrent three-way calls of synthetic Opus (50 packets/s per participant)
//! against the media shards running in a child process (this example with `--server`, see
//! `server`) over loopback. Server CPU comes from the child's /proc/<pid>/stat (utime+stime), RSS
//! from /proc/<pid>/status, latency from the send time each payload carries to the kernel's
//! arrival stamp at the receiving peer's socket (so a generator slow to run does not count as
//! latency). Each run prints its figures, with the generator's own CPU and how busy the whole
//! machine was; `--search` raises the call count until loss reaches 0.1 % and reports the
//! highest count held below it. The last line is key=value figures.
//!
//!     cargo run --release --example load -- --calls 100 --seconds 15 --shards 2
//!     cargo run --release --example load -- --calls 100 --shards 2 --search
//!     cargo run --release --example load -- --calls 250 --shards 2 --realtime-priority 10
//!     cargo run --release --example load -- --calls 100 --shards 2 --phones
//!     cargo run --release --example load -- --calls 100 --shards 1 --record-compare
//!
//! `--record-compare` runs the same calls twice, the second time with every leg recorded (Ogg
//! Opus files in a temporary folder), and compares the media loop's own CPU per forwarded
//! packet (its threads' time from /proc) between the two: `media_loop_cost_ratio`.

mod phones;
mod server;

use anyhow::bail;
use clap::Parser;
use hotline_bridge::domain::Role;
use hotline_bridge::sfu::peer::PeerConfig;
use hotline_bridge::testkit::{unix_us, TestPeer, TestPeerOffer, TestPeerOptions};
use server::{clock_ticks_per_s, machine_cpu_ticks, process_cpu_ticks, Reply, Request, Server};
use std::time::{Duration, Instant};

/// The service's allocator (src/main.rs), so the server process measured is the service's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long all peers may take to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// Loss at or above this ends a search.
const SEARCH_LOSS_PCT: f64 = 0.1;
/// A search stops refining once the bracket is this narrow (calls).
const SEARCH_RESOLUTION: usize = 10;

#[derive(Parser)]
struct Args {
    /// Concurrent three-way calls (with --search: where the search starts).
    #[arg(long, default_value_t = 10)]
    calls: usize,
    /// Length of the measured window, in seconds.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Media shards in the server (0 = one per core).
    #[arg(long, default_value_t = 1)]
    shards: usize,
    /// The server's shards run at this real-time priority (`media.realtime_priority`,
    /// SCHED_FIFO 1-99; 0 = the normal scheduler), as a deployment runs them.
    #[arg(long, default_value_t = 0)]
    realtime_priority: u8,
    /// Find the highest call count held at < 0.1 % loss: double from --calls until loss, then
    /// bisect (a fresh server per run).
    #[arg(long)]
    search: bool,
    /// The search never tries more calls than this.
    #[arg(long, default_value_t = 1000)]
    search_max: usize,
    /// Phone calls instead: a phone caller and a phone interpreter (PCMU RTP legs, mixed) with
    /// a browser operator talking real Opus; figures per phone leg (see `phones`).
    #[arg(long)]
    phones: bool,
    /// Run as the media server (used by the benchmark itself, over stdin/stdout).
    #[arg(long)]
    server: bool,
    /// The server records every leg into this folder (set by `--record-compare`).
    #[arg(long)]
    record_dir: Option<String>,
    /// Run twice, without and with recording every leg, and compare the media loop's CPU per
    /// packet.
    #[arg(long)]
    record_compare: bool,
    /// Start the server process under this command, e.g. "valgrind --tool=callgrind" to count
    /// its instructions (stable on a shared machine, unlike CPU time).
    #[arg(long)]
    server_wrapper: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.server {
        return server::serve(
            args.shards,
            args.realtime_priority,
            args.record_dir.as_deref(),
        )
        .await;
    }
    if args.record_compare {
        return record_compare(&args).await;
    }
    let first = measure(&args, args.calls).await?;
    let held = if args.search {
        Some(search(&args, &first).await?)
    } else {
        None
    };
    if args.phones {
        println!(
            "calls={} phone_legs={} shards={} realtime_priority={} loss_pct={:.3} \
             phone_to_phone_latency_p50_ms={:.1} phone_to_phone_latency_p99_ms={:.1} \
             server_cpu_ms_per_phone_leg_s={:.3} server_rss_mb={:.1}{}",
            first.calls,
            first.calls * 2,
            args.shards,
            args.realtime_priority,
            first.loss_pct,
            first.p50_ms,
            first.p99_ms,
            first.cpu_us_per_pkt,
            first.rss_mb,
            held.map(|h| format!(" held_calls={h}")).unwrap_or_default()
        );
        return Ok(());
    }
    println!(
        "calls={} shards={} realtime_priority={} loss_pct={:.3} added_latency_p50_ms={:.2} \
         added_latency_p99_ms={:.2} server_cpu_us_per_pkt={:.2} timer_runs_per_pkt={:.2} \
         server_rss_mb={:.1}{}",
        first.calls,
        args.shards,
        args.realtime_priority,
        first.loss_pct,
        first.p50_ms,
        first.p99_ms,
        first.cpu_us_per_pkt,
        first.timer_runs_per_pkt,
        first.rss_mb,
        held.map(|h| format!(" held_calls={h}")).unwrap_or_default()
    );
    Ok(())
}

/// The same calls without and with every leg recorded; the media loop's CPU per packet of each.
async fn record_compare(args: &Args) -> anyhow::Result<()> {
    let off = run(args, args.calls, None).await?;
    let dir = tempfile::tempdir()?;
    let on = run(args, args.calls, Some(dir.path())).await?;
    let (files, bytes) = folder_size(dir.path())?;
    let ratio = on.media_us_per_pkt / off.media_us_per_pkt;
    println!(
        "recorded {files} files, {:.1} MB; recording thread {:.2} us per forwarded packet",
        bytes as f64 / 1e6,
        on.recorder_us_per_pkt
    );
    println!(
        "calls={} shards={} loss_pct_off={:.3} loss_pct_on={:.3} media_loop_us_per_pkt_off={:.3} \
         media_loop_us_per_pkt_on={:.3} server_cpu_us_per_pkt_off={:.2} \
         server_cpu_us_per_pkt_on={:.2} recorded_files={files} media_loop_cost_ratio={ratio:.3}",
        args.calls,
        args.shards,
        off.loss_pct,
        on.loss_pct,
        off.media_us_per_pkt,
        on.media_us_per_pkt,
        off.cpu_us_per_pkt,
        on.cpu_us_per_pkt,
    );
    Ok(())
}

/// Files under `dir` (one level of folders per call) and their bytes.
fn folder_size(dir: &std::path::Path) -> anyhow::Result<(u64, u64)> {
    let (mut files, mut bytes) = (0, 0);
    for call in std::fs::read_dir(dir)? {
        for f in std::fs::read_dir(call?.path())? {
            files += 1;
            bytes += f?.metadata()?.len();
        }
    }
    Ok((files, bytes))
}

/// One run of the kind asked for.
async fn measure(args: &Args, calls: usize) -> anyhow::Result<Run> {
    if args.phones {
        phones::run(args, calls).await
    } else {
        run(args, calls, None).await
    }
}

/// Waits until every peer is connected.
async fn connected(peers: &[TestPeer]) -> anyhow::Result<()> {
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    loop {
        let up = peers.iter().filter(|p| p.is_connected()).count();
        if up == peers.len() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("only {up} of {} peers connected", peers.len());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn holds(r: &Run) -> bool {
    r.loss_pct < SEARCH_LOSS_PCT
}

/// The highest call count held at < 0.1 % loss, starting from the first run's.
async fn search(args: &Args, first: &Run) -> anyhow::Result<usize> {
    let (mut good, mut bad) = if holds(first) {
        (first.calls, None)
    } else {
        (0, Some(first.calls))
    };
    // Double while it holds.
    while bad.is_none() && good < args.search_max {
        let n = (good * 2).clamp(1, args.search_max);
        if holds(&measure(args, n).await?) {
            good = n;
        } else {
            bad = Some(n);
        }
    }
    // Bisect between the last count held and the first not held.
    while let Some(b) = bad {
        if b - good <= SEARCH_RESOLUTION {
            break;
        }
        let n = good + (b - good) / 2;
        if holds(&measure(args, n).await?) {
            good = n;
        } else {
            bad = Some(n);
        }
    }
    println!("search: held {good} calls below {SEARCH_LOSS_PCT} % loss");
    Ok(good)
}

/// One run's figures (with `--phones`, `cpu_us_per_pkt` holds ms of server CPU per second of
/// phone-leg audio, and the latencies are phone to phone).
struct Run {
    calls: usize,
    loss_pct: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_us_per_pkt: f64,
    timer_runs_per_pkt: f64,
    rss_mb: f64,
    /// The media shards' threads' own CPU per forwarded packet.
    media_us_per_pkt: f64,
    /// The recordings writer thread's CPU per forwarded packet (0 without recording).
    recorder_us_per_pkt: f64,
}

/// One run: `calls` three-way calls against a fresh server with `args.shards` shards (recording
/// every leg into `record_dir` when given).
async fn run(
    args: &Args,
    calls: usize,
    record_dir: Option<&std::path::Path>,
) -> anyhow::Result<Run> {
    let mut server = Server::start(args, record_dir).await?;
    let rss_idle_kb = server.rss_kb()?;
    let config = PeerConfig::new()?;
    let opts = TestPeerOptions {
        keep_latencies: true,
        ..TestPeerOptions::default()
    };
    let roles = [
        ("caller", Role::Caller),
        ("operator", Role::Operator),
        ("interpreter", Role::Interpreter),
    ];
    let mut peers: Vec<TestPeer> = Vec::with_capacity(calls * 3);
    let t_join = Instant::now();
    for c in 0..calls {
        let call = format!("load-{c}");
        let participants = roles.iter().map(|(p, r)| (p.to_string(), *r)).collect();
        server
            .ask(&Request::Routes {
                call: call.clone(),
                participants,
            })
            .await?;
        for (r, (participant, _)) in roles.iter().enumerate() {
            let tag = (c * 3 + r + 1) as u32;
            let (offer, sdp) = TestPeerOffer::new(&config, tag, opts.clone())?;
            let reply = server
                .ask(&Request::Join {
                    call: call.clone(),
                    participant: participant.to_string(),
                    offer: sdp,
                })
                .await?;
            let Reply::Answer(answer) = reply else {
                bail!("no answer");
            };
            peers.push(offer.start(&answer)?);
        }
    }
    connected(&peers).await?;
    println!(
        "{} peers in {} calls connected in {:.1} s",
        peers.len(),
        calls,
        t_join.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(2)).await; // warm-up

    // Measure between two quiet points so sent and received counts match exactly.
    let quiet = |peers: &[TestPeer], on: bool| peers.iter().for_each(|p| p.set_sending(on));
    quiet(&peers, false);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let start_us = unix_us();
    for p in &peers {
        p.take();
        p.set_cutoff(start_us);
    }
    let sent0: Vec<u64> = peers.iter().map(|p| p.sent()).collect();
    let (fwd0, err0, timers0) = server.forwarded().await?;
    let cpu0 = server.cpu_ticks()?;
    let gen0 = process_cpu_ticks(std::process::id())?;
    let machine0 = machine_cpu_ticks()?;
    let media0 = server.thread_ticks("media-")?;
    let rec0 = server.thread_ticks("recordings")?;
    let wait0 = server.cpu_wait()?;
    let drops0 = server.socket_drops()?;
    let t0 = Instant::now();
    quiet(&peers, true);
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    quiet(&peers, false);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let wall = t0.elapsed();
    let cpu1 = server.cpu_ticks()?;
    let gen1 = process_cpu_ticks(std::process::id())?;
    let machine1 = machine_cpu_ticks()?;
    let media1 = server.thread_ticks("media-")?;
    let rec1 = server.thread_ticks("recordings")?;
    let wait_s = server.cpu_wait()?.since(&wait0);
    let drops = server.socket_drops()? - drops0;
    let (fwd1, err1, timers1) = server.forwarded().await?;
    let rss_kb = server.rss_kb()?;

    let sent: u64 = peers.iter().zip(&sent0).map(|(p, s)| p.sent() - s).sum();
    let expected = sent * 2; // each participant is heard by the two others
    let mut received = 0u64;
    let mut stale = 0u64;
    let mut latencies: Vec<u32> = Vec::new();
    for p in &peers {
        let r = p.take();
        received += r.by_source.values().map(|s| s.packets).sum::<u64>();
        stale += r.stale;
        latencies.extend(r.latencies_us);
    }
    latencies.sort_unstable();
    let pct = |q: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((latencies.len() - 1) as f64 * q).round() as usize;
        latencies[i] as f64 / 1000.0
    };
    let forwarded = fwd1 - fwd0;
    let cpu_s = (cpu1 - cpu0) as f64 / clock_ticks_per_s() as f64;
    let generator_s = (gen1 - gen0) as f64 / clock_ticks_per_s() as f64;
    let machine_busy_pct =
        100.0 * (machine1.0 - machine0.0) as f64 / (machine1.1 - machine0.1).max(1) as f64;
    let cpu_us_per_pkt = if forwarded == 0 {
        f64::NAN
    } else {
        cpu_s * 1e6 / forwarded as f64
    };
    let loss_pct = if expected == 0 {
        f64::NAN
    } else {
        100.0 * (expected.saturating_sub(received)) as f64 / expected as f64
    };
    println!(
        "window {:.1} s: sent {sent}, expected {expected}, received {received} (+{stale} stale), \
         server forwarded {forwarded}, send errors {}, dropped by the kernel at the server socket {drops}, server cpu {cpu_s:.2} s ({:.0}% of one core), \
         server runnable but waiting for a cpu {wait_s:.2} s",
        wall.as_secs_f64(),
        err1 - err0,
        100.0 * cpu_s / wall.as_secs_f64()
    );
    println!(
        "load generator cpu {generator_s:.2} s ({:.0}% of one core); the machine's cores were \
         {machine_busy_pct:.0}% busy",
        100.0 * generator_s / wall.as_secs_f64()
    );
    println!(
        "server rss {:.1} MB ({:.1} MB idle, {:.0} kB per call)",
        rss_kb as f64 / 1024.0,
        rss_idle_kb as f64 / 1024.0,
        (rss_kb.saturating_sub(rss_idle_kb)) as f64 / calls.max(1) as f64
    );
    let timer_runs_per_pkt = (timers1 - timers0) as f64 / forwarded.max(1) as f64;
    let per_pkt =
        |ticks: u64| ticks as f64 / clock_ticks_per_s() as f64 * 1e6 / forwarded.max(1) as f64;
    let media_us_per_pkt = per_pkt(media1 - media0);
    let recorder_us_per_pkt = per_pkt(rec1 - rec0);
    println!(
        "run: calls={calls} shards={} realtime_priority={} loss_pct={loss_pct:.3} added_latency_p50_ms={:.2} \
         added_latency_p99_ms={:.2} server_cpu_us_per_pkt={cpu_us_per_pkt:.2} \
         media_loop_us_per_pkt={media_us_per_pkt:.3} timer_runs_per_pkt={timer_runs_per_pkt:.2} \
         machine_busy_pct={machine_busy_pct:.0}",
        args.shards,
        args.realtime_priority,
        pct(0.5),
        pct(0.99),
    );
    let figures = Run {
        calls,
        loss_pct,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        cpu_us_per_pkt,
        timer_runs_per_pkt,
        rss_mb: rss_kb as f64 / 1024.0,
        media_us_per_pkt,
        recorder_us_per_pkt,
    };
    drop(peers);
    server.stop().await;
    Ok(figures)
}
