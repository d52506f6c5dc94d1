//! The media driver: media shards, each a thread that owns one UDP socket and every WebRTC peer
//! of the calls placed on it, forwarding audio as `AudioRoutes` allow (`shard`; its socket read
//! with recvmmsg/GRO in `inbox`, written with sendmmsg in `outbox`). A call is placed
//! on one shard when it first gets media and all its legs stay there (`placement`), so the
//! forwarding path never crosses threads. `MediaHandle` is the only async surface of the media
//! plane: commands go to the call's shard over a channel, events of every shard come back on one
//! broadcast channel. Phone legs' RTP sockets are read and written on their call's shard
//! (`phone`, with the `phone-audio` feature). Nothing here decides who hears whom (that is
//! `engine::routes`) or how a slot stays continuous (`engine::forward`).

use crate::config::MediaSettings;
use crate::domain::{CallId, ParticipantId};
use crate::engine::AudioRoutes;
use crate::sfu::{Forwarder, ForwarderStats, SfuError};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

#[cfg(feature = "phone-audio")]
pub use crate::sfu::phone::PhoneLeg;
pub use crate::sfu::{MediaEvent, Playout};

mod handle;
mod inbox;
mod outbox;
#[cfg(feature = "phone-audio")]
mod phone;
mod placement;
mod shard;
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
    fn renegotiated(&mut self, _: &CallId, _: &ParticipantId, _: bool, _: Option<SocketAddr>) {}
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
    #[error("cannot bind a media UDP socket on port {port}: {source}")]
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
    /// A phone leg's re-INVITE: see `MediaHandle::phone_renegotiated`.
    PhoneRenegotiated {
        call: CallId,
        participant: ParticipantId,
        sends: bool,
        remote: Option<SocketAddr>,
        reply: oneshot::Sender<Result<(), MediaError>>,
    },
    /// Every shard: hand every leg's packets to `sink` from now on (`None`: stop).
    Record {
        sink: Option<crate::drivers::recordings::RecordingSink>,
        reply: oneshot::Sender<Result<(), MediaError>>,
    },
    #[cfg(feature = "phone-audio")]
    JoinPhone {
        leg: PhoneLeg,
        socket: std::net::UdpSocket,
        lost: CancellationToken,
        reply: oneshot::Sender<Result<(), MediaError>>,
    },
    /// Tests: the shard's thread answers, then does nothing else for `length` (a saturated loop).
    #[cfg(feature = "testkit")]
    Hold {
        length: Duration,
        reply: oneshot::Sender<Result<(), MediaError>>,
    },
}

impl Command {
    /// The call a command is about: it goes to that call's shard. Every command naming a call
    /// must say so here (routing is decided in this one place, `MediaHandle::ask`).
    fn call(&self) -> Option<&CallId> {
        match self {
            Command::Join { call, .. }
            | Command::AddCandidate { call, .. }
            | Command::Leave { call, .. }
            | Command::SetRoutes { call, .. }
            | Command::EndCall { call, .. }
            | Command::Play { call, .. }
            | Command::StopPlaying { call, .. }
            | Command::PhoneRenegotiated { call, .. } => Some(call),
            #[cfg(feature = "phone-audio")]
            Command::JoinPhone { leg, .. } => Some(&leg.call),
            Command::Stats { .. } | Command::Record { .. } => None,
            #[cfg(feature = "testkit")]
            Command::Hold { .. } => None,
        }
    }

    /// Whether the command gives its call media, placing the call on a shard if it has none
    /// (the others only find the call's shard).
    fn places(&self) -> bool {
        match self {
            Command::Join { .. } | Command::SetRoutes { .. } => true,
            #[cfg(feature = "phone-audio")]
            Command::JoinPhone { .. } => true,
            _ => false,
        }
    }
}

/// Counters of one media shard since it started (or of all, summed: `MediaHandle::stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaStats {
    pub forwarder: ForwarderStats,
    /// Datagrams the socket refused (send buffer full, unreachable).
    pub send_errors: u64,
    /// Peers connected now (`forwarder.peers` counts every join since start).
    pub live_peers: u64,
    /// Time the loop spent working (not waiting) since start.
    pub busy: Duration,
    /// Share of the last full second the loop spent working, in thousandths (summed over
    /// shards: the busiest shard's).
    pub busy_permille: u32,
    /// Shards whose thread runs at real-time priority (`media.realtime_priority`, granted).
    pub realtime_shards: u32,
}

