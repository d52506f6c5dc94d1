//! The phone side of the load benchmark (`--phones`): in each call the caller and the interpreter
//! are phone legs (PCMU RTP, 20 ms packets, each on a socket of its own, as a trunk sends them) and
//! the operator a browser peer talking real Opus, so the server decodes, mixes and encodes for
//! every phone and encodes each phone's voice once for the browser. The caller is silent but for
//! a 2 kHz burst once a second; the interpreter's phone finds each burst in the mix it receives,
//! which gives the added latency of the phone → mix → phone path (jitter buffer included), and
//! bursts sent but never heard. Loss is counted from the RTP sequence numbers each phone receives
//! (the mix is sent every 20 ms whatever it holds). The operators' count of the phones' voice
//! packets is printed beside what the phones sent: it is not a loss figure, since the jitter
//! buffer conceals a gap (and a phone falling quiet) with frames of its own.

use hotline_bridge::sfu::mix::G711;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;

/// Samples in one 20 ms PCMU packet.
const FRAME: usize = 160;
/// A burst every this many frames (one a second).
const BURST_EVERY: u64 = 50;
const BURST_HZ: f64 = 2000.0;
/// A received frame is the burst when this loud (RMS of full scale) and mostly at `BURST_HZ`.
const BURST_RMS: f64 = 0.05;
const BURST_SHARE: f64 = 0.5;
/// Quiet before and after a measuring window: longer than any packet takes to come through.
const QUIET: Duration = Duration::from_millis(500);

/// What one phone leg received since the last `take`.
#[derive(Default)]
struct Received {
    packets: u64,
    /// Highest and lowest extended sequence numbers seen.
    seq_range: Option<(u64, u64)>,
    last_seq: Option<u16>,
    cycles: u64,
    was_loud: bool,
    latencies_us: Vec<u32>,
}

impl Received {
    fn sequence(&mut self, seq: u16) -> u64 {
        if let Some(last) = self.last_seq {
            if seq < last && last - seq > u16::MAX / 2 {
                self.cycles += 1;
            }
        }
        self.last_seq = Some(seq);
        let ext = (self.cycles << 16) | u64::from(seq);
        self.seq_range = Some(match self.seq_range {
            Some((lo, hi)) => (lo.min(ext), hi.max(ext)),
            None => (ext, ext),
        });
        ext
    }
}

/// One phone leg of one call.
pub struct Leg {
    socket: Arc<UdpSocket>,
    server: Mutex<Option<SocketAddr>>,
    talker: bool,
    /// When the call's caller sent its last burst (µs since `epoch`), shared by the call's legs.
    burst_sent_us: Arc<AtomicU64>,
    received: Mutex<Received>,
    sent: AtomicU64,
}

impl Leg {
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// The server's RTP port for this leg, once joined.
    pub fn set_server(&self, addr: SocketAddr) {
        *self.server.lock().unwrap_or_else(|e| e.into_inner()) = Some(addr);
    }
}

/// Every phone leg of a run, sending from one timer task and each receiving on its own task.
pub struct Phones {
    pub legs: Vec<Arc<Leg>>,
    sending: Arc<AtomicBool>,
    bursts: Arc<AtomicU64>,
    epoch: Instant,
}

/// Figures of one measuring window.
pub struct Window {
    pub sent: u64,
    pub bursts_sent: u64,
    pub received: u64,
    pub expected: u64,
    pub latencies_us: Vec<u32>,
}

impl Phones {
    pub fn new() -> Phones {
        Phones {
            legs: Vec::new(),
            sending: Arc::new(AtomicBool::new(false)),
            bursts: Arc::new(AtomicU64::new(0)),
            epoch: Instant::now(),
        }
    }

