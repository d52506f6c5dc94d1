//! Who hears whom in the media loop: each call's `AudioRoutes` become slot assignments and
//! forwarding targets (`rewire`), and one packet is copied onto every slot it is routed to.

use super::{Forwarder, Recorded, RtpIn, Tap};
use crate::domain::{CallId, ParticipantId};
use crate::sfu::MediaEvent;
use std::time::Instant;

impl Forwarder {
    /// Queues one packet from `src` on every slot it is routed to (`flush` sends them).
    pub(super) fn forward(&mut self, src: usize, rtp: RtpIn, now: Instant) {
        self.stats.rtp_in += 1;
        let Some(e) = self.peers[src].as_mut() else {
            return;
        };
        e.activity.on_packet(now, rtp.level);
        let source = e.source | rtp.ssrc as u64;
        if e.tap {
            self.taps.push(Tap {
                call: e.call.clone(),
                participant: e.participant.clone(),
                timing: rtp.timing,
                payload: rtp.payload.clone(),
            });
        }
        if self.recording {
            if !e.recorded {
                e.recorded = true;
                self.recorded.push(Recorded::Began {
                    call: e.call.clone(),
                    participant: e.participant.clone(),
                    leg: e.source,
                });
            }
            self.recorded.push(Recorded::Packet {
                leg: e.source,
                timing: rtp.timing,
                payload: rtp.payload.clone(),
            });
        }
        for i in 0..e.targets.len() {
            let Some((listener, slot)) = self.peers[src]
                .as_ref()
                .and_then(|e| e.targets.get(i).copied())
            else {
                break;
            };
            self.write_to(listener, slot, source, &rtp, now);
        }
    }

    /// Queues one packet of `source` on `listener`'s `slot`, renumbered for that slot.
    pub(super) fn write_to(
        &mut self,
        listener: usize,
        slot: usize,
        source: u64,
        rtp: &RtpIn,
        now: Instant,
    ) {
        let now_us = now.saturating_duration_since(self.epoch).as_micros() as u64;
        let Some(l) = self.peers[listener].as_mut() else {
            return;
        };
        if !l.connected {
            return;
        }
        let Some(out) = l
            .streams
            .get_mut(slot)
            .and_then(|s| s.rewrite(source, rtp.timing, now_us))
        else {
            return;
        };
        let level = rtp.level.map(|level| (level, rtp.voice));
        if !l.peer.write_rtp(slot, out, level, rtp.payload.clone(), now) {
            return;
        }
        self.stats.rtp_forwarded += 1;
        if !l.dirty {
            l.dirty = true;
            self.dirty.push(listener);
        }
    }

    /// Recomputes the call's slot assignments and forwarding targets from its routes.
    pub(super) fn rewire(&mut self, call: &CallId) {
        let Some(media) = self.calls.get(call) else {
            return;
        };
        let members: Vec<(ParticipantId, usize)> =
            media.members.iter().map(|(p, &i)| (p.clone(), i)).collect();
        let tap = !media.phones.is_empty();
        let mut changed = Vec::new();
        for (listener, idx) in &members {
            let heard = media
                .routes
                .sources_for(listener)
                .filter(|s| media.members.contains_key(*s) || media.phones.contains_key(*s));
            if let Some(e) = self.peers[*idx].as_mut() {
                e.tap = tap;
                if e.slots.update(heard) {
                    changed.push(*idx);
                }
            }
        }
        let targets_of = |source: &ParticipantId| -> Vec<(usize, usize)> {
            members
                .iter()
                .filter_map(|(_, l)| {
                    let slot = self.peers[*l].as_ref()?.slots.slot_of(source)?;
                    Some((*l, slot))
                })
                .collect()
        };
        let peer_targets: Vec<Vec<(usize, usize)>> =
            members.iter().map(|(p, _)| targets_of(p)).collect();
        let phone_targets: Vec<(ParticipantId, Vec<(usize, usize)>)> = media
            .phones
            .keys()
            .map(|p| (p.clone(), targets_of(p)))
            .collect();
        for ((_, idx), targets) in members.iter().zip(peer_targets) {
            if let Some(e) = self.peers[*idx].as_mut() {
                e.targets = targets;
            }
        }
        if let Some(media) = self.calls.get_mut(call) {
            for (p, targets) in phone_targets {
                if let Some(phone) = media.phones.get_mut(&p) {
                    phone.targets = targets;
                }
            }
        }
        for idx in changed {
            self.emit_slots(idx);
        }
    }

    pub(super) fn emit_slots(&mut self, idx: usize) {
        let Some(e) = self.peers[idx].as_ref() else {
            return;
        };
        let slots = e
            .peer
            .slot_mids()
            .zip(e.slots.slots().iter().cloned())
            .collect();
        self.events.push(MediaEvent::Slots {
            call: e.call.clone(),
            participant: e.participant.clone(),
            slots,
        });
    }
}
