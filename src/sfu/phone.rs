//! `Phones`: the phone legs of one media loop and each call's `Mixer`. A phone's G.711 RTP comes
//! in (symmetric RTP: answers go where its first packet came from, and only that address is
//! heard; telephone-events are key presses, reported as `Digit`, never audio), browsers' Opus
//! packets are tapped from the forwarder, and every `FRAME_MS` each phone gets its mix (plus what
//! is played to it alone: prompts, the comfort tone) as G.711 RTP and each phone's voice comes
//! out once as Opus for the forwarder's slots. A leg whose RTP stops for the configured time is
//! reported `Disconnected` and dropped.
//! Sans-I/O: the driver owns the sockets (a leg's index names its socket) and the clock.

mod dtmf;
mod inbound;
mod rtp;
mod srtp;

use super::mix::{Codec, MixError, MixOutput, Mixer, FRAME_MS};
use super::{MediaEvent, Playout, SfuError};
use crate::domain::{CallId, ParticipantId};
use crate::engine::{AudioRoutes, RtpTiming};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use rtp::{parse as parse_rtp, Header as RtpHeader, Stream as RtpStream};
use srtp::Srtp;
pub use srtp::{SrtpError, SrtpKeys, SrtpSuite, KEY_SALT_LEN};

/// A mix tick this late (a stalled loop) is not caught up frame by frame: the clock restarts, and
/// the jitter buffers conceal the gap.
const MAX_TICK_LAG: Duration = Duration::from_millis(200);
/// Samples per Opus frame at 48 kHz: a phone voice packet's timestamp step.
const OPUS_FRAME_TS: u32 = 960;

/// What the edge tells the media loop about a new phone leg.
#[derive(Debug, Clone)]
pub struct PhoneLeg {
    pub call: CallId,
    pub participant: ParticipantId,
    /// G.711 or Opus, as negotiated.
    pub codec: Codec,
    /// The audio's payload type (static for G.711, the offer's for Opus).
    pub payload_type: u8,
    /// SDES-SRTP keys, when the leg negotiated RTP/SAVP.
    pub srtp: Option<SrtpKeys>,
    /// The telephone-event payload type negotiated, whose packets are not audio.
    pub telephone_event: Option<u8>,
    /// Where the SDP offer said to send RTP, until the phone's first packet shows where it is.
    pub remote: SocketAddr,
    /// No RTP for this long: the leg is dropped.
    pub rtp_timeout: Duration,
}

/// Why a phone leg could not be added.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    #[error(transparent)]
    Mix(#[from] MixError),
    #[error(transparent)]
    Srtp(#[from] SrtpError),
}

/// Counters since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PhoneStats {
    pub rtp_in: u64,
    pub telephone_events: u64,
    /// Not RTP, or a payload type the leg did not negotiate.
    pub ignored: u64,
    /// SRTP packets that failed authentication or replayed.
    pub srtp_refused: u64,
    pub rtp_out: u64,
}

struct Leg {
    spec: PhoneLeg,
    /// The phone's real RTP address, from its first packet.
    latched: Option<SocketAddr>,
    last_rx: Instant,
    /// The phone said it sends nothing for now (held with inactive or recvonly): its RTP
    /// timeout waits until it sends again.
    paused: bool,
    /// The address the phone sent from before a re-INVITE moved its media: not the phone's now.
    moved_from: Option<SocketAddr>,
    heard_once: bool,
    out: RtpStream,
    srtp: Option<Srtp>,
    /// Numbering of the leg's voice as the forwarder sees it (an Opus stream at 48 kHz).
    voice_seq: u64,
    voice_ts: u32,
    keys: dtmf::Keys,
}

#[derive(Default)]
struct CallMix {
    mixer: Mixer,
    routes: AudioRoutes,
    phones: BTreeMap<ParticipantId, usize>,
}

#[derive(Default)]
pub struct Phones {
    legs: Vec<Option<Leg>>,
    free: Vec<usize>,
    calls: HashMap<CallId, CallMix>,
    next_tick: Option<Instant>,
    events: Vec<MediaEvent>,
    closed: Vec<usize>,
    buf: Vec<u8>,
    stats: PhoneStats,
}

impl Phones {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn stats(&self) -> PhoneStats {
        self.stats
    }

