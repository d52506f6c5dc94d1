//! The media driver: one thread owns the one UDP socket and every WebRTC peer, and forwards audio
//! as `AudioRoutes` allow. `MediaHandle` is the only async surface of the media plane: commands go
//! to the loop over a channel, events come back on a broadcast channel. Phone legs' RTP sockets
//! are read and written on the same thread (`phone`, with the `phone-audio` feature). Nothing here decides who
//! hears whom (that is `engine::routes`) or how a slot stays continuous (`engine::forward`).

use crate::config::MediaSettings;
use crate::domain::{CallId, ParticipantId};
use crate::engine::AudioRoutes;
use crate::sfu::{Forwarder, ForwarderStats, SfuError};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

#[cfg(feature = "phone-audio")]
pub use crate::sfu::phone::PhoneLeg;
pub use crate::sfu::{MediaEvent, Playout};

mod handle;
#[cfg(feature = "phone-audio")]
mod phone;
#[cfg(feature = "phone-audio")]
use phone::PhoneSide;

/// Without phone audio the loop has no phone side: nothing to read, nothing due.
#[cfg(not(feature = "phone-audio"))]
#[derive(Default)]
struct PhoneSide {
    send_errors: u64,
}

#[cfg(not(feature = "phone-audio"))]
impl PhoneSide {
    fn set_routes(&mut self, _: &CallId, _: &AudioRoutes) {}
    fn leave(&mut self, _: &mut Forwarder, _: &CallId, _: &ParticipantId) {}
    fn end_call(&mut self, _: &CallId) {}
    fn play(
        &mut self,
        _: &CallId,
        _: &ParticipantId,
        _: Arc<[i16]>,
        _: Playout,
    ) -> Result<(), MediaError> {
        Err(MediaError::Phone(
            "built without the phone-audio feature".into(),
        ))
    }
    fn stop_playing(&mut self, _: &CallId, _: &ParticipantId) {}
    fn next_deadline(&self) -> Option<Instant> {
        None
    }
    async fn readable(&mut self) -> usize {
        std::future::pending().await
    }
    fn read(&mut self, _: usize, _: Instant) {}
    fn turn(&mut self, _: &mut Forwarder, _: Instant, _: &broadcast::Sender<MediaEvent>) {}
}

/// Receive slots each client pre-creates (recvonly transceivers), so joins and leaves only change
/// the forwarding table.
pub const RECV_SLOTS: usize = 3;
/// Commands queued to the media loop before `MediaHandle` calls wait.
pub const COMMAND_CAPACITY: usize = 256;
/// Events buffered per subscriber; a slower subscriber misses the oldest (broadcast semantics).
pub const EVENT_CAPACITY: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("cannot bind the media UDP socket on port {port}: {source}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    /// What the SFU refused (offer, candidate, unknown call or participant, WebRTC set-up).
    #[error(transparent)]
    Sfu(#[from] SfuError),
    #[error("cannot start the media loop's thread: {0}")]
    Thread(String),
    #[error("the media loop has stopped")]
    Stopped,
    /// A phone leg could not be added (its socket, or libopus).
    #[error("phone leg: {0}")]
    Phone(String),
}

pub(crate) enum Command {
    Join {
        call: CallId,
        participant: ParticipantId,
        offer_sdp: String,
        reply: oneshot::Sender<Result<String, MediaError>>,
    },
    AddCandidate {
        call: CallId,
        participant: ParticipantId,
        candidate: String,
        reply: oneshot::Sender<Result<(), MediaError>>,
    },
    Leave {
        call: CallId,
        participant: ParticipantId,
        reply: oneshot::Sender<Result<(), MediaError>>,
    },
    SetRoutes {
        call: CallId,
        routes: AudioRoutes,
        reply: oneshot::Sender<Result<(), MediaError>>,
    },
    EndCall {
        call: CallId,
        reply: oneshot::Sender<Result<(), MediaError>>,
    },
    Stats {
        reply: oneshot::Sender<Result<MediaStats, MediaError>>,
    },
    Play {
        call: CallId,
        participant: ParticipantId,
        audio: Arc<[i16]>,
        then: Playout,
        reply: oneshot::Sender<Result<(), MediaError>>,
    },
    StopPlaying {
        call: CallId,
        participant: ParticipantId,
        reply: oneshot::Sender<Result<(), MediaError>>,
    },
    #[cfg(feature = "phone-audio")]
    JoinPhone {
        leg: PhoneLeg,
        socket: std::net::UdpSocket,
        lost: CancellationToken,
        reply: oneshot::Sender<Result<(), MediaError>>,
    },
}

/// Counters of the media loop since it started (metrics, the load benchmark).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaStats {
    pub forwarder: ForwarderStats,
    /// Datagrams the socket refused (send buffer full, unreachable).
    pub send_errors: u64,
}

/// Cheap to clone; every clone talks to the same media loop.
#[derive(Clone)]
pub struct MediaHandle {
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<MediaEvent>,
    local_addr: SocketAddr,
    /// Cancelled when the loop's thread has ended (however it ended).
    finished: CancellationToken,
}

