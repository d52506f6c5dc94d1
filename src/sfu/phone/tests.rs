//! Phone legs in simulated time: a phone's G.711 becomes Opus voice for the browsers and a
//! browser's Opus reaches the phone as G.711 RTP when the routes allow; DTMF stays out of the
//! audio but key presses; prompts reach the phone alone; answers follow the phone's real address; silence on the wire past the timeout drops it.

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
    let mut levels = Vec::new();
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
            &mut |call, who, _, level, payload| {
                assert_eq!((call, who), (&cid(), &p("caller")));
                assert!(!payload.is_empty());
                voices += 1;
                levels.push(level);
            },
        );
    }
    assert!(voices >= 40, "the phone's voice, once per tick: {voices}");
    // A sine at half of full scale is about 9 dB below it (RFC 6464 level 9): the console shows
    // the phone speaking.
    let near_9 = levels.iter().filter(|l| (6..=12).contains(*l)).count();
    assert!(near_9 >= 40, "the phone's levels: {levels:?}");
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
        vec![
            MediaEvent::Connected {
                call: cid(),
                participant: p("caller")
            },
            // Fifty packets with one timestamp: one key press.
            MediaEvent::Digit {
                call: cid(),
                participant: p("caller"),
                digit: '1'
            }
        ]
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
            &mut |_, _, _, _, _| {},
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
    phones.handle_timeout(t0 + TIMEOUT / 2, &mut |_, _, _| {}, &mut |_, _, _, _, _| {});
    assert!(
        phones.drain_closed().next().is_none(),
        "still within the timeout"
    );
    phones.handle_timeout(t0 + TIMEOUT, &mut |_, _, _| {}, &mut |_, _, _, _, _| {});
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
        &mut |_, _, _, _, _| {},
    );
    assert_eq!(phones.next_deadline(), None, "no legs, no ticks");
}

#[test]
fn a_phone_that_holds_the_call_inactive_is_not_dropped_until_it_sends_again_and_falls_silent() {
    let t0 = Instant::now();
    let (mut phones, idx) = phones_with_caller(t0);
    phones.handle_datagram(idx, addr(4000), &pcmu(0, &[0; PHONE_FRAME]), t0);
    phones.renegotiated(&cid(), &p("caller"), false, None, t0);
    phones.handle_timeout(t0 + TIMEOUT * 3, &mut |_, _, _| {}, &mut |_, _, _, _, _| {});
    assert!(
        phones.drain_closed().next().is_none(),
        "held: silence is expected"
    );
    let resumed = t0 + TIMEOUT * 3;
    phones.renegotiated(&cid(), &p("caller"), true, None, resumed);
    phones.handle_timeout(
        resumed + TIMEOUT / 2,
        &mut |_, _, _| {},
        &mut |_, _, _, _, _| {},
    );
    assert!(
        phones.drain_closed().next().is_none(),
        "the timeout counts from the resume"
    );
    phones.handle_timeout(
        resumed + TIMEOUT,
        &mut |_, _, _| {},
        &mut |_, _, _, _, _| {},
    );
    assert_eq!(phones.drain_closed().collect::<Vec<_>>(), vec![idx]);
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
            &mut |_, who, _, _, payload| {
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

/// A telephone-event packet (payload type 101) for `event` at RTP `timestamp`.
fn key(event: u8, end: bool, timestamp: u32, seq: u16) -> Vec<u8> {
    let mut out = Vec::new();
    let flags = if end { 0x8a } else { 0x0a };
    RtpStream::new(99, seq, timestamp).write(101, &[event, flags, 0, 160], 0, &mut out);
    out
}

#[test]
fn each_key_press_is_one_digit_event_and_only_the_phone_can_press_keys() {
    let t0 = Instant::now();
    let (mut phones, idx) = phones_with_caller(t0);
    let mut seq = 0;
    let mut send = |phones: &mut Phones, from: u16, packet: &dyn Fn(u16) -> Vec<u8>| {
        seq += 1;
        phones.handle_datagram(idx, addr(from), &packet(seq), t0);
    };
    // RFC 4733: updates while the key is held, then the end packet three times.
    for _ in 0..3 {
        send(&mut phones, 4000, &|s| key(2, false, 800, s));
    }
    for _ in 0..3 {
        send(&mut phones, 4000, &|s| key(2, true, 800, s));
    }
    send(&mut phones, 4000, &|s| key(11, true, 2400, s));
    // Someone else sending to the port cannot press keys.
    send(&mut phones, 6000, &|s| key(9, false, 4000, s));
    // A tone that is no key.
    send(&mut phones, 4000, &|s| key(36, false, 5600, s));
    let digits: Vec<char> = phones
        .drain_events()
        .filter_map(|e| match e {
            MediaEvent::Digit {
                call,
                participant,
                digit,
            } if call == cid() && participant == p("caller") => Some(digit),
            _ => None,
        })
        .collect();
    assert_eq!(digits, ['2', '#']);
}

/// Runs `ticks` mix ticks from `t0` with the phone sending silence; returns what it heard and
/// the events.
fn listen(
    phones: &mut Phones,
    idx: usize,
    t0: Instant,
    ticks: usize,
) -> (Vec<f32>, Vec<MediaEvent>) {
    let mut heard = Vec::new();
    let mut events = Vec::new();
    for n in 0..ticks {
        let now = t0 + Duration::from_millis(20 * n as u64);
        phones.handle_datagram(idx, addr(4000), &pcmu(n as u16, &[0; PHONE_FRAME]), now);
        phones.handle_timeout(
            now,
            &mut |_, _, data| {
                let h = rtp::parse(data).expect("rtp");
                let mut pcm = Vec::new();
                G711::Pcmu.decode(&data[h.payload_start..h.payload_end], &mut pcm);
                heard.extend(pcm.iter().map(|&s| f32::from(s) / 32768.0));
            },
            &mut |_, _, _, _, _| {},
        );
        events.extend(phones.drain_events());
    }
    (heard, events)
}

#[test]
fn a_prompt_plays_to_the_phone_then_the_comfort_tone_until_stopped() {
    let t0 = Instant::now();
    let (mut phones, idx) = phones_with_caller(t0);
    let prompt = sine_i16(1000.0, PHONE_RATE, PHONE_FRAME * 10, 0.5);
    phones
        .play(&cid(), &p("caller"), prompt.into(), Playout::Comfort)
        .expect("a phone leg");
    let (heard, events) = listen(&mut phones, idx, t0, 10 + 50 + 20);
    let done = MediaEvent::PlayoutDone {
        call: cid(),
        participant: p("caller"),
    };
    assert_eq!(events.iter().filter(|e| **e == done).count(), 1);
    assert!(rms(&heard[..PHONE_FRAME * 10]) > 0.3, "the prompt");
    // The comfort tone's first beep follows a second of quiet.
    let beep = &heard[PHONE_FRAME * 60..PHONE_FRAME * 80];
    assert!(rms(beep) > 0.02, "comfort tone: rms {}", rms(beep));
    phones.stop_playing(&cid(), &p("caller"));
    let (heard, _) = listen(&mut phones, idx, t0 + Duration::from_secs(2), 250);
    assert!(rms(&heard) < 0.001, "stopped: rms {}", rms(&heard));
    let err = phones.play(&cid(), &p("operator"), vec![0; 10].into(), Playout::Silence);
    assert!(
        err.is_err(),
        "a browser participant has no phone leg to play to"
    );
}
