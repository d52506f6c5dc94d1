//! The WebRTC seam: one server-side peer connection on str0m (RTP mode, DTLS-SRTP, Opus only).
//! This file and no other in the service names str0m types, so the WebRTC crate can change here.
//! It turns datagrams and time into `PeerEvent`s and outgoing datagrams; it decides nothing.

use crate::engine::RtpTiming;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use str0m::change::SdpOffer;
use str0m::crypto::CryptoProvider;
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{Extension, ExtensionMap, ExtensionValues, RtpWrite, SeqNo};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcConfig};

/// What can go wrong with one peer; the caller maps these to its own errors.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("unreadable SDP offer: {0}")]
    Sdp(String),
    #[error("offer refused: {0}")]
    Offer(String),
    #[error("unreadable ICE candidate: {0}")]
    Candidate(String),
    #[error("connection failed: {0}")]
    Rtc(String),
}

/// What a peer reports while being polled.
#[derive(Debug)]
pub enum PeerEvent {
    /// ICE and DTLS are up.
    Connected,
    /// ICE lost the remote; it may come back (`IceBack`).
    IceLost,
    /// ICE has a working pair again.
    IceBack,
    /// The connection closed for good.
    Closed,
    /// One Opus packet from the remote's microphone.
    Rtp(RtpIn),
}

/// An incoming Opus packet: what forwarding needs, with the payload shared, not copied.
#[derive(Debug, Clone)]
pub struct RtpIn {
    pub ssrc: u32,
    pub timing: RtpTiming,
    /// RFC 6464 level, 0 (loudest) to 127 (silence) dBov, when the sender includes it.
    pub level: Option<u8>,
    /// The voice-activity flag sent with the level (RFC 6464), forwarded with it.
    pub voice: bool,
    pub payload: Arc<[u8]>,
}

/// Settings shared by every peer of one media loop: the crypto provider and one DTLS
/// certificate (generating a certificate per peer would cost milliseconds per join).
pub struct PeerConfig {
    crypto: Arc<CryptoProvider>,
    cert: str0m::config::DtlsCert,
}

impl PeerConfig {
    pub fn new() -> Result<Self, PeerError> {
        let crypto = Arc::new(str0m::crypto::from_feature_flags());
        let cert = crypto
            .dtls_provider
            .generate_certificate()
            .ok_or_else(|| PeerError::Rtc("cannot generate a DTLS certificate".into()))?;
        Ok(Self { crypto, cert })
    }

    /// The str0m configuration every peer of the service and the test clients use: RTP mode,
    /// Opus only, and only the header extensions we read (audio level, mid).
    pub(crate) fn rtc_config(&self) -> RtcConfig {
        let mut exts = ExtensionMap::empty();
        exts.set(1, Extension::AudioLevel);
        exts.set(4, Extension::RtpMid);
        Rtc::builder()
            .set_rtp_mode(true)
            .set_crypto_provider(self.crypto.clone())
            .set_dtls_cert(self.cert.clone())
            .clear_codecs()
            .enable_opus(true, false)
            .set_extension_map(exts)
    }
}

/// A server-side peer connection: the client's microphone (one sendrecv m-line) and its receive
/// slots (the recvonly m-lines, our send side), in offer order.
pub struct Peer {
    rtc: Rtc,
    slot_mids: Vec<Mid>,
    opus_pt: Option<u8>,
    local: SocketAddr,
}