/// Binds the one UDP socket (`settings.udp_port`, 0 = any free port) and starts the media loop,
/// which stops when `shutdown` is cancelled.
pub async fn spawn(
    settings: &MediaSettings,
    shutdown: CancellationToken,
) -> Result<MediaHandle, MediaError> {
    start(settings, shutdown)
}

/// `spawn` for callers outside async code (nothing in it waits). The loop also stops when every
/// clone of the handle is dropped.
pub fn start(
    settings: &MediaSettings,
    shutdown: CancellationToken,
) -> Result<MediaHandle, MediaError> {
    let port = settings.udp_port;
    let bind_ip = match settings.public_ip {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let socket =
        bind(SocketAddr::new(bind_ip, port)).map_err(|source| MediaError::Bind { port, source })?;
    let bound = socket
        .local_addr()
        .map_err(|source| MediaError::Bind { port, source })?;
    let local_addr = SocketAddr::new(settings.public_ip, bound.port());
    let forwarder = Forwarder::new(local_addr, Instant::now()).map_err(MediaError::from)?;
    let (commands, rx) = mpsc::channel(COMMAND_CAPACITY);
    let (events, _) = broadcast::channel(EVENT_CAPACITY);
    let loop_events = events.clone();
    let finished = CancellationToken::new();
    let ended = finished.clone().drop_guard();
    std::thread::Builder::new()
        .name("media".into())
        .spawn(move || {
            let _ended = ended;
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!(error = %e, "media loop: no runtime");
                    return;
                }
            };
            rt.block_on(run(socket, forwarder, rx, loop_events, shutdown));
        })
        .map_err(|e| MediaError::Thread(e.to_string()))?;
    tracing::info!(%local_addr, bound = %bound, "media loop started");
    Ok(MediaHandle {
        commands,
        events,
        local_addr,
        finished,
    })
}

/// Kernel socket buffers asked for: bursts after a scheduling hiccup must not overflow them.
const SOCKET_BUFFER_BYTES: usize = 4 << 20;
/// Datagrams handled per wake-up before commands and timers get a turn.
const MAX_DATAGRAMS_PER_WAKE: usize = 256;
/// Datagrams read before forwarded audio is sent: amortizes each listener's send overhead while
/// adding at most this many packets' processing time (~0.2 ms) of latency.
const FLUSH_EVERY: usize = 16;
/// Largest datagram read (WebRTC keeps under ~1200 bytes; anything longer is cut and dropped).
const MAX_DATAGRAM: usize = 2048;
/// The loop wakes at least this often even with nothing due.
const IDLE_WAKE: Duration = Duration::from_secs(1);
/// One turn of the loop taking longer than this is logged: audio queues up meanwhile.
const SLOW_TURN: Duration = Duration::from_millis(20);

fn bind(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    // Best effort: the kernel caps these at net.core.{r,w}mem_max.
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER_BYTES);
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER_BYTES);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// The media loop: commands, datagrams and timers, one at a time, on one thread.
async fn run(
    socket: std::net::UdpSocket,
    mut fwd: Forwarder,
    mut commands: mpsc::Receiver<Command>,
    events: broadcast::Sender<MediaEvent>,
    shutdown: CancellationToken,
) {
    let socket = match UdpSocket::from_std(socket) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "media loop: cannot register the socket");
            return;
        }
    };
    let send_errors = std::cell::Cell::new(0u64);
    let mut tx = |dst: SocketAddr, data: &[u8]| {
        if socket.try_send_to(data, dst).is_err() {
            send_errors.set(send_errors.get() + 1);
        }
    };
    let mut phones = PhoneSide::default();
    let mut buf = vec![0u8; MAX_DATAGRAM];
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
                    handle(&mut fwd, &mut phones, cmd, &mut tx, send_errors.get())
                }
                None => break,
            },
            ready = socket.readable() => {
                if let Err(e) = ready {
                    tracing::error!(error = %e, "media socket failed");
                    break;
                }
                woke = Instant::now();
                turn = "datagrams";
                for i in 1..=MAX_DATAGRAMS_PER_WAKE {
                    datagrams = i;
                    match socket.try_recv_from(&mut buf) {
                        Ok((n, src)) => fwd.handle_datagram(src, &buf[..n], Instant::now(), &mut tx),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        // ICMP errors from a vanished peer surface here; the peer times out.
                        Err(_) => continue,
                    }
                    if i % FLUSH_EVERY == 0 {
                        fwd.flush(Instant::now(), &mut tx);
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
        fwd.handle_timeouts(Instant::now(), &mut tx);
        for ev in fwd.drain_events() {
            // No subscriber is fine: events are advisory.
            let _ = events.send(ev);
        }
        let took = woke.elapsed();
        if took > SLOW_TURN {
            tracing::warn!(?took, turn, datagrams, "slow media loop turn");
        }
    }
    let stats = fwd.stats();
    tracing::info!(
        ?stats,
        send_errors = send_errors.get(),
        phone_send_errors = phones.send_errors,
        "media loop stopped"
    );
}

fn handle(
    fwd: &mut Forwarder,
    phones: &mut PhoneSide,
    cmd: Command,
    tx: &mut impl FnMut(SocketAddr, &[u8]),
    send_errors: u64,
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
            let _ = reply.send(Ok(MediaStats {
                forwarder: fwd.stats(),
                send_errors,
            }));
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
    }
}
