//! One call's mix in simulated time: browsers (Opus) and phones (G.711) sending tones, each at
//! its own frequency, so what a listener's mix holds shows whom it hears.

use super::*;
use crate::domain::Role;
use crate::engine::Controls;
use crate::sfu::mix::signal::{db, rms, sine, sine_i16, tone_amplitude};
use crate::sfu::mix::{
    OpusDecoder, FRAME_MS, G711, JITTER_DEPTH_MS, OPUS_FRAME, PHONE_FRAME, PHONE_RATE,
};
use std::time::Duration;

const PCMU: Codec = Codec::G711(G711::Pcmu);

fn p(s: &str) -> ParticipantId {
    ParticipantId::parse(s).expect("id")
}

/// A participant sending a tone at `freq` Hz, half scale unless `amplitude` says otherwise.
struct Talker {
    id: ParticipantId,
    codec: Codec,
    packets: Vec<Vec<u8>>,
}

fn talker(id: &str, codec: Codec, freq: f64, amplitude: f64, ticks: usize) -> Talker {
    let packets = match codec {
        Codec::G711(law) => sine_i16(freq, PHONE_RATE, PHONE_FRAME * ticks, amplitude)
            .chunks(PHONE_FRAME)
            .map(|f| {
                let mut out = Vec::new();
                law.encode(f, &mut out);
                out
            })
            .collect(),
        Codec::Opus => {
            let mut enc = OpusEncoder::new(OPUS_RATE).expect("encoder");
            sine(freq, OPUS_RATE, OPUS_FRAME * ticks, amplitude)
                .chunks(OPUS_FRAME)
                .map(|f| enc.encode(f).expect("encode"))
                .collect()
        }
    };
    Talker {
        id: p(id),
        codec,
        packets,
    }
}

/// Runs `ticks` ticks: each talker's packet k arrives at tick k; returns every output by tick.
fn run(mixer: &mut Mixer, talkers: &[Talker], ticks: usize) -> Vec<Vec<MixOutput>> {
    let t0 = Instant::now();
    let mut by_tick = Vec::new();
    for k in 0..ticks {
        let now = t0 + Duration::from_millis(k as u64 * u64::from(FRAME_MS));
        for t in talkers {
            if let Some(payload) = t.packets.get(k) {
                let packet = RtpAudio {
                    seq: k as u16,
                    timestamp: (k * t.codec.frame_samples()) as u32,
                    payload: payload.clone(),
                };
                mixer.push(&t.id, packet, now).expect("known source");
            }
        }
        mixer.tick(now).expect("tick");
        by_tick.push(std::iter::from_fn(|| mixer.poll_output()).collect());
    }
    by_tick
}

/// `listener`'s mix over the run, decoded to samples at its rate, from the first tick on which
/// every talker plays.
fn heard_by(outputs: &[Vec<MixOutput>], listener: &ParticipantId) -> Vec<f32> {
    let settled = (JITTER_DEPTH_MS / FRAME_MS) as usize + 2;
    let mut decoder = OpusDecoder::new().expect("decoder");
    let mut pcm = Vec::new();
    for tick in &outputs[settled..] {
        for out in tick {
            let MixOutput::Mix {
                listener: l,
                codec,
                payload,
                ..
            } = out
            else {
                continue;
            };
            if l != listener {
                continue;
            }
            match codec {
                Codec::G711(law) => {
                    let mut s = Vec::new();
                    law.decode(payload, &mut s);
                    pcm.extend(s.iter().map(|&x| f32::from(x) / 32768.0));
                }
                Codec::Opus => {
                    decoder.decode(payload, &mut pcm).expect("decode");
                }
            }
        }
    }
    pcm
}

/// A call with a phone caller (PCMU, 1 kHz) and two browsers, operator (Opus, 440 Hz) and
/// interpreter (Opus, 700 Hz); the caller listens.
fn three_party() -> (Mixer, Vec<Talker>) {
    let talkers = vec![
        talker("caller", PCMU, 1000.0, 0.4, 30),
        talker("operator", Codec::Opus, 440.0, 0.3, 30),
        talker("interpreter", Codec::Opus, 700.0, 0.3, 30),
    ];
    let mut mixer = Mixer::new();
    for t in &talkers {
        mixer.add_source(t.id.clone(), t.codec).expect("source");
    }
    mixer.add_listener(p("caller"), PCMU).expect("listener");
    (mixer, talkers)
}

fn level(pcm: &[f32], freq: f64) -> f64 {
    db(tone_amplitude(pcm, freq, PHONE_RATE))
}

