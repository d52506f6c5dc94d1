//! The load benchmark's server side: the media shards in a child process (this example run with
//! `--server`), driven over stdin/stdout by JSON lines, and what the benchmark reads of that
//! process from /proc (CPU, time waiting for a CPU, RSS, kernel drops at its sockets).

use anyhow::{bail, Context};
use hotline_bridge::config::Settings;
use hotline_bridge::domain::{CallId, ParticipantId, Role};
use hotline_bridge::drivers::media;
use hotline_bridge::engine::{AudioRoutes, Controls};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// How long the server may take to exit once told to (under callgrind: writing its results).
const STOP_GRACE: Duration = Duration::from_secs(60);

/// One request line from the benchmark to the server process.
#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    Join {
        call: String,
        participant: String,
        offer: String,
    },
    /// A phone leg (PCMU) whose RTP comes from `remote`: the server binds its RTP socket and
    /// answers with its port.
    JoinPhone {
        call: String,
        participant: String,
        remote: SocketAddr,
    },
    Routes {
        call: String,
        participants: Vec<(String, Role)>,
    },
    Stats,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Answer(String),
    Port(u16),
    Done,
    Stats {
        forwarded: u64,
        send_errors: u64,
        peers: u64,
        unclaimed: u64,
        timer_runs: u64,
    },
    Error(String),
}

/// The server process: the media shards, driven by JSON lines on stdin, answering on stdout.
pub async fn serve(
    shards: usize,
    realtime_priority: u8,
    record_dir: Option<&str>,
) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            std::env::var("HOTLINE_LOG").unwrap_or_else(|_| "warn".into()),
        ))
        .with_writer(std::io::stderr)
        .init();
    let mut settings = Settings::load_with_env(None, Vec::new())?.media;
    settings.udp_port = 0;
    settings.shards = shards;
    settings.realtime_priority = realtime_priority;
    settings.public_ip = "127.0.0.1".parse()?;
    let media = media::spawn(&settings, Default::default()).await?;
    if let Some(dir) = record_dir {
        // Every leg recorded as the service does it (no record: rows are not the point here).
        let mut records = Settings::load_with_env(None, Vec::new())?.records;
        records.recording = true;
        records.recording_dir = dir.to_owned();
        let sink = hotline_bridge::drivers::recordings::start(&records, None)?;
        media.record_to(Some(sink)).await?;
    }
    let mut out = tokio::io::stdout();
    let ports: Vec<String> = media
        .local_addrs()
        .iter()
        .map(|a| a.port().to_string())
        .collect();
    out.write_all(format!("ready {}\n", ports.join(",")).as_bytes())
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
            Ok(Request::JoinPhone {
                call,
                participant,
                remote,
            }) => match join_phone(&media, &call, &participant, remote).await {
                Ok(port) => Reply::Port(port),
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
                    timer_runs: s.forwarder.timer_runs,
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

/// Binds a phone leg's RTP socket and hands it to the call's shard, as the SIP edge does.
async fn join_phone(
    media: &media::MediaHandle,
    call: &str,
    participant: &str,
    remote: SocketAddr,
) -> anyhow::Result<u16> {
    use hotline_bridge::sfu::mix::{Codec, G711};
    let socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
    let port = socket.local_addr()?.port();
    let leg = media::PhoneLeg {
        call: CallId::parse(call)?,
        participant: ParticipantId::parse(participant)?,
        codec: Codec::G711(G711::Pcmu),
        payload_type: 0,
        srtp: None,
        telephone_event: None,
        remote,
        rtp_timeout: Duration::from_secs(60),
    };
    media
        .join_phone(leg, socket, tokio_util::sync::CancellationToken::new())
        .await?;
    Ok(port)
}

pub struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: tokio::io::Lines<BufReader<ChildStdout>>,
    pid: u32,
    ports: Vec<u16>,
}

/// Each thread's total wait for a CPU at one moment (`Server::cpu_wait`).
pub struct CpuWait(std::collections::HashMap<std::ffi::OsString, u64>);

impl CpuWait {
    /// Seconds waited since `earlier` by the threads alive now (one that ended meanwhile takes
    /// its count with it, so totals are not simply subtracted).
    pub fn since(&self, earlier: &CpuWait) -> f64 {
        let ns: u64 = self
            .0
            .iter()
            .map(|(t, ns)| ns.saturating_sub(earlier.0.get(t).copied().unwrap_or(0)))
            .sum();
        ns as f64 / 1e9
    }
}