    /// Adds a phone leg (replacing the participant's earlier one) and returns its index, which
    /// names its socket for the driver. Fails only if libopus cannot make a codec or the SRTP
    /// keys are unusable.
    pub fn add(&mut self, spec: PhoneLeg, ssrc: u32, now: Instant) -> Result<usize, AddError> {
        let srtp = spec.srtp.as_ref().map(Srtp::new).transpose()?;
        self.remove(&spec.call, &spec.participant);
        let media = self.calls.entry(spec.call.clone()).or_default();
        media
            .mixer
            .add_phone_source(spec.participant.clone(), spec.codec)?;
        media
            .mixer
            .add_listener(spec.participant.clone(), spec.codec)?;
        media.mixer.apply_routes(&media.routes);
        let (call, participant) = (spec.call.clone(), spec.participant.clone());
        let leg = Leg {
            // The sequence and timestamp start from the SSRC's bits: unpredictable enough, and
            // no second random source is needed.
            out: RtpStream::new(ssrc, (ssrc >> 16) as u16, ssrc.rotate_left(7)),
            srtp,
            spec,
            latched: None,
            last_rx: now,
            paused: false,
            moved_from: None,
            heard_once: false,
            voice_seq: 0,
            voice_ts: ssrc.rotate_left(13),
            keys: dtmf::Keys::default(),
        };
        let idx = match self.free.pop() {
            Some(i) => {
                self.legs[i] = Some(leg);
                i
            }
            None => {
                self.legs.push(Some(leg));
                self.legs.len() - 1
            }
        };
        media.phones.insert(participant.clone(), idx);
        self.next_tick.get_or_insert(now);
        tracing::info!(call_id = %call, participant = %participant, leg = idx, "phone leg added to the mix");
        Ok(idx)
    }

    /// Whether `call` has phone legs (its browsers' audio is then worth tapping).
    pub fn has_call(&self, call: &CallId) -> bool {
        self.calls.get(call).is_some_and(|c| !c.phones.is_empty())
    }

    /// Routes changed: every phone hears what they allow.
    pub fn set_routes(&mut self, call: &CallId, routes: &AudioRoutes) {
        // Kept for a phone that joins later, too.
        let media = self.calls.entry(call.clone()).or_default();
        media.routes = routes.clone();
        media.mixer.apply_routes(routes);
    }

    /// Plays `audio` (8 kHz mono) to the phone leg of `participant` alone, replacing what was
    /// played to it; `then` says what it hears after the audio (`PlayoutDone` when it ended).
    pub fn play(
        &mut self,
        call: &CallId,
        participant: &ParticipantId,
        audio: Arc<[i16]>,
        then: Playout,
    ) -> Result<(), SfuError> {
        let unknown = || SfuError::UnknownParticipant {
            call: call.clone(),
            participant: participant.clone(),
        };
        let media = self
            .calls
            .get_mut(call)
            .filter(|m| m.phones.contains_key(participant))
            .ok_or_else(unknown)?;
        media
            .mixer
            .play(participant, audio, then)
            .map_err(|_| unknown())
    }

    /// Stops what is played to `participant`'s phone leg (nothing to stop is fine).
    pub fn stop_playing(&mut self, call: &CallId, participant: &ParticipantId) {
        if let Some(media) = self.calls.get_mut(call) {
            media.mixer.stop_playing(participant);
        }
    }

    /// The phone leg `participant` of `call` renegotiated (a re-INVITE): whether it sends RTP
    /// for now (its SDP direction) and where it wants our RTP. While it sends nothing (a PBX
    /// holding the call with inactive) silence is not a dropped leg; when it sends again, the RTP
    /// timeout counts from `now`. A new address is latched afresh from its next packet, and
    /// packets from the old one are no longer the phone's.
    pub fn renegotiated(
        &mut self,
        call: &CallId,
        participant: &ParticipantId,
        sends: bool,
        remote: Option<SocketAddr>,
        now: Instant,
    ) {
        let Some(&idx) = self.calls.get(call).and_then(|m| m.phones.get(participant)) else {
            return;
        };
        let Some(Some(leg)) = self.legs.get_mut(idx) else {
            return;
        };
        if leg.paused && sends {
            leg.last_rx = now;
        }
        leg.paused = !sends;
        if let Some(remote) = remote {
            if remote != leg.spec.remote {
                tracing::info!(call_id = %call, participant = %participant, from = %leg.spec.remote, to = %remote, "phone media moved");
                leg.spec.remote = remote;
                leg.moved_from = leg.latched.take();
            }
        }
    }

    /// `participant` left `call`: as a phone its leg closes, as a browser its audio leaves the mix.
    pub fn remove(&mut self, call: &CallId, participant: &ParticipantId) {
        let Some(media) = self.calls.get_mut(call) else {
            return;
        };
        media.mixer.remove(participant);
        if let Some(idx) = media.phones.remove(participant) {
            self.close(idx);
        }
    }

    /// The call ended: every phone leg of it closes.
    pub fn end_call(&mut self, call: &CallId) {
        if let Some(media) = self.calls.remove(call) {
            for idx in media.phones.into_values() {
                self.close(idx);
            }
        }
    }