#[test]
fn a_phone_listener_hears_every_source_the_routes_allow() {
    let (mut mixer, talkers) = three_party();
    mixer
        .set_hears(&p("caller"), [p("operator"), p("interpreter")])
        .expect("listener");
    let out = run(&mut mixer, &talkers, 30);
    let pcm = heard_by(&out, &p("caller"));
    assert!(
        level(&pcm, 440.0) > db(0.3) - 2.0,
        "operator at about its level"
    );
    assert!(
        level(&pcm, 700.0) > db(0.3) - 2.0,
        "interpreter at about its level"
    );
}

#[test]
fn listener_does_not_hear_itself() {
    let (mut mixer, talkers) = three_party();
    mixer
        .set_hears(&p("caller"), [p("caller"), p("operator")])
        .expect("listener");
    let out = run(&mut mixer, &talkers, 30);
    let pcm = heard_by(&out, &p("caller"));
    assert!(
        level(&pcm, 1000.0) < -50.0,
        "own voice: {:.1} dB",
        level(&pcm, 1000.0)
    );
    assert!(level(&pcm, 440.0) > db(0.3) - 2.0);
}

#[test]
fn muted_source_is_not_mixed() {
    let (mut mixer, talkers) = three_party();
    let parts = [
        (p("caller"), Role::Caller),
        (p("operator"), Role::Operator),
        (p("interpreter"), Role::Interpreter),
    ];
    let controls = Controls {
        muted: [p("interpreter")].into(),
        ..Controls::default()
    };
    mixer.apply_routes(&AudioRoutes::compute(&parts, &controls));
    let out = run(&mut mixer, &talkers, 30);
    let pcm = heard_by(&out, &p("caller"));
    assert!(level(&pcm, 700.0) < -50.0, "muted interpreter is not heard");
    assert!(level(&pcm, 440.0) > db(0.3) - 2.0, "the operator still is");
}

#[test]
fn on_hold_the_phone_caller_hears_silence_every_tick() {
    let (mut mixer, talkers) = three_party();
    let parts = [
        (p("caller"), Role::Caller),
        (p("operator"), Role::Operator),
        (p("interpreter"), Role::Interpreter),
    ];
    let hold = Controls {
        hold: true,
        ..Controls::default()
    };
    mixer.apply_routes(&AudioRoutes::compute(&parts, &hold));
    let out = run(&mut mixer, &talkers, 30);
    for tick in &out {
        let mixes: Vec<_> = tick
            .iter()
            .filter_map(|o| match o {
                MixOutput::Mix { heard, payload, .. } => Some((*heard, payload)),
                _ => None,
            })
            .collect();
        assert_eq!(
            mixes.len(),
            1,
            "a frame every tick, so the phone's RTP never stops"
        );
        assert_eq!(mixes[0].0, 0);
        assert!(mixes[0].1.iter().all(|&c| c == G711::Pcmu.silence()));
    }
    let stats = mixer.source_stats(&p("operator")).expect("source");
    assert!(
        stats.undecoded > 20,
        "nobody hears the operator: not decoded"
    );
    let stats = mixer.source_stats(&p("caller")).expect("source");
    assert_eq!(
        stats.undecoded, 0,
        "the phone's voice still goes to the browsers"
    );
}

#[test]
fn a_phone_voice_goes_to_the_browsers_once_per_tick_as_opus() {
    let (mut mixer, talkers) = three_party();
    let out = run(&mut mixer, &talkers, 30);
    let playing = (JITTER_DEPTH_MS / FRAME_MS) as usize;
    for (k, tick) in out.iter().enumerate() {
        let voices: Vec<_> = tick
            .iter()
            .filter_map(|o| match o {
                MixOutput::Voice {
                    source, payload, ..
                } => Some((source, payload)),
                _ => None,
            })
            .collect();
        let want = usize::from(k >= playing);
        assert_eq!(
            voices.len(),
            want,
            "tick {k}: the caller's voice, and no browser's"
        );
        if let Some((source, payload)) = voices.first() {
            assert_eq!(*source, &p("caller"));
            assert_eq!(
                OpusDecoder::packet_samples(payload).expect("opus"),
                OPUS_FRAME
            );
        }
    }
}

#[test]
fn an_opus_phone_hears_a_g711_phone_through_the_upsampler() {
    // The interpreter's phone negotiated Opus; the caller's is G.711.
    let talkers = vec![talker("caller", PCMU, 1000.0, 0.4, 30)];
    let mut mixer = Mixer::new();
    mixer.add_source(p("caller"), PCMU).expect("source");
    mixer
        .add_listener(p("interpreter"), Codec::Opus)
        .expect("listener");
    mixer
        .set_hears(&p("interpreter"), [p("caller")])
        .expect("listener");
    let out = run(&mut mixer, &talkers, 30);
    let pcm = heard_by(&out, &p("interpreter"));
    assert_eq!(pcm.len(), OPUS_FRAME * (30 - 5));
    let l = db(tone_amplitude(&pcm[OPUS_FRAME * 3..], 1000.0, OPUS_RATE));
    assert!(l > db(0.4) - 2.0, "caller's tone at {l:.1} dB");
}

