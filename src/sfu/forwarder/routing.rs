//! Who hears whom in the media loop: each call's `AudioRoutes` become slot assignments and
//! forwarding targets (`rewire`), and one packet is copied onto every slot it is routed to.

use super::{Forwarder, RtpIn};
use crate::domain::{CallId, ParticipantId};
use crate::sfu::MediaEvent;
use std::time::Instant;

impl Forwarder {
    /// Queues one packet from `src` on every slot it is routed to (`flush` sends them).
    pub(super) fn forward(&mut self, src: usize, rtp: RtpIn, now: Instant) {
        self.stats.rtp_in += 1;
        let now_us = now.saturating_duration_since(self.epoch).as_micros() as u64;
        let Some(e) = self.peers[src].as_mut() else {
            return;
        };
        e.activity.on_packet(now, rtp.level);
        let source = e.source | rtp.ssrc as u64;
        for i in 0..e.targets.len() {
            let Some((listener, slot)) = self.peers[src]
                .as_ref()
                .and_then(|e| e.targets.get(i).copied())
            else {
                break;
            };
            let Some(l) = self.peers[listener].as_mut() else {
                continue;
            };
            if !l.connected {
                continue;
            }
            let Some(out) = l
                .streams
                .get_mut(slot)
                .and_then(|s| s.rewrite(source, rtp.timing, now_us))
            else {
                continue;
            };
            let level = rtp.level.map(|level| (level, rtp.voice));
            if !l.peer.write_rtp(slot, out, level, rtp.payload.clone(), now) {
                continue;
            }
            self.stats.rtp_forwarded += 1;
            if !l.dirty {
                l.dirty = true;
                self.dirty.push(listener);
            }
        }
    }

    /// Recomputes the call's slot assignments and forwarding targets from its routes.
    pub(super) fn rewire(&mut self, call: &CallId) {
        let Some(media) = self.calls.get(call) else {
            return;
        };
        let members: Vec<(ParticipantId, usize)> =
            media.members.iter().map(|(p, &i)| (p.clone(), i)).collect();
        let mut changed = Vec::new();
        for (listener, idx) in &members {
            let heard = media
                .routes
                .sources_for(listener)
                .filter(|s| media.members.contains_key(*s));
            if let Some(e) = self.peers[*idx].as_mut() {
                if e.slots.update(heard) {
                    changed.push(*idx);
                }
            }
        }
        for (source, idx) in &members {
            let targets: Vec<(usize, usize)> = members
                .iter()
                .filter_map(|(_, l)| {
                    let slot = self.peers[*l].as_ref()?.slots.slot_of(source)?;
                    Some((*l, slot))
                })
                .collect();
            if let Some(e) = self.peers[*idx].as_mut() {
                e.targets = targets;
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