    /// Legs closed since the last call: the driver drops their sockets.
    pub fn drain_closed(&mut self) -> std::vec::Drain<'_, usize> {
        self.closed.drain(..)
    }

    /// Events since the last call (`Connected` on a leg's first packet, `Disconnected` on its
    /// RTP timeout, `Digit` per key press, `PlayoutDone` when played audio ended).
    pub fn drain_events(&mut self) -> std::vec::Drain<'_, MediaEvent> {
        self.events.drain(..)
    }

    /// When `handle_timeout` is next needed (`None`: no phone legs).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.next_tick
    }

    /// Runs the mix ticks due by `now`: each phone's mix goes to `send` (leg index, address,
    /// datagram), each phone's voice to `voice` (call, participant, timing, level, Opus payload) for
    /// the forwarder. Then drops legs whose RTP timed out.
    pub fn handle_timeout(
        &mut self,
        now: Instant,
        send: &mut impl FnMut(usize, SocketAddr, &[u8]),
        voice: &mut impl FnMut(&CallId, &ParticipantId, RtpTiming, u8, Arc<[u8]>),
    ) {
        if self.legs.iter().all(Option::is_none) {
            self.next_tick = None;
            return;
        }
        let frame = Duration::from_millis(FRAME_MS.into());
        let mut tick = match self.next_tick {
            Some(t) if now.saturating_duration_since(t) <= MAX_TICK_LAG => t,
            Some(_) => {
                tracing::warn!("phone mix fell behind; clock restarted");
                now
            }
            None => now,
        };
        while tick <= now {
            self.tick(tick, send, voice);
            tick += frame;
        }
        self.next_tick = Some(tick);
        self.expire(now);
    }

    fn tick(
        &mut self,
        at: Instant,
        send: &mut impl FnMut(usize, SocketAddr, &[u8]),
        voice: &mut impl FnMut(&CallId, &ParticipantId, RtpTiming, u8, Arc<[u8]>),
    ) {
        for (call, media) in &mut self.calls {
            if media.phones.is_empty() {
                continue;
            }
            if let Err(e) = media.mixer.tick(at) {
                tracing::warn!(call_id = %call, error = %e, "mix tick failed");
            }
            while let Some(out) = media.mixer.poll_output() {
                match out {
                    MixOutput::Mix {
                        listener,
                        codec,
                        payload,
                        ..
                    } => {
                        let Some(&idx) = media.phones.get(&listener) else {
                            continue;
                        };
                        let Some(Some(leg)) = self.legs.get_mut(idx) else {
                            continue;
                        };
                        leg.out.write(
                            leg.spec.payload_type,
                            &payload,
                            codec.frame_samples() as u32,
                            &mut self.buf,
                        );
                        if let Some(srtp) = leg.srtp.as_mut() {
                            if !srtp.encrypt(&mut self.buf) {
                                continue;
                            }
                        }
                        self.stats.rtp_out += 1;
                        send(idx, leg.spec.remote, &self.buf);
                    }
                    MixOutput::Voice {
                        source,
                        payload,
                        level,
                    } => {
                        let Some(&idx) = media.phones.get(&source) else {
                            continue;
                        };
                        let Some(Some(leg)) = self.legs.get_mut(idx) else {
                            continue;
                        };
                        let timing = RtpTiming {
                            seq: leg.voice_seq,
                            ts: leg.voice_ts,
                            marker: leg.voice_seq == 0,
                        };
                        leg.voice_seq += 1;
                        leg.voice_ts = leg.voice_ts.wrapping_add(OPUS_FRAME_TS);
                        voice(call, &source, timing, level, payload.into());
                    }
                    MixOutput::PlayoutDone { listener } => {
                        self.events.push(MediaEvent::PlayoutDone {
                            call: call.clone(),
                            participant: listener,
                        });
                    }
                }
            }
        }
    }

    fn expire(&mut self, now: Instant) {
        let dead: Vec<(CallId, ParticipantId)> = self
            .legs
            .iter()
            .flatten()
            .filter(|l| !l.paused && now.saturating_duration_since(l.last_rx) >= l.spec.rtp_timeout)
            .map(|l| (l.spec.call.clone(), l.spec.participant.clone()))
            .collect();
        for (call, participant) in dead {
            tracing::info!(call_id = %call, participant = %participant, "phone RTP timed out; leg dropped");
            self.remove(&call, &participant);
            self.events
                .push(MediaEvent::Disconnected { call, participant });
        }
    }

    fn close(&mut self, idx: usize) {
        if let Some(slot) = self.legs.get_mut(idx) {
            if slot.take().is_some() {
                self.free.push(idx);
                self.closed.push(idx);
            }
        }
    }
}

#[cfg(test)]
mod tests;
