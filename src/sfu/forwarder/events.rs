//! What the media loop tells the call tasks: connections, levels, silence, and peers that are
//! gone (never connected, ICE lost past its grace, closed, failed).

use super::{Forwarder, PeerEvent, CONNECT_TIMEOUT, DISCONNECT_GRACE};
use crate::sfu::activity::Activity;
use crate::sfu::MediaEvent;
use std::net::SocketAddr;
use std::time::Instant;

impl Forwarder {
    /// Levels per call (only those that changed: nothing per packet leaves the loop), silence,
    /// connect and ICE timeouts.
    pub(super) fn tick(&mut self, now: Instant) {
        for (call, media) in &mut self.calls {
            let mut levels = Vec::new();
            for (participant, phone) in &mut media.phones {
                if let Some(level) = phone.activity.level_change() {
                    levels.push((participant.clone(), level));
                }
            }
            for (participant, &idx) in &media.members {
                let Some(e) = self.peers[idx].as_mut() else {
                    continue;
                };
                if let Some(level) = e.activity.level_change() {
                    levels.push((participant.clone(), level));
                }
                if e.connected {
                    if let Some(quiet) = e.activity.newly_silent(now) {
                        self.events.push(MediaEvent::Silent {
                            call: call.clone(),
                            participant: participant.clone(),
                            for_ms: quiet.as_millis() as u64,
                        });
                    }
                }
                let never_connected = !e.connected && now - e.joined_at >= CONNECT_TIMEOUT;
                let lost = e.ice_lost_at.is_some_and(|t| now - t >= DISCONNECT_GRACE);
                if never_connected || lost {
                    self.dead.push(idx);
                }
            }
            if !levels.is_empty() {
                self.events.push(MediaEvent::Levels {
                    call: call.clone(),
                    levels,
                });
            }
        }
    }

    /// Handles queued peer events (forwarding audio), then removes dead peers.
    pub(super) fn settle(&mut self, now: Instant, tx: &mut impl FnMut(SocketAddr, &[u8])) {
        while let Some((idx, ev)) = self.pending.pop_front() {
            let Some(e) = self.peers[idx].as_mut() else {
                continue;
            };
            match ev {
                PeerEvent::Rtp(rtp) => self.forward(idx, rtp, now),
                PeerEvent::Connected => {
                    e.connected = true;
                    e.activity = Activity::new(now);
                    let call = e.call.clone();
                    // Someone new listens: every level of the call is reported afresh.
                    if let Some(media) = self.calls.get_mut(&call) {
                        for &m in media.members.values() {
                            if let Some(p) = self.peers[m].as_mut() {
                                p.activity.forget_shown();
                            }
                        }
                        for phone in media.phones.values_mut() {
                            phone.activity.forget_shown();
                        }
                    }
                    let Some(e) = self.peers[idx].as_mut() else {
                        continue;
                    };
                    tracing::info!(call_id = %e.call, participant = %e.participant, "peer connected");
                    self.events.push(MediaEvent::Connected {
                        call: e.call.clone(),
                        participant: e.participant.clone(),
                    });
                }
                PeerEvent::IceLost => {
                    e.ice_lost_at.get_or_insert(now);
                }
                PeerEvent::IceBack => e.ice_lost_at = None,
                PeerEvent::Closed => self.dead.push(idx),
            }
        }
        while let Some(idx) = self.dead.pop() {
            if let Some(e) = self.peers[idx].as_ref() {
                let (call, participant) = (e.call.clone(), e.participant.clone());
                tracing::info!(call_id = %call, participant = %participant, "peer disconnected");
                self.remove(idx, now, tx);
                self.events
                    .push(MediaEvent::Disconnected { call, participant });
            }
        }
    }
}
