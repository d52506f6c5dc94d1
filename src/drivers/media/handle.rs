//! `MediaHandle`'s methods: each queues one command to its call's shard and awaits its answer
//! (`Stopped` once the shard has ended). A new method only builds its `Command`; `ask` routes it
//! by `Command::call`.

use super::placement::Placement;
#[cfg(feature = "phone-audio")]
use super::PhoneLeg;
use super::{
    Command, MediaError, MediaEvent, MediaHandle, MediaStats, Playout, ShardLink, ShardStats,
};
use crate::domain::{CallId, ParticipantId};
use crate::engine::AudioRoutes;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

impl MediaHandle {
    /// A handle with no loop behind it: every call fails with `Stopped` (used where the loop
    /// could not start and the caller cannot fail, e.g. `AppState::in_memory`).
    pub fn stopped() -> Self {
        let (commands, _) = mpsc::channel(1);
        let (events, _) = broadcast::channel(1);
        let finished = CancellationToken::new();
        finished.cancel();
        let link = ShardLink {
            commands,
            local_addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        };
        Self {
            shards: Arc::from(vec![link]),
            placement: Arc::new(Placement::new(1)),
            events,
            finished,
        }
    }

    /// Resolves once every shard's thread has ended (at once for `stopped()`), so the node can
    /// await it like its tasks.
    pub fn finished(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.finished.clone().cancelled_owned()
    }

    /// The address peers of the first shard send to (its port on `settings.public_ip`).
    pub fn local_addr(&self) -> SocketAddr {
        self.shards[0].local_addr
    }

    /// Each shard's address, by shard index.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.shards.iter().map(|s| s.local_addr).collect()
    }

    /// The shard a call's media is on, if it has been placed.
    pub fn shard_of(&self, call: &CallId) -> Option<usize> {
        self.placement.shard_of(call)
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

    /// Bridges a phone leg's RTP (its socket, bound by the SIP edge) into its call: its voice to
    /// the browsers the routes let hear it, their mix to it. Its RTP stopping for
    /// `leg.rtp_timeout` cancels `lost` (and is reported as `Disconnected`).
    #[cfg(feature = "phone-audio")]
    pub async fn join_phone(
        &self,
        leg: PhoneLeg,
        socket: std::net::UdpSocket,
        lost: CancellationToken,
    ) -> Result<(), MediaError> {
        self.ask(|reply| Command::JoinPhone {
            leg,
            socket,
            lost,
            reply,
        })
        .await
    }

    /// Plays `audio` (8 kHz mono PCM) to `participant`'s phone leg alone, added to what it hears
    /// and replacing what was played to it; `then` says what it hears once the audio ended
    /// (`MediaEvent::PlayoutDone` tells when). Fails if `participant` has no phone leg in `call`.
    pub async fn play(
        &self,
        call: CallId,
        participant: ParticipantId,
        audio: Arc<[i16]>,
        then: Playout,
    ) -> Result<(), MediaError> {
        self.ask(|reply| Command::Play {
            call,
            participant,
            audio,
            then,
            reply,
        })
        .await
    }

    /// Stops what is played to `participant`'s phone leg (audio and comfort tone).
    pub async fn stop_playing(
        &self,
        call: CallId,
        participant: ParticipantId,
    ) -> Result<(), MediaError> {
        self.ask(|reply| Command::StopPlaying {
            call,
            participant,
            reply,
        })
        .await
    }

    /// The phone leg `participant` of `call` renegotiated (a re-INVITE): whether it sends RTP
    /// for now (a PBX holding the call with `inactive` sends nothing, and that silence must not
    /// count as a dropped leg) and, if it said, where it wants our RTP from now on.
    pub async fn phone_renegotiated(
        &self,
        call: CallId,
        participant: ParticipantId,
        sends: bool,
        remote: Option<SocketAddr>,
    ) -> Result<(), MediaError> {
        self.ask(|reply| Command::PhoneRenegotiated {
            call,
            participant,
            sends,
            remote,
            reply,
        })
        .await
    }

    /// A key pressed on a phone leg that arrived outside its RTP (SIP INFO at the edge): reported
    /// to subscribers as `MediaEvent::Digit`, like an RFC 4733 key press, so consumers watch one
    /// stream. Nobody subscribed is fine.
    pub fn digit(&self, call: CallId, participant: ParticipantId, digit: char) {
        let _ = self.events.send(MediaEvent::Digit {
            call,
            participant,
            digit,
        });
    }

    /// Every shard hands every leg's Opus packets to `sink` from now on (`None`: no more).
    pub async fn record_to(
        &self,
        sink: Option<crate::drivers::recordings::RecordingSink>,
    ) -> Result<(), MediaError> {
        for (i, link) in self.shards.iter().enumerate() {
            let sink = sink.as_ref().map(|s| s.for_shard(i));
            Self::send(link, |reply| Command::Record { sink, reply }).await?;
        }
        Ok(())
    }

    /// Every shard's counters, summed.
    pub async fn stats(&self) -> Result<MediaStats, MediaError> {
        let mut total = MediaStats::default();
        for s in self.shard_stats().await? {
            total.add(&s.stats);
        }
        Ok(total)
    }

    /// Each shard's counters and the calls placed on it.
    pub async fn shard_stats(&self) -> Result<Vec<ShardStats>, MediaError> {
        let calls = self.placement.calls_per_shard();
        let mut all = Vec::with_capacity(self.shards.len());
        for (i, link) in self.shards.iter().enumerate() {
            let stats = Self::send(link, |reply| Command::Stats { reply }).await?;
            all.push(ShardStats {
                shard: i,
                local_addr: link.local_addr,
                calls: calls.get(i).copied().unwrap_or(0),
                stats,
            });
        }
        Ok(all)
    }

    /// Tests: blocks shard `shard`'s thread for `length`, as a saturated loop would; returns
    /// once the shard is blocked.
    #[cfg(feature = "testkit")]
    pub async fn hold_shard(
        &self,
        shard: usize,
        length: std::time::Duration,
    ) -> Result<(), MediaError> {
        let link = self.shards.get(shard).ok_or(MediaError::Stopped)?;
        Self::send(link, |reply| Command::Hold { length, reply }).await
    }

    pub fn subscribe(&self) -> broadcast::Receiver<MediaEvent> {
        self.events.subscribe()
    }

    /// Sends a command to its call's shard (placing the call if the command gives it media)
    /// and awaits the answer. The one place commands are routed.
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, MediaError>>) -> Command,
    ) -> Result<T, MediaError> {
        let (tx, rx) = oneshot::channel();
        let cmd = make(tx);
        let shard = match cmd.call() {
            Some(call) => {
                let shard = self.placement.route(call, cmd.places());
                if matches!(cmd, Command::EndCall { .. }) {
                    self.placement.release(call);
                }
                shard
            }
            None => 0,
        };
        let link = self.shards.get(shard).ok_or(MediaError::Stopped)?;
        link.commands
            .send(cmd)
            .await
            .map_err(|_| MediaError::Stopped)?;
        rx.await.map_err(|_| MediaError::Stopped)?
    }

    async fn send<T>(
        link: &ShardLink,
        make: impl FnOnce(oneshot::Sender<Result<T, MediaError>>) -> Command,
    ) -> Result<T, MediaError> {
        let (tx, rx) = oneshot::channel();
        link.commands
            .send(make(tx))
            .await
            .map_err(|_| MediaError::Stopped)?;
        rx.await.map_err(|_| MediaError::Stopped)?
    }
}
