//! `Forwarder`: every peer of one media loop, the calls they belong to, and the forwarding table
//! (source → listener slots) derived from each call's `AudioRoutes` with `engine::forward`.
//! Sans-I/O: the driver feeds datagrams and time and sends what comes out of `tx`.
//! Datagrams are demultiplexed by source address (a map filled on each peer's first STUN check),
//! not by asking every peer.

mod events;
mod phones;
mod routing;
mod timers;

use super::activity::{Activity, LEVELS_INTERVAL};
use super::peer::{Peer, PeerConfig, PeerEvent, RtpIn};
use super::{MediaEvent, Recorded, SfuError};
use crate::domain::{CallId, ParticipantId};
use crate::engine::{AudioRoutes, RtpTiming, SlotAssignment, SlotStream};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use timers::Timers;

/// A peer that has not connected this long after joining is dropped as `Disconnected`.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// A connected peer whose ICE stays lost this long is dropped as `Disconnected`.
pub const DISCONNECT_GRACE: Duration = Duration::from_secs(5);
/// Remote addresses remembered per peer (ICE may use a few; more is a misbehaving client).
const MAX_ADDRS_PER_PEER: usize = 8;

/// Counters since start, for the driver's logs and the load benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ForwarderStats {
    pub datagrams_in: u64,
    pub rtp_in: u64,
    pub rtp_forwarded: u64,
    /// Datagrams from addresses no peer claimed.
    pub unclaimed: u64,
    pub peers: u64,
    /// Times a peer's WebRTC timer ran: when due, or to release packets queued on it.
    pub timer_runs: u64,
}

struct Entry {
    call: CallId,
    participant: ParticipantId,
    peer: Peer,
    /// Unique per connection; an incoming stream is `source | ssrc`.
    source: u64,
    slots: SlotAssignment,
    streams: Vec<SlotStream>,
    /// Where this peer's audio goes: (listener index, slot).
    targets: Vec<(usize, usize)>,
    addrs: Vec<SocketAddr>,
    /// When its WebRTC timer is next due (also queued in `Forwarder::timers`).
    timeout: Instant,
    /// Times its WebRTC timer ran (tests: nobody else's traffic runs it).
    timer_runs: u64,
    joined_at: Instant,
    connected: bool,
    ice_lost_at: Option<Instant>,
    activity: Activity,
    /// Has packets written since the last `flush`.
    dirty: bool,
    /// Its call has phone legs: its audio is also handed to their mix (`drain_taps`).
    tap: bool,
    /// Named to the recordings writer (`Recorded::Began`) since recording was last turned on.
    recorded: bool,
}

/// A phone leg as a source of forwarded audio: its voice, encoded once by the mix, goes to the
/// browser slots routed to it like any peer's packets.
struct PhoneSource {
    source: u64,
    targets: Vec<(usize, usize)>,
    /// Its levels, for the speaking indicators like a browser peer's.
    activity: Activity,
    /// Named to the recordings writer, like a browser peer's `recorded`.
    recorded: bool,
}

/// One browser packet for the phone legs' mix.
pub struct Tap {
    pub call: CallId,
    pub participant: ParticipantId,
    pub timing: RtpTiming,
    pub payload: Arc<[u8]>,
}

#[derive(Default)]
struct CallMedia {
    routes: AudioRoutes,
    members: BTreeMap<ParticipantId, usize>,
    phones: BTreeMap<ParticipantId, PhoneSource>,
}

pub struct Forwarder {
    config: PeerConfig,
    local: SocketAddr,
    epoch: Instant,
    peers: Vec<Option<Entry>>,
    free: Vec<usize>,
    by_addr: HashMap<SocketAddr, usize>,
    calls: HashMap<CallId, CallMedia>,
    pending: VecDeque<(usize, PeerEvent)>,
    /// Listeners with packets written but not yet sent (see `flush`).
    dirty: Vec<usize>,
    /// Each peer's next timer deadline, so only due peers are visited.
    timers: Timers,
    /// Scratch for `handle_timeouts`: the peers due this turn.
    due: Vec<usize>,
    dead: Vec<usize>,
    events: Vec<MediaEvent>,
    next_source: u64,
    next_tick: Instant,
    stats: ForwarderStats,
    taps: Vec<Tap>,
    /// Every leg's packets are handed over for recording (`take_recorded`).
    recording: bool,
    recorded: Vec<Recorded>,
}

