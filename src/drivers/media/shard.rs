//! One media shard: a thread with its own current-thread runtime that owns one UDP socket, the
//! `Forwarder` with every WebRTC peer of the calls placed on it, and their phone legs; commands,
//! datagrams and timers are handled one at a time, so the media path has no locks. The socket is
//! read and written in batches (`inbox`, `outbox`); what a turn sends leaves by its end. On
//! shutdown it ends its calls (peers get their goodbyes) before its thread ends.

use super::inbox::Inbox;
use super::outbox::Outbox;
use super::{Command, MediaError, MediaEvent, MediaStats, PhoneSide};
use crate::drivers::recordings::RecordingSink;
use crate::sfu::Forwarder;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

/// Datagrams handled per wake-up before commands and timers get a turn (read in batches of up
/// to `quinn_udp::BATCH_SIZE`; with GRO the last batch may run over by a buffer's datagrams).
const MAX_DATAGRAMS_PER_WAKE: usize = 256;
/// Datagrams read before forwarded audio is sent: amortizes each listener's send overhead while
/// adding at most this many packets' processing time (~0.2 ms) of latency.
const FLUSH_EVERY: usize = 16;
/// The loop wakes at least this often even with nothing due.
const IDLE_WAKE: Duration = Duration::from_secs(1);
/// One turn of the loop taking longer than this is logged: audio queues up meanwhile.
const SLOW_TURN: Duration = Duration::from_millis(20);
/// The window `busy_permille` is measured over.
const BUSY_WINDOW: Duration = Duration::from_secs(1);

/// Socket buffer sizes the kernel granted, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Buffers {
    pub(super) recv: usize,
    pub(super) send: usize,
}

/// Binds a shard's socket with `buffer` bytes asked for each way (best effort: the kernel caps
/// them at net.core.{r,w}mem_max) and says what it granted.
pub(super) fn bind(
    addr: SocketAddr,
    buffer: usize,
) -> std::io::Result<(std::net::UdpSocket, Buffers)> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    let _ = socket.set_recv_buffer_size(buffer);
    let _ = socket.set_send_buffer_size(buffer);
    let granted = Buffers {
        recv: usable(socket.recv_buffer_size()?),
        send: usable(socket.send_buffer_size()?),
    };
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok((socket.into(), granted))
}

/// The buffer size asked for that a reported size stands for: Linux doubles what it grants
/// (room for its bookkeeping, socket(7)) and reports the doubled figure.
fn usable(reported: usize) -> usize {
    if cfg!(any(target_os = "linux", target_os = "android")) {
        reported / 2
    } else {
        reported
    }
}

/// What one shard's thread owns.
pub(super) struct Shard {
    pub(super) index: usize,
    pub(super) socket: std::net::UdpSocket,
    pub(super) forwarder: Forwarder,
    pub(super) commands: mpsc::Receiver<Command>,
    pub(super) events: broadcast::Sender<MediaEvent>,
    pub(super) shutdown: CancellationToken,
    /// SCHED_FIFO priority for the shard's thread (`media.realtime_priority`; 0 = normal).
    pub(super) realtime_priority: u8,
}

/// Time spent working, in total and over the last full `BUSY_WINDOW`.
struct Busy {
    total: Duration,
    window_start: Instant,
    in_window: Duration,
    permille: u32,
}

impl Busy {
    fn add(&mut self, took: Duration, now: Instant) {
        self.total += took;
        self.in_window += took;
        let elapsed = now - self.window_start;
        if elapsed >= BUSY_WINDOW {
            self.permille =
                (self.in_window.as_micros() * 1000 / elapsed.as_micros().max(1)).min(1000) as u32;
            self.in_window = Duration::ZERO;
            self.window_start = now;
        }
    }
}

/// Moves the calling thread to SCHED_FIFO at `priority` (1-99).
fn run_in_real_time(priority: u8) -> Result<(), String> {
    use thread_priority::{
        set_thread_priority_and_policy, thread_native_id, RealtimeThreadSchedulePolicy,
        ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy,
    };
    let value = ThreadPriorityValue::try_from(priority).map_err(|e| e.to_string())?;
    set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Crossplatform(value),
        ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
    )
    .map_err(|e| format!("{e:?}"))
}

