//! Phone legs as sources of the forwarder: each is added to its call's routing like a browser
//! caller, its voice (encoded once as Opus by the phone side) is queued on the browser slots routed
//! to it, and the browser audio of calls with a phone leg is tapped for the phone's mix.

use super::{Forwarder, PhoneSource, Recorded, RtpIn, RtpTiming, Tap};
use crate::domain::{CallId, ParticipantId};
use crate::sfu::activity::Activity;
use std::sync::Arc;
use std::time::Instant;

impl Forwarder {
    /// Adds a phone leg of `call` as a source: browsers routed to hear it get its voice from
    /// `forward_phone`, and the call's browser audio is tapped for its mix from now on.
    pub fn add_phone(&mut self, call: &CallId, participant: &ParticipantId, now: Instant) {
        let source = self.next_source << 32;
        self.next_source += 1;
        self.calls.entry(call.clone()).or_default().phones.insert(
            participant.clone(),
            PhoneSource {
                source,
                targets: Vec::new(),
                activity: Activity::new(now),
                recorded: false,
            },
        );
        self.rewire(call);
    }

    /// The phone leg is gone; nothing to do if there was none.
    pub fn remove_phone(&mut self, call: &CallId, participant: &ParticipantId) {
        if let Some(media) = self.calls.get_mut(call) {
            if let Some(phone) = media.phones.remove(participant) {
                if self.recording && phone.recorded {
                    self.recorded.push(Recorded::Ended { leg: phone.source });
                }
                self.rewire(call);
            }
        }
    }

    /// One packet of a phone leg's voice (Opus, 48 kHz clock) at `level` (RFC 6464), queued on
    /// every browser slot routed to it (`flush` sends them); its level shows like a browser's.
    pub fn forward_phone(
        &mut self,
        call: &CallId,
        participant: &ParticipantId,
        timing: RtpTiming,
        level: u8,
        payload: Arc<[u8]>,
        now: Instant,
    ) {
        let Some(phone) = self
            .calls
            .get_mut(call)
            .and_then(|m| m.phones.get_mut(participant))
        else {
            return;
        };
        phone.activity.on_packet(now, Some(level));
        let source = phone.source;
        if self.recording {
            if !phone.recorded {
                phone.recorded = true;
                self.recorded.push(Recorded::Began {
                    call: call.clone(),
                    participant: participant.clone(),
                    leg: source,
                });
            }
            self.recorded.push(Recorded::Packet {
                leg: source,
                timing,
                payload: payload.clone(),
            });
        }
        let targets = std::mem::take(&mut phone.targets);
        let rtp = RtpIn {
            ssrc: 0,
            timing,
            level: Some(level),
            voice: false,
            payload,
        };
        self.stats.rtp_in += 1;
        for &(listener, slot) in &targets {
            self.write_to(listener, slot, source, &rtp, now);
        }
        if let Some(phone) = self
            .calls
            .get_mut(call)
            .and_then(|m| m.phones.get_mut(participant))
        {
            phone.targets = targets;
        }
    }

    /// Browser packets of calls with phone legs since the last call, for their mix.
    pub fn drain_taps(&mut self) -> std::vec::Drain<'_, Tap> {
        self.taps.drain(..)
    }
}
