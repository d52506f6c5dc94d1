//! What comes into the phone side: a phone's RTP datagrams (symmetric RTP latching, key
//! presses, audio for the mix) and the browsers' Opus tapped from the forwarder.

use super::{rtp, Phones};
use crate::domain::{CallId, ParticipantId};
use crate::engine::RtpTiming;
use crate::sfu::mix::{Codec, RtpAudio};
use crate::sfu::MediaEvent;
use std::net::SocketAddr;
use std::time::Instant;

impl Phones {
    /// One datagram on leg `idx`'s socket from `source`.
    pub fn handle_datagram(&mut self, idx: usize, source: SocketAddr, data: &[u8], now: Instant) {
        let Some(leg) = self.legs.get_mut(idx).and_then(Option::as_mut) else {
            return;
        };
        // SRTP first: a packet that fails authentication is nobody's, so it latches nothing.
        let plain;
        let data = match leg.srtp.as_mut() {
            Some(srtp) => match srtp.decrypt(data) {
                Some(p) => {
                    plain = p;
                    &plain[..]
                }
                None => {
                    self.stats.srtp_refused += 1;
                    return;
                }
            },
            None => data,
        };
        let Some(h) = rtp::parse(data) else {
            self.stats.ignored += 1;
            return;
        };
        // Symmetric RTP: answer where the phone really sends from (NAT, SBC media relays),
        // latched on its first packet; packets from anywhere else are not the phone's, so
        // nobody can take over the stream (or keep a dead leg alive) by sending to the port.
        match leg.latched {
            Some(a) if a != source => {
                self.stats.ignored += 1;
                return;
            }
            Some(_) => {}
            None if leg.moved_from == Some(source) => {
                self.stats.ignored += 1;
                return;
            }
            None => {
                if leg.spec.remote != source {
                    tracing::debug!(call_id = %leg.spec.call, from = %leg.spec.remote, to = %source, "phone RTP address learnt");
                }
                leg.latched = Some(source);
                leg.spec.remote = source;
            }
        }
        if Some(h.payload_type) == leg.spec.telephone_event {
            // DTMF: it keeps the leg alive, but it is not sound to mix.
            self.stats.telephone_events += 1;
            leg.last_rx = now;
            let payload = &data[h.payload_start..h.payload_end];
            if let Some(digit) = leg.keys.packet(h.timestamp, payload) {
                tracing::info!(call_id = %leg.spec.call, participant = %leg.spec.participant, %digit, "key pressed on the phone");
                self.events.push(MediaEvent::Digit {
                    call: leg.spec.call.clone(),
                    participant: leg.spec.participant.clone(),
                    digit,
                });
            }
            return;
        }
        if h.payload_type != leg.spec.payload_type {
            self.stats.ignored += 1;
            return;
        }
        self.stats.rtp_in += 1;
        leg.last_rx = now;
        if !leg.heard_once {
            leg.heard_once = true;
            tracing::info!(call_id = %leg.spec.call, participant = %leg.spec.participant, %source, "phone RTP flowing");
            self.events.push(MediaEvent::Connected {
                call: leg.spec.call.clone(),
                participant: leg.spec.participant.clone(),
            });
        }
        let packet = RtpAudio {
            seq: h.seq,
            timestamp: h.timestamp,
            payload: data[h.payload_start..h.payload_end].to_vec(),
        };
        if let Some(media) = self.calls.get_mut(&leg.spec.call) {
            let _ = media.mixer.push(&leg.spec.participant, packet, now);
        }
    }

    /// One Opus packet from a browser participant of `call` (tapped from the forwarder).
    pub fn handle_browser_audio(
        &mut self,
        call: &CallId,
        participant: &ParticipantId,
        timing: RtpTiming,
        payload: &[u8],
        now: Instant,
    ) {
        let Some(media) = self.calls.get_mut(call) else {
            return;
        };
        if media.phones.contains_key(participant) {
            return;
        }
        let packet = RtpAudio {
            seq: timing.seq as u16,
            timestamp: timing.ts,
            payload: payload.to_vec(),
        };
        if media.mixer.push(participant, packet.clone(), now).is_err() {
            // First packet of this browser in the mix.
            if let Err(e) = media.mixer.add_source(participant.clone(), Codec::Opus) {
                tracing::warn!(call_id = %call, participant = %participant, error = %e, "no Opus decoder");
                return;
            }
            let _ = media.mixer.push(participant, packet, now);
        }
    }
}
