//! Load benchmark: N concurrent three-way calls of synthetic Opus (50 packets/s per participant)
//! against a media loop running in a child process (this example with `--server`) over loopback.
//! Server CPU comes from the child's /proc/<pid>/stat (utime+stime), RSS from /proc/<pid>/status,
//! latency from the send time each payload carries. Ends with one line of key=value figures.
//!
//!     cargo run --release --example load -- --calls 100 --seconds 20

use anyhow::{bail, Context};
use clap::Parser;
use hotline_bridge::config::Settings;
use hotline_bridge::domain::{CallId, ParticipantId, Role};
use hotline_bridge::drivers::media;
use hotline_bridge::engine::{AudioRoutes, Controls};
use hotline_bridge::sfu::peer::PeerConfig;
use hotline_bridge::testkit::{unix_us, TestPeer, TestPeerOffer, TestPeerOptions};
use serde::{Deserialize, Serialize};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// How long all peers may take to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the server may take to exit once told to (under callgrind: writing its results).
const STOP_GRACE: Duration = Duration::from_secs(60);

#[derive(Parser)]
struct Args {
    /// Concurrent three-way calls.
    #[arg(long, default_value_t = 10)]
    calls: usize,
    /// Length of the measured window, in seconds.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Run as the media server (used by the benchmark itself, over stdin/stdout).
    #[arg(long)]
    server: bool,
    /// Start the server process under this command, e.g. "valgrind --tool=callgrind" to count
    /// its instructions (stable on a shared machine, unlike CPU time).
    #[arg(long)]
    server_wrapper: Option<String>,
}

/// One request line from the benchmark to the server process.
#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Request {
    Join {
        call: String,
        participant: String,
        offer: String,
    },
    Routes {
        call: String,
        participants: Vec<(String, Role)>,
    },
    Stats,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Reply {
    Answer(String),
    Done,
    Stats {
        forwarded: u64,
        send_errors: u64,
        peers: u64,
        unclaimed: u64,
    },
    Error(String),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.server {
        return server().await;
    }
    bench(args).await
}

/// The server process: a media loop, driven by JSON lines on stdin, answering on stdout.
async fn server() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            std::env::var("HOTLINE_LOG").unwrap_or_else(|_| "warn".into()),
        ))
        .with_writer(std::io::stderr)
        .init();
    let mut settings = Settings::load_with_env(None, Vec::new())?.media;
    settings.udp_port = 0;
    settings.public_ip = "127.0.0.1".parse()?;
    let media = media::spawn(&settings, Default::default()).await?;
    let mut out = tokio::io::stdout();
    out.write_all(format!("ready {}\n", media.local_addr()).as_bytes())
        .await?;
    out.flush().await?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let reply = match serde_json::from_str::<Request>(&line) {
            Err(e) => Reply::Error(e.to_string()),
            Ok(Request::Join {
                call,
                participant,
                offer,
            }) => match media
                .join(
                    CallId::parse(&call)?,
                    ParticipantId::parse(&participant)?,
                    offer,
                )
                .await
            {
                Ok(answer) => Reply::Answer(answer),
                Err(e) => Reply::Error(e.to_string()),
            },
            Ok(Request::Routes { call, participants }) => {
                let parts = participants
                    .iter()
                    .map(|(p, r)| Ok((ParticipantId::parse(p)?, *r)))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                let routes = AudioRoutes::compute(&parts, &Controls::default());
                match media.set_routes(CallId::parse(&call)?, routes).await {
                    Ok(()) => Reply::Done,
                    Err(e) => Reply::Error(e.to_string()),
                }
            }
            Ok(Request::Stats) => match media.stats().await {
                Ok(s) => Reply::Stats {
                    forwarded: s.forwarder.rtp_forwarded,
                    send_errors: s.send_errors,
                    peers: s.forwarder.peers,
                    unclaimed: s.forwarder.unclaimed,
                },
                Err(e) => Reply::Error(e.to_string()),
            },
        };
        out.write_all(serde_json::to_string(&reply)?.as_bytes())
            .await?;
        out.write_all(b"\n").await?;
        out.flush().await?;
    }
    Ok(())
}

struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: tokio::io::Lines<BufReader<ChildStdout>>,
    pid: u32,
    port: u16,
}

