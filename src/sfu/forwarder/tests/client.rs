//! A client peer on str0m for the forwarder's tests, offering like the pages do: one sendrecv
//! audio m-line (the microphone) and `RECV_SLOTS` recvonly ones. Its audio payload names its
//! sender (`TAG`, then the sender's tag), so it counts what it hears per sender and per receive
//! slot. It has no socket: `Net` carries its datagrams and gives it time.

use crate::domain::{CallId, ParticipantId};
use crate::drivers::media::RECV_SLOTS;
use crate::sfu::peer::PeerConfig;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Instant;
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{ExtensionValues, RtpWrite, SeqNo};
use str0m::{Candidate, Event, Input, Output, Rtc};

const TAG: u8 = 0xa7;
const PAYLOAD_BYTES: usize = 40;
/// Packets at this level or louder carry the voice-activity flag.
const LOUD: u8 = 50;
/// RTP timestamp step of one 20 ms Opus packet.
const TICKS_PER_PACKET: u32 = 960;

/// A datagram on the wire: (the client's address, the bytes).
pub type Datagram = (SocketAddr, Vec<u8>);

pub struct Client {
    pub call: CallId,
    pub id: ParticipantId,
    /// Marks this client's audio.
    pub tag: u8,
    /// Every address the client has had, the first one first (see `move_to`).
    pub addrs: Vec<SocketAddr>,
    rtc: Rtc,
    pending: Option<SdpPendingOffer>,
    mic: Mid,
    slots: Vec<Mid>,
    /// str0m reported ICE and DTLS up.
    pub connected: bool,
    /// Sends one packet each step once connected.
    pub talking: bool,
    /// The RFC 6464 level its packets carry (0 loudest, 127 silence).
    pub level: u8,
    /// Addresses whose datagrams, both ways, are lost (a network cut).
    pub dead: BTreeSet<SocketAddr>,
    /// DTLS datagrams, both ways, are lost: ICE works, the connection never comes up.
    pub block_dtls: bool,
    pub sent: u64,
    seq: u64,
    /// When str0m next wants time.
    pub timeout: Instant,
    /// The last datagram this client sent.
    pub last_datagram: Vec<u8>,
    /// Packets heard, by sender tag.
    pub heard: BTreeMap<u8, u64>,
    /// The RFC 6464 level on the last packet heard from each sender tag, if it had one.
    pub levels: BTreeMap<u8, Option<(u8, bool)>>,
    /// The sender tags heard on each receive slot.
    pub by_slot: BTreeMap<usize, BTreeSet<u8>>,
    /// Packets whose payload names no sender.
    pub unmarked: u64,
}

impl Client {
    /// A client at `addr` with its offer made.
    pub fn offer(
        config: &PeerConfig,
        call: CallId,
        id: ParticipantId,
        tag: u8,
        addr: SocketAddr,
        now: Instant,
    ) -> (Self, String) {
        let mut rtc = config.rtc_config().build(now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").expect("candidate"));
        let mut change = rtc.sdp_api();
        let mic = change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let slots = (0..RECV_SLOTS)
            .map(|_| change.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None))
            .collect();
        let (offer, pending) = change.apply().expect("an offer");
        let client = Self {
            call,
            id,
            tag,
            addrs: vec![addr],
            rtc,
            pending: Some(pending),
            mic,
            slots,
            connected: false,
            talking: false,
            level: 127,
            dead: BTreeSet::new(),
            block_dtls: false,
            sent: 0,
            // Apart, so no two sources' sequence numbers look alike.
            seq: 1000 * u64::from(tag),
            timeout: now,
            last_datagram: Vec::new(),
            heard: BTreeMap::new(),
            levels: BTreeMap::new(),
            by_slot: BTreeMap::new(),
            unmarked: 0,
        };
        (client, offer.to_sdp_string())
    }

    pub fn accept_answer(&mut self, answer: &str) {
        let pending = self.pending.take().expect("a pending offer");
        let answer = SdpAnswer::from_sdp_string(answer).expect("a readable answer");
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .expect("the client accepts the answer");
    }

    /// Takes `addr` as a new local candidate; returns the candidate line to trickle.
    pub fn move_to(&mut self, addr: SocketAddr) -> String {
        let candidate = Candidate::host(addr, "udp").expect("candidate");
        let line = candidate.to_sdp_string();
        self.rtc.add_local_candidate(candidate);
        self.addrs.push(addr);
        line
    }