impl Forwarder {
    /// `local`: the address peers reach the socket on (public IP, bound port).
    pub fn new(local: SocketAddr, now: Instant) -> Result<Self, SfuError> {
        let config = PeerConfig::new().map_err(|e| SfuError::Setup(e.to_string()))?;
        Ok(Self {
            config,
            local,
            epoch: now,
            peers: Vec::new(),
            free: Vec::new(),
            by_addr: HashMap::new(),
            calls: HashMap::new(),
            pending: VecDeque::new(),
            dirty: Vec::new(),
            timers: Timers::default(),
            due: Vec::new(),
            dead: Vec::new(),
            events: Vec::new(),
            next_source: 1,
            next_tick: now + LEVELS_INTERVAL,
            stats: ForwarderStats::default(),
            taps: Vec::new(),
            recording: false,
            recorded: Vec::new(),
        })
    }

    /// From now on every leg's Opus packets (browser voices as received, phone voices as
    /// encoded once for the browsers) are kept for `take_recorded`, and each leg's end with them.
    pub fn record_all(&mut self, on: bool) {
        self.recording = on;
        // Turned on again, every leg is named again (the writer finished them meanwhile).
        for e in self.peers.iter_mut().flatten() {
            e.recorded = false;
        }
        for phone in self.calls.values_mut().flat_map(|m| m.phones.values_mut()) {
            phone.recorded = false;
        }
    }

    /// What was recorded since the last call, in order (one batch for the writer).
    pub fn take_recorded(&mut self) -> Vec<Recorded> {
        std::mem::take(&mut self.recorded)
    }

    pub fn stats(&self) -> ForwarderStats {
        self.stats
    }

    /// Peers connected now.
    pub fn live_peers(&self) -> usize {
        self.peers.len() - self.free.len()
    }

    /// Every call with media here.
    pub fn call_ids(&self) -> Vec<CallId> {
        self.calls.keys().cloned().collect()
    }

