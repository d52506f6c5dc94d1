//! Phone legs in simulated time: a phone's G.711 becomes Opus voice for the browsers and a
//! browser's Opus reaches the phone as G.711 RTP when the routes allow; DTMF stays out of the
//! audio; answers follow the phone's real address; silence on the wire past the timeout drops it.

use super::*;
use crate::domain::Role;
use crate::engine::Controls;
use crate::sfu::mix::signal::{rms, sine, sine_i16};
use crate::sfu::mix::{OpusEncoder, G711, OPUS_FRAME, OPUS_RATE, PHONE_FRAME, PHONE_RATE};

const TIMEOUT: Duration = Duration::from_secs(2);

fn cid() -> CallId {
    CallId::parse("call-1").expect("id")
}

fn p(s: &str) -> ParticipantId {
    ParticipantId::parse(s).expect("id")
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn routes() -> AudioRoutes {
    let parts = [(p("caller"), Role::Caller), (p("operator"), Role::Operator)];
    AudioRoutes::compute(&parts, &Controls::default())
}

fn phones_with_caller(now: Instant) -> (Phones, usize) {
    let mut phones = Phones::new();
    phones.set_routes(&cid(), &routes());
    let leg = PhoneLeg {
        call: cid(),
        participant: p("caller"),
        codec: Codec::G711(G711::Pcmu),
        payload_type: 0,
        srtp: None,
        telephone_event: Some(101),
        remote: addr(4000),
        rtp_timeout: TIMEOUT,
    };
    let idx = phones.add(leg, 0x1234_5678, now).expect("leg");
    (phones, idx)
}

/// A PCMU packet of a 440 Hz tone, frame `n`.
fn pcmu(n: u16, pcm: &[i16]) -> Vec<u8> {
    let mut payload = Vec::new();
    G711::Pcmu.encode(pcm, &mut payload);
    let mut out = Vec::new();
    RtpStream::new(99, n, u32::from(n) * PHONE_FRAME as u32).write(0, &payload, 0, &mut out);
    out
}

#[test]
fn a_phone_voice_reaches_the_browsers_once_as_opus_and_answers_follow_its_address() {
    let t0 = Instant::now();
    let (mut phones, idx) = phones_with_caller(t0);
    let tone = sine_i16(440.0, PHONE_RATE, PHONE_FRAME * 50, 0.5);
    let mut voices = 0;
    let mut sent_to = Vec::new();
    for (n, frame) in tone.chunks(PHONE_FRAME).enumerate() {
        let now = t0 + Duration::from_millis(20 * n as u64);
        // The phone sends from another port than its SDP named (a NAT): answers must follow.
        phones.handle_datagram(idx, addr(5000), &pcmu(n as u16, frame), now);
        let mut dtmf = Vec::new();
        RtpStream::new(99, 0, 0).write(101, &[1, 0x0a, 0, 160], 0, &mut dtmf);
        phones.handle_datagram(idx, addr(5000), &dtmf, now);
        // Someone else sending to the leg's port is not the phone.
        phones.handle_datagram(idx, addr(6000), &pcmu(n as u16, frame), now);
        phones.handle_timeout(
            now,
            &mut |i, to, data| {
                assert_eq!(i, idx);
                sent_to.push(to);
                assert_eq!(rtp::parse(data).map(|h| h.payload_type), Some(0));
            },
            &mut |call, who, _, payload| {
                assert_eq!((call, who), (&cid(), &p("caller")));
                assert!(!payload.is_empty());
                voices += 1;
            },
        );
    }
    assert!(voices >= 40, "the phone's voice, once per tick: {voices}");
    assert!(
        sent_to.iter().skip(1).all(|a| *a == addr(5000)),
        "symmetric RTP, latched on the phone's first packet"
    );
    assert_eq!(
        phones.stats().ignored,
        50,
        "a stranger's packets are not mixed"
    );
    assert_eq!(
        phones.stats().telephone_events,
        50,
        "DTMF counted, not mixed"
    );
    let events: Vec<_> = phones.drain_events().collect();
    assert_eq!(
        events,
        vec![MediaEvent::Connected {
            call: cid(),
            participant: p("caller")
        }]
    );
}

#[test]
fn a_browser_heard_by_the_phone_reaches_it_as_non_silent_pcmu() {
    let t0 = Instant::now();
    let (mut phones, idx) = phones_with_caller(t0);
    let mut enc = OpusEncoder::new(OPUS_RATE).expect("encoder");
    let tone = sine(440.0, OPUS_RATE, OPUS_FRAME * 50, 0.5);
    let mut heard = Vec::new();
    let mut seqs = Vec::new();
    for (n, frame) in tone.chunks(OPUS_FRAME).enumerate() {
        let now = t0 + Duration::from_millis(20 * n as u64);
        let timing = RtpTiming {
            seq: n as u64,
            ts: (n * OPUS_FRAME) as u32,
            marker: false,
        };
        let payload = enc.encode(frame).expect("opus");
        phones.handle_browser_audio(&cid(), &p("operator"), timing, &payload, now);
        // The phone keeps talking (silence), so it is not timed out.
        phones.handle_datagram(idx, addr(4000), &pcmu(n as u16, &[0; PHONE_FRAME]), now);
        phones.handle_timeout(
            now,
            &mut |_, _, data| {
                let h = rtp::parse(data).expect("rtp");
                seqs.push(h.seq);
                let mut pcm = Vec::new();
                G711::Pcmu.decode(&data[h.payload_start..h.payload_end], &mut pcm);
                heard.extend(pcm.iter().map(|&s| f32::from(s) / 32768.0));
            },
            &mut |_, _, _, _| {},
        );
    }
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)),
        "sequence by one"
    );
    let tail = &heard[heard.len() / 2..];
    assert!(rms(tail) > 0.1, "the operator is heard: rms {}", rms(tail));
}