impl MediaStats {
    fn add(&mut self, o: &MediaStats) {
        let (f, g) = (&mut self.forwarder, &o.forwarder);
        f.datagrams_in += g.datagrams_in;
        f.rtp_in += g.rtp_in;
        f.rtp_forwarded += g.rtp_forwarded;
        f.unclaimed += g.unclaimed;
        f.peers += g.peers;
        f.timer_runs += g.timer_runs;
        self.send_errors += o.send_errors;
        self.live_peers += o.live_peers;
        self.busy += o.busy;
        self.busy_permille = self.busy_permille.max(o.busy_permille);
        self.realtime_shards += o.realtime_shards;
    }
}

/// One shard's figures for metrics: its stats, the calls placed on it and its address.
#[derive(Debug, Clone)]
pub struct ShardStats {
    pub shard: usize,
    pub local_addr: SocketAddr,
    pub calls: usize,
    pub stats: MediaStats,
}

/// How the handle reaches one shard.
struct ShardLink {
    commands: mpsc::Sender<Command>,
    local_addr: SocketAddr,
}

/// Cheap to clone; every clone talks to the same shards.
#[derive(Clone)]
pub struct MediaHandle {
    shards: Arc<[ShardLink]>,
    placement: Arc<placement::Placement>,
    events: broadcast::Sender<MediaEvent>,
    /// Cancelled when every shard's thread has ended (however they ended).
    finished: CancellationToken,
}

/// Binds each shard's UDP socket (`settings.udp_port + i`, 0 = any free port) and starts the
/// shards, which stop when `shutdown` is cancelled.
pub async fn spawn(
    settings: &MediaSettings,
    shutdown: CancellationToken,
) -> Result<MediaHandle, MediaError> {
    start(settings, shutdown)
}

/// Says once, at start, that the kernel granted smaller socket buffers than configured (every
/// shard's socket gets the same) and how to raise its caps.
fn warn_if_short(asked: usize, granted: shard::Buffers) {
    if granted.recv >= asked && granted.send >= asked {
        return;
    }
    tracing::warn!(
        asked,
        granted_recv = granted.recv,
        granted_send = granted.send,
        "media socket buffers smaller than media.socket_buffer_bytes: bursts may be dropped; \
         raise the kernel's caps, e.g. `sysctl -w net.core.rmem_max={asked} net.core.wmem_max={asked}`"
    );
}

/// Shards to run for `configured` (0 = one per available core).
pub fn shard_count(configured: usize) -> usize {
    if configured > 0 {
        return configured;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `spawn` for callers outside async code (nothing in it waits). The shards also stop when
/// every clone of the handle is dropped.
pub fn start(
    settings: &MediaSettings,
    shutdown: CancellationToken,
) -> Result<MediaHandle, MediaError> {
    let count = shard_count(settings.shards);
    let bind_ip = match settings.public_ip {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let (events, _) = broadcast::channel(EVENT_CAPACITY);
    let finished = CancellationToken::new();
    // Every shard's thread holds a clone; the last one to end cancels `finished`.
    let ended = Arc::new(finished.clone().drop_guard());
    // Bind every socket first, so a port in use starts no thread.
    let mut sockets = Vec::with_capacity(count);
    for i in 0..count {
        let port = match settings.udp_port {
            0 => 0,
            p => u16::try_from(p as usize + i).map_err(|_| MediaError::Bind {
                port: p,
                source: std::io::Error::other("port range past 65535"),
            })?,
        };
        let (socket, granted) =
            shard::bind(SocketAddr::new(bind_ip, port), settings.socket_buffer_bytes)
                .map_err(|source| MediaError::Bind { port, source })?;
        if i == 0 {
            warn_if_short(settings.socket_buffer_bytes, granted);
        }
        let bound = socket
            .local_addr()
            .map_err(|source| MediaError::Bind { port, source })?;
        sockets.push((socket, SocketAddr::new(settings.public_ip, bound.port())));
    }
    let mut shards = Vec::with_capacity(count);
    for (i, (socket, local_addr)) in sockets.into_iter().enumerate() {
        let forwarder = Forwarder::new(local_addr, Instant::now()).map_err(MediaError::from)?;
        let (commands, rx) = mpsc::channel(COMMAND_CAPACITY);
        let s = shard::Shard {
            index: i,
            socket,
            forwarder,
            commands: rx,
            events: events.clone(),
            shutdown: shutdown.clone(),
            realtime_priority: settings.realtime_priority,
        };
        let ended = ended.clone();
        std::thread::Builder::new()
            .name(format!("media-{i}"))
            .spawn(move || {
                let _ended = ended;
                s.run_on_thread();
            })
            .map_err(|e| MediaError::Thread(e.to_string()))?;
        tracing::info!(shard = i, %local_addr, "media shard started");
        shards.push(ShardLink {
            commands,
            local_addr,
        });
    }
    Ok(MediaHandle {
        shards: shards.into(),
        placement: Arc::new(placement::Placement::new(count)),
        events,
        finished,
    })
}
