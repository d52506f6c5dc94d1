//! A source in simulated time: tone packets pushed as they "arrive", ticks every 20 ms.

use super::*;
use crate::sfu::mix::signal::{dominant_frequency, rms, sine, sine_i16};
use crate::sfu::mix::{OPUS_FRAME, PHONE_FRAME};

fn at(t0: Instant, tick: u64) -> Instant {
    t0 + Duration::from_millis(tick * u64::from(FRAME_MS))
}

/// PCMU packets of a 1 kHz tone at half scale, 20 ms each.
fn pcmu_tone(packets: usize) -> Vec<Vec<u8>> {
    let pcm = sine_i16(1000.0, PHONE_RATE, PHONE_FRAME * packets, 0.5);
    pcm.chunks(PHONE_FRAME)
        .map(|f| {
            let mut out = Vec::new();
            G711::Pcmu.encode(f, &mut out);
            out
        })
        .collect()
}

/// Opus packets of a tone at 48 kHz.
fn opus_tone(freq: f64, packets: usize) -> Vec<Vec<u8>> {
    let mut enc = OpusEncoder::new(OPUS_RATE).expect("encoder");
    sine(freq, OPUS_RATE, OPUS_FRAME * packets, 0.3)
        .chunks(OPUS_FRAME)
        .map(|f| enc.encode(f).expect("encode"))
        .collect()
}

/// Feeds `packets` (skipping the indices in `lost`) one per tick and returns each tick's frame.
fn run(source: &mut Source, packets: &[Vec<u8>], lost: &[usize], ticks: usize) -> Vec<Vec<f32>> {
    let t0 = Instant::now();
    let frame = source.codec.frame_samples() as u32;
    let mut frames = Vec::new();
    for k in 0..ticks {
        if let Some(p) = packets.get(k).filter(|_| !lost.contains(&k)) {
            let packet = RtpAudio {
                seq: k as u16,
                timestamp: k as u32 * frame,
                payload: p.clone(),
            };
            source.push(packet, at(t0, k as u64));
        }
        source.tick(at(t0, k as u64), true);
        frames.push(source.frame.clone());
    }
    frames
}

/// The tick at which packet `k` plays: the jitter depth later.
fn plays_at(k: usize) -> usize {
    k + (crate::sfu::mix::JITTER_DEPTH_MS / FRAME_MS) as usize
}

#[test]
fn gap_is_concealed_not_silent_for_g711() {
    let mut s = Source::new(Codec::G711(G711::Pcmu), true).expect("source");
    let frames = run(&mut s, &pcmu_tone(20), &[8], 20);
    let good = rms(&frames[plays_at(7)]);
    let concealed = rms(&frames[plays_at(8)]);
    assert!(good > 0.3, "the tone plays ({good:.3})");
    assert!(
        concealed > 0.3 * good,
        "the gap repeats the tone, fading ({concealed:.3})"
    );
    assert!(concealed < good, "and it fades");
    assert_eq!(dominant_frequency(&frames[plays_at(8)], PHONE_RATE), 1000.0);
    assert_eq!(
        rms(&frames[plays_at(9)]),
        good,
        "the next packet plays as sent"
    );
    assert_eq!(s.stats().jitter.concealed, 1);
}

#[test]
fn a_g711_talker_who_stops_fades_to_silence() {
    let mut s = Source::new(Codec::G711(G711::Pcmu), true).expect("source");
    let frames = run(&mut s, &pcmu_tone(5), &[], 20);
    let fade_ticks = (G711_FADE_MS / FRAME_MS) as usize;
    let after = &frames[plays_at(5) + fade_ticks];
    assert!(
        after.iter().all(|&x| x == 0.0),
        "silent {G711_FADE_MS} ms after the last packet"
    );
}

#[test]
fn gap_is_concealed_not_silent_for_opus() {
    let packets = opus_tone(400.0, 20);
    for lost in [vec![8], vec![8, 9]] {
        let mut s = Source::new(Codec::Opus, false).expect("source");
        let frames = run(&mut s, &packets, &lost, 20);
        let good = rms(&frames[plays_at(7)]);
        for &k in &lost {
            let concealed = &frames[plays_at(k)];
            assert!(
                rms(concealed) > 0.3 * good,
                "packet {k} of {lost:?} concealed"
            );
            // One 20 ms frame resolves frequency to about ±25 Hz.
            let f = dominant_frequency(concealed, OPUS_RATE);
            assert!((f - 400.0).abs() <= 20.0, "concealed at {f} Hz");
        }
    }
}