impl Shard {
    /// Runs the shard on the calling thread until shutdown (or every handle is dropped).
    pub(super) fn run_on_thread(self) {
        let index = self.index;
        let priority = self.realtime_priority;
        let realtime = priority > 0 && {
            match run_in_real_time(priority) {
                Ok(()) => {
                    tracing::info!(
                        shard = index,
                        priority,
                        "media shard runs at real-time priority (SCHED_FIFO)"
                    );
                    true
                }
                Err(e) => {
                    tracing::warn!(shard = index, priority, error = %e,
                        "media shard runs at normal priority: the kernel refused SCHED_FIFO \
                         (raise RLIMIT_RTPRIO, e.g. LimitRTPRIO= in the systemd unit, or set \
                         media.realtime_priority = 0)");
                    false
                }
            }
        };
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(self.run(realtime)),
            Err(e) => tracing::error!(shard = index, error = %e, "media shard: no runtime"),
        }
    }

    /// The loop; `realtime`: its thread got SCHED_FIFO (reported in its stats).
    async fn run(self, realtime: bool) {
        let Shard {
            index,
            socket,
            forwarder: mut fwd,
            mut commands,
            events,
            shutdown,
            ..
        } = self;
        let socket = match UdpSocket::from_std(socket) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(shard = index, error = %e, "media shard: cannot register the socket");
                return;
            }
        };
        let mut inbox = match Inbox::new(&socket) {
            Ok(i) => i,
            Err(e) => {
                tracing::error!(shard = index, error = %e, "media shard: cannot set the socket up");
                return;
            }
        };
        // Every datagram of a turn goes through `out`: sent at each flush point and at the end of
        // the turn, in batches.
        let mut out = Outbox::default();
        let socket = &socket;
        let mut phones = PhoneSide::default();
        let mut recording: Option<RecordingSink> = None;
        let mut busy = Busy {
            total: Duration::ZERO,
            window_start: Instant::now(),
            in_window: Duration::ZERO,
            permille: 0,
        };
        let sleep = tokio::time::sleep_until(Instant::now().into());
        tokio::pin!(sleep);
        let mut deadline = Instant::now();
        loop {
            let mut next = fwd.next_deadline().min(Instant::now() + IDLE_WAKE);
            if let Some(t) = phones.next_deadline() {
                next = next.min(t);
            }
            if next != deadline {
                deadline = next;
                sleep.as_mut().reset(deadline.into());
            }
            let mut turn = "timer";
            let mut datagrams = 0;
            // When the turn's work began: set in each arm, so the idle wait is not counted.
            let woke;
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                cmd = commands.recv() => match cmd {
                    Some(cmd) => {
                        woke = Instant::now();
                        turn = "command";
                        let stats = MediaStats {
                            forwarder: fwd.stats(),
                            send_errors: out.send_errors,
                            live_peers: fwd.live_peers() as u64,
                            busy: busy.total,
                            busy_permille: busy.permille,
                            realtime_shards: u32::from(realtime),
                        };
                        handle(&mut fwd, &mut phones, &mut recording, cmd, &mut |d, b| out.queue(socket, d, b), stats)
                    }
                    None => break,
                },
                ready = socket.readable() => {
                    if let Err(e) = ready {
                        tracing::error!(shard = index, error = %e, "media socket failed");
                        break;
                    }
                    woke = Instant::now();
                    turn = "datagrams";
                    while datagrams < MAX_DATAGRAMS_PER_WAKE {
                        match inbox.recv(socket, MAX_DATAGRAMS_PER_WAKE - datagrams) {
                            Ok(0) => break,
                            Ok(_) => {}
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                            // ICMP errors from a vanished peer surface here; the peer times out.
                            // Each counts as a datagram, so a failing socket cannot spin here.
                            Err(_) => {
                                datagrams += 1;
                                continue;
                            }
                        }
                        for (src, data) in inbox.datagrams() {
                            datagrams += 1;
                            fwd.handle_datagram(src, data, Instant::now(), &mut |d, b| {
                                out.queue(socket, d, b)
                            });
                            if datagrams % FLUSH_EVERY == 0 {
                                fwd.flush(Instant::now(), &mut |d, b| out.queue(socket, d, b));
                                out.send(socket);
                            }
                        }
                    }
                }
                idx = phones.readable() => {
                    woke = Instant::now();
                    turn = "phone";
                    phones.read(idx, woke);
                }
                _ = &mut sleep => woke = Instant::now(),
            }
            // Phone audio first: the voices it hands the forwarder go out with this turn's flush.
            phones.turn(&mut fwd, Instant::now(), &events);
            fwd.handle_timeouts(Instant::now(), &mut |d, b| out.queue(socket, d, b));
            out.send(socket);
            hand_over(&mut fwd, recording.as_ref());
            for ev in fwd.drain_events() {
                // No subscriber is fine: events are advisory.
                let _ = events.send(ev);
            }
            let now = Instant::now();
            let took = now - woke;
            busy.add(took, now);
            if took > SLOW_TURN {
                tracing::warn!(
                    shard = index,
                    ?took,
                    turn,
                    datagrams,
                    "slow media loop turn"
                );
            }
        }
        // Drain: every call's peers get their goodbyes, every phone leg is let go.
        let now = Instant::now();
        for call in fwd.call_ids() {
            fwd.end_call(&call, now, &mut |d, b| out.queue(socket, d, b));
            phones.end_call(&call);
        }
        out.send(socket);
        hand_over(&mut fwd, recording.as_ref());
        for ev in fwd.drain_events() {
            let _ = events.send(ev);
        }
        let stats = fwd.stats();
        tracing::info!(
            shard = index,
            ?stats,
            send_errors = out.send_errors,
            phone_send_errors = phones.send_errors,
            "media shard stopped"
        );
    }
}