    /// A new call's two phone legs (the caller, who talks, and the interpreter, who listens).
    pub async fn add_call(&mut self) -> anyhow::Result<(Arc<Leg>, Arc<Leg>)> {
        let burst = Arc::new(AtomicU64::new(0));
        let mut pair = Vec::new();
        for talker in [true, false] {
            let leg = Arc::new(Leg {
                socket: Arc::new(UdpSocket::bind("127.0.0.1:0").await?),
                server: Mutex::new(None),
                talker,
                burst_sent_us: burst.clone(),
                received: Mutex::new(Received::default()),
                sent: AtomicU64::new(0),
            });
            tokio::spawn(receive(leg.clone(), self.epoch));
            self.legs.push(leg.clone());
            pair.push(leg);
        }
        let interpreter = pair.pop().expect("two legs");
        let caller = pair.pop().expect("two legs");
        Ok((caller, interpreter))
    }

    /// Starts the one task that sends every leg's packet every 20 ms while sending is on.
    pub fn start_sending(&self) {
        let legs = self.legs.clone();
        let sending = self.sending.clone();
        let bursts = self.bursts.clone();
        let epoch = self.epoch;
        tokio::spawn(async move {
            let burst = burst_frame();
            let silence = vec![G711::Pcmu.silence(); FRAME];
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut frame: u64 = 0;
            let mut packet = Vec::with_capacity(12 + FRAME);
            loop {
                tick.tick().await;
                if !sending.load(Ordering::Acquire) {
                    continue;
                }
                frame += 1;
                for (i, leg) in legs.iter().enumerate() {
                    let Some(to) = *leg.server.lock().unwrap_or_else(|e| e.into_inner()) else {
                        continue;
                    };
                    let loud = leg.talker && frame % BURST_EVERY == 0;
                    rtp(
                        &mut packet,
                        i as u32,
                        frame,
                        if loud { &burst } else { &silence },
                    );
                    if loud {
                        let now = epoch.elapsed().as_micros() as u64;
                        leg.burst_sent_us.store(now, Ordering::Release);
                        bursts.fetch_add(1, Ordering::Relaxed);
                    }
                    if leg.socket.try_send_to(&packet, to).is_ok() {
                        leg.sent.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
    }

    pub fn set_sending(&self, on: bool) {
        self.sending.store(on, Ordering::Release);
    }

    /// Starts a measuring window: what was received before is forgotten.
    pub fn begin(&self) -> (u64, u64) {
        for leg in &self.legs {
            *leg.received.lock().unwrap_or_else(|e| e.into_inner()) = Received::default();
        }
        let sent = self
            .legs
            .iter()
            .map(|l| l.sent.load(Ordering::Acquire))
            .sum();
        (sent, self.bursts.load(Ordering::Acquire))
    }

    /// Ends the window begun with `start` (what `begin` returned).
    pub fn end(&self, start: (u64, u64)) -> Window {
        let (sent0, bursts0) = start;
        let sent = self
            .legs
            .iter()
            .map(|l| l.sent.load(Ordering::Acquire))
            .sum::<u64>()
            - sent0;
        let (mut received, mut expected, mut latencies_us) = (0, 0, Vec::new());
        for leg in &self.legs {
            let r = std::mem::take(&mut *leg.received.lock().unwrap_or_else(|e| e.into_inner()));
            received += r.packets;
            if let Some((lo, hi)) = r.seq_range {
                expected += hi - lo + 1;
            }
            latencies_us.extend(r.latencies_us);
        }
        Window {
            sent,
            bursts_sent: self.bursts.load(Ordering::Acquire) - bursts0,
            received,
            expected,
            latencies_us,
        }
    }
}

/// Counts what `leg` receives; a listener also times the bursts it hears.
async fn receive(leg: Arc<Leg>, epoch: Instant) {
    let mut buf = vec![0u8; 1500];
    let mut pcm = Vec::with_capacity(FRAME);
    loop {
        let Ok(n) = leg.socket.recv(&mut buf).await else {
            return;
        };
        let Some(h) = hotline_bridge::sfu::phone::parse_rtp(&buf[..n]) else {
            continue;
        };
        let mut r = leg.received.lock().unwrap_or_else(|e| e.into_inner());
        r.packets += 1;
        r.sequence(h.seq);
        if leg.talker {
            continue;
        }
        pcm.clear();
        G711::Pcmu.decode(&buf[h.payload_start..h.payload_end], &mut pcm);
        let loud = is_burst(&pcm);
        if loud && !r.was_loud {
            let sent = leg.burst_sent_us.load(Ordering::Acquire);
            let now = epoch.elapsed().as_micros() as u64;
            if sent > 0 && now > sent {
                r.latencies_us
                    .push((now - sent).min(u64::from(u32::MAX)) as u32);
            }
        }
        r.was_loud = loud;
    }
}

/// One PCMU RTP packet of leg `ssrc`, frame `n`, into `out`.
fn rtp(out: &mut Vec<u8>, ssrc: u32, n: u64, payload: &[u8]) {
    out.clear();
    out.extend_from_slice(&[0x80, 0]);
    out.extend_from_slice(&(n as u16).to_be_bytes());
    out.extend_from_slice(&((n * FRAME as u64) as u32).to_be_bytes());
    out.extend_from_slice(&(0x5eed_0000 | ssrc).to_be_bytes());
    out.extend_from_slice(payload);
}

fn burst_frame() -> Vec<u8> {
    let pcm: Vec<i16> = (0..FRAME)
        .map(|i| {
            let t = i as f64 / 8000.0;
            (0.5 * 32767.0 * (2.0 * std::f64::consts::PI * BURST_HZ * t).sin()) as i16
        })
        .collect();
    let mut out = Vec::new();
    G711::Pcmu.encode(&pcm, &mut out);
    out
}

/// Whether a frame is loud and mostly at the burst's frequency (Goertzel).
fn is_burst(pcm: &[i16]) -> bool {
    if pcm.is_empty() {
        return false;
    }
    let x: Vec<f64> = pcm.iter().map(|&s| f64::from(s) / 32768.0).collect();
    let energy: f64 = x.iter().map(|v| v * v).sum();
    let rms = (energy / x.len() as f64).sqrt();
    if rms < BURST_RMS {
        return false;
    }
    let w = 2.0 * std::f64::consts::PI * BURST_HZ / 8000.0;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for v in &x {
        let s0 = v + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power / x.len() as f64 / energy >= BURST_SHARE
}

/// One run with phone legs: `calls` calls of a phone caller, a browser operator (real Opus) and
/// a phone interpreter against a fresh server.
pub async fn run(args: &super::Args, calls: usize) -> anyhow::Result<super::Run> {
    use super::server::{clock_ticks_per_s, Reply, Request, Server};
    use hotline_bridge::domain::Role;
    use hotline_bridge::sfu::peer::PeerConfig;
    use hotline_bridge::testkit::{TestPeer, TestPeerOffer, TestPeerOptions};

    let mut server = Server::start(args, None).await?;
    let rss_idle_kb = server.rss_kb()?;
    let config = PeerConfig::new()?;
    // Real Opus (a looped, pre-encoded tone), not decoded on arrival: the generator's CPU is
    // left to the server as far as it can be.
    let opts = TestPeerOptions {
        tone_hz: Some(440.0),
        count_sound: false,
        ..TestPeerOptions::default()
    };
    let mut phones = Phones::new();
    let mut operators: Vec<TestPeer> = Vec::with_capacity(calls);
    for c in 0..calls {
        let call = format!("phone-{c}");
        let participants = [
            ("caller", Role::Caller),
            ("operator", Role::Operator),
            ("interpreter", Role::Interpreter),
        ]
        .iter()
        .map(|(p, r)| (p.to_string(), *r))
        .collect();
        server
            .ask(&Request::Routes {
                call: call.clone(),
                participants,
            })
            .await?;
        let (caller, interpreter) = phones.add_call().await?;
        for (who, leg) in [("caller", &caller), ("interpreter", &interpreter)] {
            let reply = server
                .ask(&Request::JoinPhone {
                    call: call.clone(),
                    participant: who.into(),
                    remote: leg.local_addr()?,
                })
                .await?;
            let Reply::Port(port) = reply else {
                anyhow::bail!("no RTP port for a phone leg");
            };
            leg.set_server(SocketAddr::from(([127, 0, 0, 1], port)));
        }
        let (offer, sdp) = TestPeerOffer::new(&config, (c + 1) as u32, opts.clone())?;
        let Reply::Answer(answer) = server
            .ask(&Request::Join {
                call: call.clone(),
                participant: "operator".into(),
                offer: sdp,
            })
            .await?
        else {
            anyhow::bail!("no answer");
        };
        operators.push(offer.start(&answer)?);
    }
    super::connected(&operators).await?;
    phones.start_sending();
    phones.set_sending(true);
    tokio::time::sleep(Duration::from_secs(2)).await; // warm-up: jitter buffers fill

    // The phones fall quiet around the window, so every voice packet the operators count was
    // sent inside it (the mix keeps flowing to the phones; its loss is counted by sequence).
    phones.set_sending(false);
    tokio::time::sleep(QUIET).await;
    let sent0 = phones.begin();
    for p in &operators {
        p.take();
    }
    phones.set_sending(true);
    let cpu0 = server.cpu_ticks()?;
    let wait0 = server.cpu_wait()?;
    let drops0 = server.socket_drops()?;
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    phones.set_sending(false);
    let wall = t0.elapsed().as_secs_f64();
    let cpu_s = (server.cpu_ticks()? - cpu0) as f64 / clock_ticks_per_s() as f64;
    let wait_s = server.cpu_wait()?.since(&wait0);
    let drops = server.socket_drops()? - drops0;
    tokio::time::sleep(QUIET).await;
    let w = phones.end(sent0);
    let rss_kb = server.rss_kb()?;
    // The operators receive each phone's voice, one Opus packet per packet the phone sent.
    let voices: u64 = operators.iter().map(|p| p.take().unmarked).sum();

    let loss_pct = 100.0 * w.expected.saturating_sub(w.received) as f64 / w.expected.max(1) as f64;
    let bursts_heard = w.latencies_us.len() as u64;
    let mut lat = w.latencies_us;
    lat.sort_unstable();
    let pct = |q: f64| -> f64 {
        if lat.is_empty() {
            return f64::NAN;
        }
        lat[((lat.len() - 1) as f64 * q).round() as usize] as f64 / 1000.0
    };
    let legs = (calls * 2) as f64;
    let cpu_ms_per_leg_s = cpu_s * 1e3 / (legs * wall);
    println!(
        "window {wall:.1} s: phones sent {}, got {} of {} mix packets, operators got {voices} voice \
         packets, interpreters heard {bursts_heard} of {} bursts, server cpu {cpu_s:.2} s ({:.0}% of \
         one core), waiting for a cpu {wait_s:.2} s, kernel drops at the media socket {drops}",
        w.sent,
        w.received,
        w.expected,
        w.bursts_sent,
        100.0 * cpu_s / wall
    );
    println!(
        "run: calls={calls} phone_legs={} realtime_priority={} loss_pct={loss_pct:.3} \
         phone_to_phone_latency_p50_ms={:.1} phone_to_phone_latency_p99_ms={:.1} \
         server_cpu_ms_per_phone_leg_s={cpu_ms_per_leg_s:.3} bursts_missed={} \
         server_rss_kb_per_call={:.0}",
        calls * 2,
        args.realtime_priority,
        pct(0.5),
        pct(0.99),
        w.bursts_sent.saturating_sub(bursts_heard),
        rss_kb.saturating_sub(rss_idle_kb) as f64 / calls.max(1) as f64
    );
    drop(operators);
    server.stop().await;
    Ok(super::Run {
        calls,
        loss_pct,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        cpu_us_per_pkt: cpu_ms_per_leg_s,
        timer_runs_per_pkt: f64::NAN,
        rss_mb: rss_kb as f64 / 1024.0,
        media_us_per_pkt: f64::NAN,
        recorder_us_per_pkt: f64::NAN,
    })
}
