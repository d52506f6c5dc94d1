//! The media driver: one thread owns the one UDP socket and every WebRTC peer, and forwards audio
//! as `AudioRoutes` allow. `MediaHandle` is the only async surface of the media plane: commands go
//! to the loop over a channel, events come back on a broadcast channel. Nothing here decides who
//! hears whom (that is `engine::routes`) or how a slot stays continuous (`engine::forward`).

use crate::config::MediaSettings;
use crate::domain::{CallId, ParticipantId};
use crate::engine::AudioRoutes;
use std::net::SocketAddr;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

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
    #[error("the SDP offer was not accepted: {0}")]
    BadOffer(String),
    #[error("the ICE candidate was not accepted: {0}")]
    BadCandidate(String),
    #[error("call {0} has no media")]
    UnknownCall(CallId),
    #[error("{participant} has no media in call {call}")]
    UnknownParticipant {
        call: CallId,
        participant: ParticipantId,
    },
    #[error("the media loop has stopped")]
    Stopped,
}

/// What the media loop reports. Levels follow RFC 6464: 0 is the loudest, 127 silence (dBov).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// ICE and DTLS are up: audio can flow.
    Connected {
        call: CallId,
        participant: ParticipantId,
    },
    /// ICE failed or closed, or the peer timed out; its media is gone.
    Disconnected {
        call: CallId,
        participant: ParticipantId,
    },
    /// Which receive slot (by mid) carries whom for `participant`, after every change.
    Slots {
        call: CallId,
        participant: ParticipantId,
        slots: Vec<(String, Option<ParticipantId>)>,
    },
    /// About four times a second per call with audio: each sending participant's loudest level.
    Levels {
        call: CallId,
        levels: Vec<(ParticipantId, u8)>,
    },
    /// A connected participant sent no audio for `for_ms`.
    Silent {
        call: CallId,
        participant: ParticipantId,
        for_ms: u64,
    },
}

#[allow(dead_code)] // read by the media loop, which lands in the next commit
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
}

/// Cheap to clone; every clone talks to the same media loop.
#[derive(Clone)]
pub struct MediaHandle {
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<MediaEvent>,
    local_addr: SocketAddr,
}

/// Binds the one UDP socket (`settings.udp_port`, 0 = any free port) and starts the media loop,
/// which stops when `shutdown` is cancelled.
pub async fn spawn(
    settings: &MediaSettings,
    shutdown: CancellationToken,
) -> Result<MediaHandle, MediaError> {
    // The loop lands in the next commit; the types are the contract with signalling.
    let _ = (settings, shutdown);
    Err(MediaError::Stopped)
}

impl MediaHandle {
    /// The address peers send to (the socket's port on `settings.public_ip`).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Adds a participant's peer connection to a call (creating the call's media on first use):
    /// takes the client's SDP offer (one sendrecv audio + `RECV_SLOTS` recvonly audio), returns
    /// the answer. Joining again with the same participant replaces its old connection.
    pub async fn join(
        &self,
        call: CallId,
        participant: ParticipantId,
        offer_sdp: String,
    ) -> Result<String, MediaError> {
        self.ask(|reply| Command::Join {
            call,
            participant,
            offer_sdp,
            reply,
        })
        .await
    }

    /// A trickled ICE candidate from the client (`candidate:…` line, with or without `a=`).
    pub async fn add_candidate(
        &self,
        call: CallId,
        participant: ParticipantId,
        candidate: String,
    ) -> Result<(), MediaError> {
        self.ask(|reply| Command::AddCandidate {
            call,
            participant,
            candidate,
            reply,
        })
        .await
    }

    /// Closes a participant's connection. Leaving twice (or after `Disconnected`) is not an error.
    pub async fn leave(&self, call: CallId, participant: ParticipantId) -> Result<(), MediaError> {
        self.ask(|reply| Command::Leave {
            call,
            participant,
            reply,
        })
        .await
    }

    /// Replaces the call's forwarding table (creating the call's media on first use).
    pub async fn set_routes(&self, call: CallId, routes: AudioRoutes) -> Result<(), MediaError> {
        self.ask(|reply| Command::SetRoutes {
            call,
            routes,
            reply,
        })
        .await
    }

    /// Closes every connection of the call and forgets it.
    pub async fn end_call(&self, call: CallId) -> Result<(), MediaError> {
        self.ask(|reply| Command::EndCall { call, reply }).await
    }

    pub fn subscribe(&self) -> broadcast::Receiver<MediaEvent> {
        self.events.subscribe()
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, MediaError>>) -> Command,
    ) -> Result<T, MediaError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| MediaError::Stopped)?;
        rx.await.map_err(|_| MediaError::Stopped)?
    }
}