    /// Events since the last call, oldest first.
    pub fn drain_events(&mut self) -> std::vec::Drain<'_, MediaEvent> {
        self.events.drain(..)
    }

    /// When `handle_timeouts` is next needed (without visiting the peers).
    pub fn next_deadline(&self) -> Instant {
        self.timers
            .next()
            .map_or(self.next_tick, |t| t.min(self.next_tick))
    }

    /// Adds (or replaces) a participant's connection and returns the SDP answer.
    pub fn join(
        &mut self,
        call: &CallId,
        participant: &ParticipantId,
        offer_sdp: &str,
        now: Instant,
        tx: &mut impl FnMut(SocketAddr, &[u8]),
    ) -> Result<String, SfuError> {
        let (peer, answer) = Peer::accept(&self.config, offer_sdp, self.local, now)
            .map_err(|e| SfuError::BadOffer(e.to_string()))?;
        if let Some(old) = self.member(call, participant) {
            self.remove(old, now, tx);
        }
        let slots = peer.slot_count();
        let entry = Entry {
            call: call.clone(),
            participant: participant.clone(),
            peer,
            source: self.next_source << 32,
            slots: SlotAssignment::new(slots),
            streams: vec![SlotStream::default(); slots],
            targets: Vec::new(),
            addrs: Vec::new(),
            timeout: now,
            timer_runs: 0,
            joined_at: now,
            connected: false,
            ice_lost_at: None,
            activity: Activity::new(now),
            dirty: false,
            tap: false,
            recorded: false,
        };
        self.next_source += 1;
        let idx = match self.free.pop() {
            Some(i) => {
                self.peers[i] = Some(entry);
                i
            }
            None => {
                self.peers.push(Some(entry));
                self.peers.len() - 1
            }
        };
        self.stats.peers += 1;
        self.calls
            .entry(call.clone())
            .or_default()
            .members
            .insert(participant.clone(), idx);
        tracing::info!(call_id = %call, participant = %participant, slots, "peer joined");
        self.emit_slots(idx);
        self.rewire(call);
        self.poll(idx, now, tx);
        self.settle(now, tx);
        Ok(answer)
    }

    pub fn add_candidate(
        &mut self,
        call: &CallId,
        participant: &ParticipantId,
        candidate: &str,
    ) -> Result<(), SfuError> {
        let idx = self.member(call, participant).ok_or_else(|| {
            if self.calls.contains_key(call) {
                SfuError::UnknownParticipant {
                    call: call.clone(),
                    participant: participant.clone(),
                }
            } else {
                SfuError::UnknownCall(call.clone())
            }
        })?;
        let e = self
            .entry_mut(idx)
            .ok_or_else(|| SfuError::UnknownCall(call.clone()))?;
        e.peer
            .add_candidate(candidate)
            .map_err(|e| SfuError::BadCandidate(e.to_string()))
    }

    /// Closes a participant's connection; nothing to do if it has none.
    pub fn leave(
        &mut self,
        call: &CallId,
        participant: &ParticipantId,
        now: Instant,
        tx: &mut impl FnMut(SocketAddr, &[u8]),
    ) {
        if let Some(idx) = self.member(call, participant) {
            self.remove(idx, now, tx);
            tracing::info!(call_id = %call, participant = %participant, "peer left");
        }
    }

    /// Replaces a call's routes (creating the call's media if needed) and rewires it.
    pub fn set_routes(&mut self, call: &CallId, routes: AudioRoutes) {
        self.calls.entry(call.clone()).or_default().routes = routes;
        self.rewire(call);
    }

    /// Closes every connection of the call and forgets it.
    pub fn end_call(
        &mut self,
        call: &CallId,
        now: Instant,
        tx: &mut impl FnMut(SocketAddr, &[u8]),
    ) {
        let members: Vec<usize> = self
            .calls
            .get(call)
            .map(|c| c.members.values().copied().collect())
            .unwrap_or_default();
        for idx in members {
            self.remove(idx, now, tx);
        }
        if let Some(media) = self.calls.remove(call) {
            if self.recording {
                for phone in media.phones.values().filter(|p| p.recorded) {
                    self.recorded.push(Recorded::Ended { leg: phone.source });
                }
            }
        }
        tracing::info!(call_id = %call, "call media ended");
    }

    /// One datagram from `source`. Forwarded audio is queued on the listeners; `flush` sends it,
    /// so the driver can read a batch of datagrams and pay each listener's send overhead once.
    pub fn handle_datagram(
        &mut self,
        source: SocketAddr,
        data: &[u8],
        now: Instant,
        tx: &mut impl FnMut(SocketAddr, &[u8]),
    ) {
        self.stats.datagrams_in += 1;
        let idx = match self.by_addr.get(&source) {
            Some(&i) => i,
            None => match self.claim(source, data, now) {
                Some(i) => i,
                None => {
                    self.stats.unclaimed += 1;
                    return;
                }
            },
        };
        let Some(e) = self.entry_mut(idx) else {
            return;
        };
        if let Err(err) = e.peer.receive(source, data, now) {
            tracing::debug!(call_id = %e.call, participant = %e.participant, %err, "peer input failed");
            self.dead.push(idx);
        }
        self.poll(idx, now, tx);
        self.settle(now, tx);
    }

    /// Sends what `handle_datagram` queued on listeners: only those listeners run their timer
    /// (str0m releases written packets from it); no other peer is visited.
    pub fn flush(&mut self, now: Instant, tx: &mut impl FnMut(SocketAddr, &[u8])) {
        while let Some(idx) = self.dirty.pop() {
            let Some(e) = self.peers[idx].as_mut() else {
                continue;
            };
            e.dirty = false;
            self.run_timer(idx, now);
            self.poll(idx, now, tx);
        }
        self.settle(now, tx);
    }

    /// Flushes, runs the timers of the peers whose deadline has come (and only theirs), reports
    /// levels and silence, drops dead peers.
    pub fn handle_timeouts(&mut self, now: Instant, tx: &mut impl FnMut(SocketAddr, &[u8])) {
        self.flush(now, tx);
        let mut due = std::mem::take(&mut self.due);
        self.timers.take_due(now, &mut due);
        for &idx in &due {
            let Some(e) = self.peers[idx].as_ref() else {
                continue;
            };
            if e.timeout > now {
                // A flush ran its timer since it was queued: wait for its new deadline.
                let (source, at) = (e.source, e.timeout);
                self.timers.schedule(idx, source, at);
                continue;
            }
            self.run_timer(idx, now);
            self.poll(idx, now, tx);
        }
        due.clear();
        self.due = due;
        if now >= self.next_tick {
            self.next_tick = now + LEVELS_INTERVAL;
            self.tick(now);
        }
        self.settle(now, tx);
    }

    /// Moves one peer's WebRTC time forward (its timers, and packets queued on it go out at the
    /// next `poll`).
    fn run_timer(&mut self, idx: usize, now: Instant) {
        let Some(e) = self.peers[idx].as_mut() else {
            return;
        };
        e.timer_runs += 1;
        self.stats.timer_runs += 1;
        if e.peer.handle_timeout(now).is_err() {
            self.dead.push(idx);
        }
    }

    /// Maps a new source address to the peer whose ICE accepts it (a STUN check with its ufrag).
    fn claim(&mut self, source: SocketAddr, data: &[u8], now: Instant) -> Option<usize> {
        let idx = self.peers.iter().position(|e| {
            e.as_ref().is_some_and(|e| {
                e.addrs.len() < MAX_ADDRS_PER_PEER && e.peer.accepts(source, data, now)
            })
        })?;
        if let Some(e) = self.peers[idx].as_mut() {
            e.addrs.push(source);
        }
        self.by_addr.insert(source, idx);
        Some(idx)
    }

    /// Polls one peer: its datagrams go out, its events are queued for `settle`.
    fn poll(&mut self, idx: usize, now: Instant, tx: &mut impl FnMut(SocketAddr, &[u8])) {
        let Some(e) = self.peers[idx].as_mut() else {
            return;
        };
        let pending = &mut self.pending;
        match e.peer.poll(tx, &mut |ev| pending.push_back((idx, ev))) {
            Ok(t) => e.timeout = t,
            Err(err) => {
                tracing::debug!(call_id = %e.call, participant = %e.participant, %err, "peer failed");
                e.timeout = now + LEVELS_INTERVAL;
                self.dead.push(idx);
            }
        }
        self.timers.schedule(idx, e.source, e.timeout);
    }

    /// Closes and forgets one peer and rewires its call.
    fn remove(&mut self, idx: usize, now: Instant, tx: &mut impl FnMut(SocketAddr, &[u8])) {
        let Some(mut e) = self.peers.get_mut(idx).and_then(Option::take) else {
            return;
        };
        e.peer.close();
        let _ = e.peer.handle_timeout(now);
        // Send the goodbyes (RTCP BYE, DTLS close_notify); later events of a closing peer are moot.
        let _ = e.peer.poll(tx, &mut |_| {});
        for a in &e.addrs {
            self.by_addr.remove(a);
        }
        if self.recording && e.recorded {
            self.recorded.push(Recorded::Ended { leg: e.source });
        }
        self.timers.forget(idx);
        self.free.push(idx);
        let mut empty = false;
        if let Some(media) = self.calls.get_mut(&e.call) {
            if media.members.get(&e.participant) == Some(&idx) {
                media.members.remove(&e.participant);
            }
            empty = media.members.is_empty()
                && media.phones.is_empty()
                && media.routes == AudioRoutes::default();
        }
        if empty {
            self.calls.remove(&e.call);
        } else {
            self.rewire(&e.call);
        }
    }

    fn member(&self, call: &CallId, participant: &ParticipantId) -> Option<usize> {
        self.calls.get(call)?.members.get(participant).copied()
    }

    fn entry_mut(&mut self, idx: usize) -> Option<&mut Entry> {
        self.peers.get_mut(idx)?.as_mut()
    }
}

#[cfg(test)]
mod tests;