#[test]
fn loud_sources_together_are_soft_clipped_not_wrapped() {
    let talkers = vec![
        talker("a", Codec::Opus, 440.0, 0.9, 30),
        talker("b", Codec::Opus, 440.0, 0.9, 30),
    ];
    let mut mixer = Mixer::new();
    for t in &talkers {
        mixer.add_source(t.id.clone(), t.codec).expect("source");
    }
    mixer.add_listener(p("phone"), PCMU).expect("listener");
    mixer
        .set_hears(&p("phone"), [p("a"), p("b")])
        .expect("listener");
    let pcm = heard_by(&run(&mut mixer, &talkers, 30), &p("phone"));
    let peak = pcm.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    assert!(peak < 1.0 && peak > SOFT_CLIP_KNEE, "peak {peak}");
    assert!(rms(&pcm) > 0.6, "loud, not wrapped around to noise");
}

#[test]
fn soft_clip_is_identity_below_the_knee_and_bounded_above() {
    for x in [0.0, 0.1, -0.5, SOFT_CLIP_KNEE, -SOFT_CLIP_KNEE] {
        assert_eq!(soft_clip(x), x);
    }
    let mut last = 0.0;
    for i in 0..1000 {
        let y = soft_clip(i as f32 * 0.01);
        assert!(y >= last && y <= 1.0, "monotonic and at most full scale");
        last = y;
    }
    assert!((soft_clip(SOFT_CLIP_KNEE + 1e-4) - (SOFT_CLIP_KNEE + 1e-4)).abs() < 1e-5);
    assert_eq!(soft_clip(-3.0), -soft_clip(3.0));
}

#[test]
fn a_removed_participant_is_no_longer_mixed_or_known() {
    let (mut mixer, talkers) = three_party();
    mixer
        .set_hears(&p("caller"), [p("operator"), p("interpreter")])
        .expect("listener");
    mixer.remove(&p("interpreter"));
    let pcm = heard_by(&run(&mut mixer, &talkers[..2], 30), &p("caller"));
    assert!(level(&pcm, 700.0) < -50.0);
    let packet = RtpAudio {
        seq: 0,
        timestamp: 0,
        payload: vec![0; 3],
    };
    let err = mixer.push(&p("interpreter"), packet, Instant::now());
    assert!(matches!(err, Err(MixError::UnknownSource(_))));
    let err = mixer.set_hears(&p("interpreter"), []);
    assert!(matches!(err, Err(MixError::UnknownListener(_))));
    assert!(mixer
        .source_stats(&p("operator"))
        .is_some_and(|s| s.jitter.played > 0));
}

#[test]
fn a_prompt_is_heard_by_its_listener_alone_on_top_of_its_mix_and_its_end_is_reported() {
    let (mut mixer, talkers) = three_party();
    mixer.add_listener(p("phone-2"), PCMU).expect("listener");
    mixer
        .set_hears(&p("caller"), [p("operator")])
        .expect("listener");
    mixer
        .set_hears(&p("phone-2"), [p("operator")])
        .expect("listener");
    let prompt = sine_i16(1000.0, PHONE_RATE, PHONE_FRAME * 25, 0.3);
    mixer
        .play(&p("caller"), prompt.into(), crate::sfu::Playout::Silence)
        .expect("listener");
    let out = run(&mut mixer, &talkers, 40);
    let done: Vec<(usize, &ParticipantId)> = out
        .iter()
        .enumerate()
        .flat_map(|(k, tick)| tick.iter().map(move |o| (k, o)))
        .filter_map(|(k, o)| match o {
            MixOutput::PlayoutDone { listener } => Some((k, listener)),
            _ => None,
        })
        .collect();
    assert_eq!(
        done,
        [(24, &p("caller"))],
        "reported once, in its last frame"
    );
    let caller = heard_by(&out[..25], &p("caller"));
    assert!(level(&caller, 1000.0) > db(0.3) - 1.0, "the prompt");
    assert!(level(&caller, 440.0) > db(0.3) - 2.0, "and the operator");
    let other = heard_by(&out[..25], &p("phone-2"));
    assert!(level(&other, 1000.0) < -50.0, "nobody else hears it");
    assert!(level(&other, 440.0) > db(0.3) - 2.0);
    // From tick 25 on (the first ticks of the slice are skipped as settling).
    let after = heard_by(&out[20..], &p("caller"));
    assert_eq!(after.len(), PHONE_FRAME * 15);
    assert!(level(&after, 1000.0) < -50.0, "the prompt ended");
}