/// What the turn recorded goes to the recordings writer (never waiting on it).
fn hand_over(fwd: &mut Forwarder, sink: Option<&RecordingSink>) {
    if let Some(sink) = sink {
        sink.send(fwd.take_recorded());
    }
}

fn handle(
    fwd: &mut Forwarder,
    phones: &mut PhoneSide,
    recording: &mut Option<RecordingSink>,
    cmd: Command,
    tx: &mut impl FnMut(SocketAddr, &[u8]),
    stats: MediaStats,
) {
    let now = Instant::now();
    match cmd {
        Command::Join {
            call,
            participant,
            offer_sdp,
            reply,
        } => {
            let r = fwd.join(&call, &participant, &offer_sdp, now, tx);
            let _ = reply.send(r.map_err(MediaError::from));
        }
        Command::AddCandidate {
            call,
            participant,
            candidate,
            reply,
        } => {
            let r = fwd.add_candidate(&call, &participant, &candidate);
            let _ = reply.send(r.map_err(MediaError::from));
        }
        Command::Leave {
            call,
            participant,
            reply,
        } => {
            fwd.leave(&call, &participant, now, tx);
            phones.leave(fwd, &call, &participant);
            let _ = reply.send(Ok(()));
        }
        Command::SetRoutes {
            call,
            routes,
            reply,
        } => {
            phones.set_routes(&call, &routes);
            fwd.set_routes(&call, routes);
            let _ = reply.send(Ok(()));
        }
        Command::EndCall { call, reply } => {
            fwd.end_call(&call, now, tx);
            phones.end_call(&call);
            let _ = reply.send(Ok(()));
        }
        Command::Stats { reply } => {
            let _ = reply.send(Ok(stats));
        }
        Command::Record { sink, reply } => {
            fwd.record_all(sink.is_some());
            if sink.is_none() {
                // Legs being recorded end with the packets already handed over.
                hand_over(fwd, recording.as_ref());
            }
            *recording = sink;
            let _ = reply.send(Ok(()));
        }
        Command::Play {
            call,
            participant,
            audio,
            then,
            reply,
        } => {
            let _ = reply.send(phones.play(&call, &participant, audio, then));
        }
        Command::PhoneRenegotiated {
            call,
            participant,
            sends,
            remote,
            reply,
        } => {
            phones.renegotiated(&call, &participant, sends, remote);
            let _ = reply.send(Ok(()));
        }
        Command::StopPlaying {
            call,
            participant,
            reply,
        } => {
            phones.stop_playing(&call, &participant);
            let _ = reply.send(Ok(()));
        }
        #[cfg(feature = "phone-audio")]
        Command::JoinPhone {
            leg,
            socket,
            lost,
            reply,
        } => {
            let _ = reply.send(phones.join(fwd, leg, socket, lost, now));
        }
        #[cfg(feature = "testkit")]
        Command::Hold { length, reply } => {
            let _ = reply.send(Ok(()));
            // The point is to block this thread, as a saturated loop would.
            std::thread::sleep(length);
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn sysctl(name: &str) -> usize {
        std::fs::read_to_string(format!("/proc/sys/net/core/{name}"))
            .expect("sysctl")
            .trim()
            .parse()
            .expect("a number")
    }

    #[test]
    fn the_buffers_granted_are_what_was_asked_up_to_the_kernels_caps() {
        let caps = Buffers {
            recv: sysctl("rmem_max"),
            send: sysctl("wmem_max"),
        };
        for asked in [64 << 10, 1 << 30] {
            let (_, granted) = bind("127.0.0.1:0".parse().expect("addr"), asked).expect("bind");
            let want = Buffers {
                recv: asked.min(caps.recv),
                send: asked.min(caps.send),
            };
            assert_eq!(granted, want, "asked for {asked}");
        }
    }
}