impl Peer {
    /// Accepts a client's offer with one host candidate at `local` (the one UDP socket's public
    /// address) and returns the peer and the SDP answer.
    pub fn accept(
        config: &PeerConfig,
        offer_sdp: &str,
        local: SocketAddr,
        now: Instant,
    ) -> Result<(Self, String), PeerError> {
        let offer =
            SdpOffer::from_sdp_string(offer_sdp).map_err(|e| PeerError::Sdp(e.to_string()))?;
        let offer_mids: Vec<Mid> = offer.media_lines.iter().map(|l| l.mid()).collect();
        let mut rtc = config.rtc_config().build(now);
        let candidate = Candidate::host(local, "udp").map_err(|e| PeerError::Rtc(e.to_string()))?;
        rtc.add_local_candidate(candidate);
        let answer = rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| PeerError::Offer(e.to_string()))?;
        let mut slot_mids = Vec::new();
        let mut has_mic = false;
        // Slots in offer order; str0m announces media only once DTLS is up, so ask it per mid.
        for mid in offer_mids {
            let Some(m) = rtc.media(mid) else { continue };
            if m.kind() != MediaKind::Audio {
                continue;
            }
            match m.direction() {
                Direction::SendOnly => slot_mids.push(mid),
                Direction::SendRecv | Direction::RecvOnly => has_mic = true,
                Direction::Inactive => {}
            }
        }
        let opus_pt = rtc
            .codec_config()
            .find(|p| p.spec().codec == Codec::Opus)
            .map(|p| *p.pt());
        if opus_pt.is_none() {
            return Err(PeerError::Offer("the offer has no Opus audio".into()));
        }
        if !has_mic && slot_mids.is_empty() {
            return Err(PeerError::Offer("the offer has no audio m-line".into()));
        }
        let peer = Self {
            rtc,
            slot_mids,
            opus_pt,
            local,
        };
        Ok((peer, answer.to_sdp_string()))
    }

    /// A trickled remote candidate (`candidate:…`, with or without `a=`).
    pub fn add_candidate(&mut self, line: &str) -> Result<(), PeerError> {
        let line = line.trim();
        let line = line.strip_prefix("a=").unwrap_or(line);
        if line.is_empty() {
            // End-of-candidates marker: nothing to do.
            return Ok(());
        }
        let c =
            Candidate::from_sdp_string(line).map_err(|e| PeerError::Candidate(e.to_string()))?;
        self.rtc.add_remote_candidate(c);
        Ok(())
    }

    /// The mids of the receive slots, in offer order.
    pub fn slot_mids(&self) -> impl Iterator<Item = String> + '_ {
        self.slot_mids.iter().map(|m| m.to_string())
    }

    pub fn slot_count(&self) -> usize {
        self.slot_mids.len()
    }

    /// Whether a datagram from `source` belongs to this peer (a STUN check with our ufrag, or an
    /// address ICE already knows). Only for addresses not yet mapped to a peer.
    pub fn accepts(&self, source: SocketAddr, data: &[u8], now: Instant) -> bool {
        match self.input(source, data, now) {
            Some(input) => self.rtc.accepts(&input),
            None => false,
        }
    }

    /// Feeds one datagram. An error means the connection is beyond repair.
    pub fn receive(
        &mut self,
        source: SocketAddr,
        data: &[u8],
        now: Instant,
    ) -> Result<(), PeerError> {
        let Some(input) = self.input(source, data, now) else {
            return Ok(()); // not a WebRTC datagram: ignore
        };
        self.rtc
            .handle_input(input)
            .map_err(|e| PeerError::Rtc(e.to_string()))
    }

    /// Moves time forward (timers, and packets queued by `write_rtp`).
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), PeerError> {
        self.rtc
            .handle_input(Input::Timeout(now))
            .map_err(|e| PeerError::Rtc(e.to_string()))
    }

    /// Drains the peer: datagrams go to `transmit`, events to `events`. Returns when the peer next
    /// needs `handle_timeout`.
    pub fn poll(
        &mut self,
        transmit: &mut impl FnMut(SocketAddr, &[u8]),
        events: &mut impl FnMut(PeerEvent),
    ) -> Result<Instant, PeerError> {
        loop {
            let out = self
                .rtc
                .poll_output()
                .map_err(|e| PeerError::Rtc(e.to_string()))?;
            match out {
                Output::Timeout(t) => return Ok(t),
                Output::Transmit(t) => transmit(t.destination, &t.contents),
                Output::Event(e) => match e {
                    Event::RtpPacket(p) => {
                        if Some(*p.header.payload_type) != self.opus_pt {
                            continue;
                        }
                        events(PeerEvent::Rtp(RtpIn {
                            ssrc: *p.header.ssrc,
                            timing: RtpTiming {
                                seq: *p.seq_no,
                                ts: p.header.timestamp,
                                marker: p.header.marker,
                            },
                            level: p.header.ext_vals.audio_level.map(|l| l.unsigned_abs()),
                            voice: p.header.ext_vals.voice_activity.unwrap_or(false),
                            payload: p.payload,
                        }))
                    }
                    Event::Connected => events(PeerEvent::Connected),
                    Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                        events(PeerEvent::IceLost)
                    }
                    Event::IceConnectionStateChange(
                        IceConnectionState::Connected | IceConnectionState::Completed,
                    ) => events(PeerEvent::IceBack),
                    Event::Closed => events(PeerEvent::Closed),
                    _ => {}
                },
            }
        }
    }

    /// Queues one packet on receive slot `slot` (call `handle_timeout` then `poll` to send it),
    /// with the sender's level and voice-activity flag when it sent them.
    /// Returns false when the slot does not exist or has no send stream yet.
    pub fn write_rtp(
        &mut self,
        slot: usize,
        timing: RtpTiming,
        level: Option<(u8, bool)>,
        payload: Arc<[u8]>,
        now: Instant,
    ) -> bool {
        let (Some(&mid), Some(pt)) = (self.slot_mids.get(slot), self.opus_pt) else {
            return false;
        };
        let mut api = self.rtc.direct_api();
        let Some(stream) = api.stream_tx_by_mid(mid, None) else {
            return false;
        };
        let exts = ExtensionValues {
            audio_level: level.map(|(l, _)| -(l.min(127) as i8)),
            // str0m writes the level extension only together with this flag: without it the
            // level would silently be left out.
            voice_activity: level.map(|(_, voice)| voice),
            ..Default::default()
        };
        let write = RtpWrite::new(pt.into(), SeqNo::from(timing.seq), timing.ts, now, payload)
            .marker(timing.marker)
            .ext_vals(exts);
        stream.write_rtp(write);
        true
    }

    /// Starts closing (RTCP BYE, DTLS close_notify); keep polling to send them.
    pub fn close(&mut self) {
        let _ = self.rtc.close();
    }

    pub fn is_alive(&self) -> bool {
        self.rtc.is_alive()
    }

    fn input<'a>(&self, source: SocketAddr, data: &'a [u8], now: Instant) -> Option<Input<'a>> {
        let contents = data.try_into().ok()?;
        Some(Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.local,
                contents,
            },
        ))
    }
}