#[test]
fn malformed_packets_are_counted_and_never_played() {
    let t0 = Instant::now();
    let mut opus = Source::new(Codec::Opus, false).expect("source");
    let mut g711 = Source::new(Codec::G711(G711::Pcma), true).expect("source");
    let bad = |payload: Vec<u8>| RtpAudio {
        seq: 1,
        timestamp: 0,
        payload,
    };
    opus.push(bad(vec![0xFF, 0xFF, 0xFF]), t0);
    opus.push(bad(Vec::new()), t0);
    g711.push(bad(Vec::new()), t0);
    g711.push(bad(vec![0xD5; MAX_G711_PACKET + 1]), t0);
    for s in [&mut opus, &mut g711] {
        assert_eq!(s.stats().malformed, 2);
        assert_eq!(s.stats().jitter.received, 0);
        s.tick(at(t0, 10), true);
        assert!(s.frame_at(s.codec.rate(), 1).is_none(), "nothing plays");
    }
}

#[test]
fn a_frame_is_resampled_once_per_tick_to_the_other_rate() {
    let mut s = Source::new(Codec::Opus, false).expect("source");
    let packets = opus_tone(1000.0, 10);
    let t0 = Instant::now();
    for (k, p) in packets.iter().enumerate() {
        let packet = RtpAudio {
            seq: k as u16,
            timestamp: (k * OPUS_FRAME) as u32,
            payload: p.clone(),
        };
        s.push(packet, t0);
    }
    let mut narrow = Vec::new();
    for k in 0..8u64 {
        s.tick(at(t0, 3 + k), true);
        let a = s.frame_at(PHONE_RATE, k).expect("playing").to_vec();
        let b = s.frame_at(PHONE_RATE, k).expect("playing").to_vec();
        assert_eq!(a, b, "a second listener gets the same conversion");
        assert_eq!(a.len(), PHONE_FRAME);
        assert_eq!(s.frame_at(OPUS_RATE, k).map(<[f32]>::len), Some(OPUS_FRAME));
        narrow.extend(a);
    }
    assert_eq!(
        dominant_frequency(&narrow[PHONE_FRAME..], PHONE_RATE),
        1000.0
    );
}

#[test]
fn a_phone_voice_is_encoded_once_as_opus_and_keeps_its_tone() {
    let mut s = Source::new(Codec::G711(G711::Pcmu), true).expect("source");
    let mut opus = Source::new(Codec::Opus, false).expect("source");
    let t0 = Instant::now();
    let mut decoder = OpusDecoder::new().expect("decoder");
    let mut decoded = Vec::new();
    for (k, p) in pcmu_tone(30).into_iter().enumerate() {
        let packet = RtpAudio {
            seq: k as u16,
            timestamp: (k * PHONE_FRAME) as u32,
            payload: p,
        };
        s.push(packet, at(t0, k as u64));
        s.tick(at(t0, k as u64), false);
        opus.tick(at(t0, k as u64), true);
        assert_eq!(
            opus.encode_voice().expect("no encoder"),
            None,
            "browsers forward their own"
        );
        if let Some(packet) = s.encode_voice().expect("encode") {
            decoder.decode(&packet, &mut decoded).expect("decode");
        }
    }
    assert_eq!(decoded.len(), OPUS_FRAME * (30 - plays_at(0)));
    assert_eq!(
        dominant_frequency(&decoded[OPUS_FRAME * 5..], OPUS_RATE),
        1000.0
    );
}

#[test]
fn a_source_nobody_hears_is_paced_but_not_decoded() {
    let t0 = Instant::now();
    let mut s = Source::new(Codec::Opus, false).expect("source");
    let packets = opus_tone(400.0, 20);
    for (k, p) in packets.iter().enumerate() {
        let packet = RtpAudio {
            seq: k as u16,
            timestamp: (k * OPUS_FRAME) as u32,
            payload: p.clone(),
        };
        s.push(packet, at(t0, k as u64));
        // Heard for the first ten ticks, then on hold.
        s.tick(at(t0, k as u64), k < 10);
        assert_eq!(s.frame.is_empty(), k < plays_at(0) || k >= 10, "tick {k}");
    }
    let stats = s.stats();
    assert_eq!(stats.undecoded, 10);
    assert_eq!(stats.jitter.played, 17, "the stream kept its pace");
    assert_eq!(stats.jitter.late, 0);
}