    pub fn heard_from(&self, tag: u8) -> u64 {
        self.heard.get(&tag).copied().unwrap_or(0)
    }

    pub fn heard_total(&self) -> u64 {
        self.heard.values().sum::<u64>() + self.unmarked
    }

    /// Forgets what was heard so far.
    pub fn reset(&mut self) {
        self.heard.clear();
        self.levels.clear();
        self.by_slot.clear();
        self.unmarked = 0;
    }

    /// Whether a datagram to or from the client's address `addr` gets through.
    pub fn passes(&self, addr: SocketAddr, data: &[u8]) -> bool {
        // RFC 7983: a first byte of 20-63 is DTLS.
        let dtls = data.first().is_some_and(|b| (20..64).contains(b));
        let lost = self.dead.contains(&addr) || (self.block_dtls && dtls);
        !lost
    }

    /// One datagram from `source` to the client's `dst`; what it answers goes to `out`.
    pub fn receive(
        &mut self,
        source: SocketAddr,
        dst: SocketAddr,
        data: &[u8],
        now: Instant,
        out: &mut Vec<Datagram>,
    ) {
        let Ok(contents) = data.try_into() else {
            return;
        };
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination: dst,
                contents,
            },
        );
        // A client told goodbye ignores the rest. str0m wants its output drained after every input.
        let _ = self.rtc.handle_input(input);
        self.drain(out);
    }

    /// Moves the client's time to `now`, first sending a packet if `talk` and it is talking.
    pub fn tick(&mut self, now: Instant, talk: bool) {
        if talk && self.connected && self.talking {
            self.send(now);
        }
        if talk || self.timeout <= now {
            let _ = self.rtc.handle_input(Input::Timeout(now));
        }
    }

    fn send(&mut self, now: Instant) {
        let Some(pt) = self
            .rtc
            .codec_config()
            .find(|p| p.spec().codec == Codec::Opus)
            .map(|p| p.pt())
        else {
            return;
        };
        let mut payload = vec![0xf8; PAYLOAD_BYTES];
        payload[0] = TAG;
        payload[1] = self.tag;
        let ts = (self.seq as u32).wrapping_mul(TICKS_PER_PACKET);
        let mut api = self.rtc.direct_api();
        let Some(stream) = api.stream_tx_by_mid(self.mic, None) else {
            return;
        };
        let exts = ExtensionValues {
            audio_level: Some(-(self.level.min(127) as i8)),
            voice_activity: Some(self.level <= LOUD),
            ..Default::default()
        };
        let write = RtpWrite::new(pt, SeqNo::from(self.seq), ts, now, payload).ext_vals(exts);
        stream.write_rtp(write);
        self.seq += 1;
        self.sent += 1;
    }

    /// Drains the client's output: datagrams that get through go to `out`.
    pub fn drain(&mut self, out: &mut Vec<Datagram>) {
        while let Ok(output) = self.rtc.poll_output() {
            match output {
                Output::Timeout(t) => {
                    self.timeout = t;
                    return;
                }
                Output::Transmit(t) => {
                    self.last_datagram = t.contents.to_vec();
                    if self.passes(t.source, &t.contents) {
                        out.push((t.source, t.contents.to_vec()));
                    }
                }
                Output::Event(Event::Connected) => self.connected = true,
                Output::Event(Event::RtpPacket(p)) => {
                    let mid = self
                        .rtc
                        .direct_api()
                        .stream_rx(&p.header.ssrc)
                        .map(|s| s.mid());
                    let slot = mid
                        .and_then(|m| self.slots.iter().position(|s| *s == m))
                        .unwrap_or(usize::MAX);
                    match p.payload.get(..2) {
                        Some(&[TAG, tag]) => {
                            *self.heard.entry(tag).or_default() += 1;
                            let ext = &p.header.ext_vals;
                            let level = ext.audio_level.map(i8::unsigned_abs);
                            let level = level.map(|l| (l, ext.voice_activity.unwrap_or(false)));
                            self.levels.insert(tag, level);
                            self.by_slot.entry(slot).or_default().insert(tag);
                        }
                        _ => self.unmarked += 1,
                    }
                }
                Output::Event(_) => {}
            }
        }
    }
}