impl Server {
    async fn start(wrapper: Option<&str>) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("own path")?;
        let mut words = wrapper.unwrap_or_default().split_whitespace();
        let mut command = match words.next() {
            Some(program) => {
                let mut c = Command::new(program);
                c.args(words).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        let mut child = command
            .arg("--server")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting the server process")?;
        let pid = child.id().context("server pid")?;
        let stdin = child.stdin.take().context("server stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().context("server stdout")?).lines();
        let ready = stdout.next_line().await?.context("server exited")?;
        let Some(addr) = ready.strip_prefix("ready ") else {
            bail!("server said {ready:?}");
        };
        let port = addr.parse::<std::net::SocketAddr>()?.port();
        Ok(Self {
            child,
            stdin,
            stdout,
            pid,
            port,
        })
    }

    async fn ask(&mut self, req: &Request) -> anyhow::Result<Reply> {
        let mut line = serde_json::to_string(req)?;
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await?;
        self.stdin.flush().await?;
        let reply = self.stdout.next_line().await?.context("server exited")?;
        match serde_json::from_str(&reply)? {
            Reply::Error(e) => bail!("server: {e}"),
            r => Ok(r),
        }
    }

    async fn forwarded(&mut self) -> anyhow::Result<(u64, u64)> {
        match self.ask(&Request::Stats).await? {
            Reply::Stats {
                forwarded,
                send_errors,
                ..
            } => Ok((forwarded, send_errors)),
            _ => bail!("no stats"),
        }
    }

    /// Closes the server's stdin so it exits on its own (a wrapper such as callgrind then writes
    /// its results), and kills it if it has not after `STOP_GRACE`.
    async fn stop(self) {
        let Server {
            mut child, stdin, ..
        } = self;
        drop(stdin);
        if tokio::time::timeout(STOP_GRACE, child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
    }

    /// utime + stime of the server process, in clock ticks.
    fn cpu_ticks(&self) -> anyhow::Result<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))?;
        let after = stat.rsplit_once(") ").context("stat format")?.1;
        let f: Vec<&str> = after.split_whitespace().collect();
        Ok(f[11].parse::<u64>()? + f[12].parse::<u64>()?)
    }

    /// Time the server's threads spent runnable but waiting for a CPU, in ns (schedstat's
    /// run_delay summed over /proc/<pid>/task): on a shared machine this separates the server's
    /// own cost from time other processes took from it.
    fn cpu_wait_ns(&self) -> anyhow::Result<u64> {
        let mut total = 0;
        for task in std::fs::read_dir(format!("/proc/{}/task", self.pid))? {
            let path = task?.path().join("schedstat");
            // A thread may exit between the listing and the read.
            let Ok(stat) = std::fs::read_to_string(path) else {
                continue;
            };
            let delay = stat.split_whitespace().nth(1).context("schedstat format")?;
            total += delay.parse::<u64>()?;
        }
        Ok(total)
    }

    /// Datagrams the kernel dropped at the server's socket (receive buffer full), from the
    /// `drops` column of /proc/net/udp.
    fn socket_drops(&self) -> anyhow::Result<u64> {
        let table = std::fs::read_to_string("/proc/net/udp")?;
        let port = format!(":{:04X}", self.port);
        let mut drops = 0;
        for line in table.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.get(1).is_some_and(|local| local.ends_with(&port)) {
                drops += f.last().context("drops column")?.parse::<u64>()?;
            }
        }
        Ok(drops)
    }

    fn rss_kb(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        let line = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .context("VmRSS")?;
        Ok(line
            .split_whitespace()
            .nth(1)
            .context("VmRSS value")?
            .parse()?)
    }
}

fn clock_ticks_per_s() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

async fn bench(args: Args) -> anyhow::Result<()> {
    let mut server = Server::start(args.server_wrapper.as_deref()).await?;
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
    let mut peers: Vec<TestPeer> = Vec::with_capacity(args.calls * 3);
    let t_join = Instant::now();
    for c in 0..args.calls {
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
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    loop {
        let up = peers.iter().filter(|p| p.is_connected()).count();
        if up == peers.len() {
            break;
        }
        if Instant::now() > deadline {
            bail!("only {up} of {} peers connected", peers.len());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "{} peers in {} calls connected in {:.1} s",
        peers.len(),
        args.calls,
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
    let (fwd0, err0) = server.forwarded().await?;
    let cpu0 = server.cpu_ticks()?;
    let wait0 = server.cpu_wait_ns()?;
    let drops0 = server.socket_drops()?;
    let t0 = Instant::now();
    quiet(&peers, true);
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    quiet(&peers, false);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let wall = t0.elapsed();
    let cpu1 = server.cpu_ticks()?;
    let wait_s = (server.cpu_wait_ns()? - wait0) as f64 / 1e9;
    let drops = server.socket_drops()? - drops0;
    let (fwd1, err1) = server.forwarded().await?;
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
        "server rss {:.1} MB ({:.1} MB idle, {:.0} kB per call)",
        rss_kb as f64 / 1024.0,
        rss_idle_kb as f64 / 1024.0,
        (rss_kb.saturating_sub(rss_idle_kb)) as f64 / args.calls.max(1) as f64
    );
    println!(
        "calls={} forwarded_pkts={forwarded} loss_pct={loss_pct:.3} server_cpu_us_per_pkt={cpu_us_per_pkt:.2} \
         added_latency_p50_ms={:.2} added_latency_p99_ms={:.2} server_rss_mb={:.1}",
        args.calls,
        pct(0.5),
        pct(0.99),
        rss_kb as f64 / 1024.0
    );
    drop(peers);
    server.stop().await;
    Ok(())
}