#[test]
fn a_phone_silent_on_the_wire_past_the_timeout_is_dropped() {
    let t0 = Instant::now();
    let (mut phones, idx) = phones_with_caller(t0);
    phones.handle_datagram(idx, addr(4000), &pcmu(0, &[0; PHONE_FRAME]), t0);
    phones.handle_timeout(t0 + TIMEOUT / 2, &mut |_, _, _| {}, &mut |_, _, _, _| {});
    assert!(
        phones.drain_closed().next().is_none(),
        "still within the timeout"
    );
    phones.handle_timeout(t0 + TIMEOUT, &mut |_, _, _| {}, &mut |_, _, _, _| {});
    assert_eq!(phones.drain_closed().collect::<Vec<_>>(), vec![idx]);
    let events: Vec<_> = phones.drain_events().collect();
    assert_eq!(
        events.last(),
        Some(&MediaEvent::Disconnected {
            call: cid(),
            participant: p("caller")
        })
    );
    assert_eq!(
        phones.next_deadline(),
        Some(t0 + TIMEOUT + Duration::from_millis(20))
    );
    phones.handle_timeout(
        t0 + TIMEOUT * 2,
        &mut |_, _, _| panic!("no leg"),
        &mut |_, _, _, _| {},
    );
    assert_eq!(phones.next_deadline(), None, "no legs, no ticks");
}

#[test]
fn an_opus_phone_over_srtp_is_heard_by_the_browsers_and_hears_them_in_opus() {
    let t0 = Instant::now();
    let mut phones = Phones::new();
    phones.set_routes(&cid(), &routes());
    let (phone_key, our_key) = ([3; KEY_SALT_LEN], [4; KEY_SALT_LEN]);
    let keys = |remote, local| SrtpKeys {
        suite: SrtpSuite::AesCm128HmacSha1_80,
        remote,
        local,
    };
    let leg = PhoneLeg {
        call: cid(),
        participant: p("caller"),
        codec: Codec::Opus,
        payload_type: 96,
        srtp: Some(keys(phone_key, our_key)),
        telephone_event: Some(101),
        remote: addr(4000),
        rtp_timeout: TIMEOUT,
    };
    let idx = phones.add(leg, 0x1234_5678, t0).expect("leg");
    // The phone's side of the keys: it encrypts with its key, decrypts with ours.
    let mut phone = srtp::Srtp::new(&keys(our_key, phone_key)).expect("srtp");
    let mut phone_enc = OpusEncoder::new(OPUS_RATE).expect("encoder");
    let mut browser_enc = OpusEncoder::new(OPUS_RATE).expect("encoder");
    let tone = sine(440.0, OPUS_RATE, OPUS_FRAME * 50, 0.5);
    let (mut voices, mut heard) = (0, 0);
    for (n, frame) in tone.chunks(OPUS_FRAME).enumerate() {
        let now = t0 + Duration::from_millis(20 * n as u64);
        let mut wire = Vec::new();
        let payload = phone_enc.encode(frame).expect("opus");
        RtpStream::new(99, n as u16, (n * OPUS_FRAME) as u32).write(96, &payload, 0, &mut wire);
        let plain = wire.clone();
        assert!(phone.encrypt(&mut wire));
        phones.handle_datagram(idx, addr(4000), &wire, now);
        // Plain RTP on an SRTP leg is nobody's.
        phones.handle_datagram(idx, addr(4000), &plain, now);
        let timing = RtpTiming {
            seq: n as u64,
            ts: (n * OPUS_FRAME) as u32,
            marker: false,
        };
        let payload = browser_enc.encode(frame).expect("opus");
        phones.handle_browser_audio(&cid(), &p("operator"), timing, &payload, now);
        phones.handle_timeout(
            now,
            &mut |_, _, data| {
                let plain = phone.decrypt(data).expect("our SRTP decrypts with our key");
                let h = rtp::parse(&plain).expect("rtp");
                assert_eq!(h.payload_type, 96, "Opus as negotiated");
                heard += 1;
            },
            &mut |_, who, _, payload| {
                assert_eq!(who, &p("caller"));
                assert!(!payload.is_empty());
                voices += 1;
            },
        );
    }
    assert!(
        voices >= 40,
        "the phone's voice reaches the browsers: {voices}"
    );
    assert!(heard >= 40, "the phone hears the operator: {heard}");
    assert_eq!(phones.stats().srtp_refused, 50, "plain packets refused");
}