impl Server {
    /// The server for `args` (its wrapper, shards, priority); with `record_dir`, it records
    /// every leg there.
    pub async fn start(
        args: &crate::Args,
        record_dir: Option<&std::path::Path>,
    ) -> anyhow::Result<Self> {
        let wrapper = args.server_wrapper.as_deref();
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
        if let Some(dir) = record_dir {
            command.arg("--record-dir").arg(dir);
        }
        let mut child = command
            .arg("--server")
            .arg("--shards")
            .arg(args.shards.to_string())
            .arg("--realtime-priority")
            .arg(args.realtime_priority.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting the server process")?;
        let pid = child.id().context("server pid")?;
        let stdin = child.stdin.take().context("server stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().context("server stdout")?).lines();
        let ready = stdout.next_line().await?.context("server exited")?;
        let Some(ports) = ready.strip_prefix("ready ") else {
            bail!("server said {ready:?}");
        };
        let ports = ports
            .split(',')
            .map(|p| p.parse::<u16>())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            child,
            stdin,
            stdout,
            pid,
            ports,
        })
    }

    pub async fn ask(&mut self, req: &Request) -> anyhow::Result<Reply> {
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

    /// (forwarded, send errors, peer timer runs) so far.
    pub async fn forwarded(&mut self) -> anyhow::Result<(u64, u64, u64)> {
        match self.ask(&Request::Stats).await? {
            Reply::Stats {
                forwarded,
                send_errors,
                timer_runs,
                ..
            } => Ok((forwarded, send_errors, timer_runs)),
            _ => bail!("no stats"),
        }
    }

    /// Closes the server's stdin so it exits on its own (a wrapper such as callgrind then writes
    /// its results), and kills it if it has not after `STOP_GRACE`.
    pub async fn stop(self) {
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
    /// CPU time (utime+stime, clock ticks) of the server's threads whose name starts with
    /// `prefix` (the media shards are `media-<i>`, the recordings writer `recordings`).
    pub fn thread_ticks(&self, prefix: &str) -> anyhow::Result<u64> {
        let mut total = 0;
        for task in std::fs::read_dir(format!("/proc/{}/task", self.pid))? {
            let Ok(stat) = std::fs::read_to_string(task?.path().join("stat")) else {
                continue;
            };
            let Some((head, after)) = stat.rsplit_once(") ") else {
                continue;
            };
            let comm = head.split_once(" (").map_or("", |(_, c)| c);
            if !comm.starts_with(prefix) {
                continue;
            }
            let f: Vec<&str> = after.split_whitespace().collect();
            total += f[11].parse::<u64>()? + f[12].parse::<u64>()?;
        }
        Ok(total)
    }

    pub fn cpu_ticks(&self) -> anyhow::Result<u64> {
        process_cpu_ticks(self.pid)
    }

    /// Time each of the server's threads has spent runnable but waiting for a CPU (schedstat's
    /// run_delay, per /proc/<pid>/task): on a shared machine this separates the server's own
    /// cost from time other processes took from it.
    pub fn cpu_wait(&self) -> anyhow::Result<CpuWait> {
        let mut by_thread = std::collections::HashMap::new();
        for task in std::fs::read_dir(format!("/proc/{}/task", self.pid))? {
            let task = task?;
            // A thread may exit between the listing and the read.
            let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) else {
                continue;
            };
            let delay = stat.split_whitespace().nth(1).context("schedstat format")?;
            by_thread.insert(task.file_name(), delay.parse::<u64>()?);
        }
        Ok(CpuWait(by_thread))
    }

    /// Datagrams the kernel dropped at the server's sockets (receive buffer full), from the
    /// `drops` column of /proc/net/udp.
    pub fn socket_drops(&self) -> anyhow::Result<u64> {
        let table = std::fs::read_to_string("/proc/net/udp")?;
        let ports: Vec<String> = self.ports.iter().map(|p| format!(":{p:04X}")).collect();
        let mut drops = 0;
        for line in table.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.get(1)
                .is_some_and(|local| ports.iter().any(|p| local.ends_with(p)))
            {
                drops += f.last().context("drops column")?.parse::<u64>()?;
            }
        }
        Ok(drops)
    }

    pub fn rss_kb(&self) -> anyhow::Result<u64> {
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

/// CPU time (user + system) of process `pid`, in clock ticks.
pub fn process_cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(") ").context("stat format")?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    let field =
        |i: usize| -> anyhow::Result<u64> { Ok(f.get(i).context("stat format")?.parse::<u64>()?) };
    Ok(field(11)? + field(12)?)
}

/// The whole machine's CPU time so far, in clock ticks: (busy, all). Busy is everything but
/// idle and I/O wait, summed over every core.
pub fn machine_cpu_ticks() -> anyhow::Result<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let line = stat.lines().next().context("/proc/stat is empty")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let all: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    Ok((all - idle, all))
}

pub fn clock_ticks_per_s() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}
