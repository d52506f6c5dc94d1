//! Mix benchmark: the CPU the phone-leg audio path costs, per second of audio. Runs N calls'
//! mixers (`sfu::mix::Mixer`) as fast as they go in simulated time, with speech-like signals
//! encoded beforehand, and measures process CPU time (clock_gettime) around the mixing only.
//!
//! Two shapes, each for `--seconds` of audio:
//! - mix: one phone listener (PCMU) hearing two browsers' Opus (operator, interpreter): two Opus
//!   decodes, a downsample each, the sum, soft clipping and a G.711 encode per 20 ms;
//! - phone call: the call, a phone caller and a phone interpreter (both PCMU, each a
//!   source and a listener) and a browser operator (Opus): the above for two listeners, plus
//!   each phone's voice encoded once as Opus for the browser.
//!
//! Ends with one `key=value` line; `core_pct_per_10_calls` is CPU time over audio time, as a
//! percentage of one core, scaled to 10 calls (the target: under 5).
//!
//! `cargo run --release --example mix_bench -- --calls 10 --seconds 30 --loss-pct 1`

use anyhow::Context;
use clap::Parser;
use hotline_bridge::domain::ParticipantId;
use hotline_bridge::sfu::mix::{
    Codec, MixOutput, Mixer, OpusEncoder, RtpAudio, FRAME_MS, G711, OPUS_FRAME, OPUS_RATE,
    PHONE_FRAME, PHONE_RATE,
};
use std::f64::consts::PI;
use std::time::{Duration, Instant};

const PCMU: Codec = Codec::G711(G711::Pcmu);
/// Seconds of each talker's signal encoded up front and then looped.
const SIGNAL_S: usize = 10;
/// The target for the mix path.
const TARGET_CORE_PCT_PER_10_CALLS: f64 = 5.0;

#[derive(Parser)]
struct Args {
    /// Concurrent calls.
    #[arg(long, default_value_t = 10)]
    calls: usize,
    /// Seconds of audio mixed per call, for each shape.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Packets lost on the way in (every source), concealed by the mixer, in percent.
    #[arg(long, default_value_t = 1.0)]
    loss_pct: f64,
}

/// A talker's packets, looped; `codec` says how they were encoded.
struct Talker {
    id: ParticipantId,
    codec: Codec,
    packets: Vec<Vec<u8>>,
}

/// A voice-like test signal: a gliding pitch (90–210 Hz) with decaying harmonics, in syllables
/// of about 200 ms and a pause every 2 s, plus a little noise; `seed` varies the talker.
fn voice(seed: u32, rate: u32, seconds: usize) -> Vec<f32> {
    let mut noise = 0x9E37_79B9u32 ^ seed.wrapping_mul(0x85EB_CA6B);
    let mut phase = 0.0f64;
    let offset = f64::from(seed);
    (0..rate as usize * seconds)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            let f0 = 150.0 + 60.0 * (2.0 * PI * 0.3 * t + offset).sin();
            phase += 2.0 * PI * f0 / f64::from(rate);
            let harmonics: f64 = (1..=12)
                .map(|k| (f64::from(k) * phase).sin() / f64::from(k))
                .sum();
            let syllable = (2.0 * PI * 2.5 * t + offset).sin().max(0.0).sqrt();
            let talking = if (t + offset) % 2.0 < 1.6 { 1.0 } else { 0.0 };
            noise ^= noise << 13;
            noise ^= noise >> 17;
            noise ^= noise << 5;
            let hiss = f64::from(noise) / f64::from(u32::MAX) - 0.5;
            (0.12 * harmonics * syllable * talking + 0.002 * hiss) as f32
        })
        .collect()
}

fn talker(id: &str, codec: Codec, seed: u32) -> anyhow::Result<Talker> {
    let packets = match codec {
        Codec::Opus => {
            let mut enc = OpusEncoder::new(OPUS_RATE)?;
            voice(seed, OPUS_RATE, SIGNAL_S)
                .chunks(OPUS_FRAME)
                .map(|f| enc.encode(f))
                .collect::<Result<_, _>>()?
        }
        Codec::G711(law) => voice(seed, PHONE_RATE, SIGNAL_S)
            .chunks(PHONE_FRAME)
            .map(|f| {
                let pcm: Vec<i16> = f.iter().map(|&x| (x * 32767.0) as i16).collect();
                let mut out = Vec::new();
                law.encode(&pcm, &mut out);
                out
            })
            .collect(),
    };
    Ok(Talker {
        id: ParticipantId::parse(id).context("participant id")?,
        codec,
        packets,
    })
}

/// One call: its mixer and the talkers feeding it.
struct Call {
    mixer: Mixer,
    talkers: Vec<Talker>,
}

/// What a run mixed, for the report (and so the work cannot be optimised away).
#[derive(Default)]
struct Tally {
    mix_bytes: u64,
    mixes: u64,
    voices: u64,
}

/// Process CPU time (every thread), from clock_gettime.
fn process_cpu() -> anyhow::Result<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    anyhow::ensure!(rc == 0, "clock_gettime failed");
    Ok(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// Runs every call for `ticks` ticks; returns the CPU time it took.
fn run(calls: &mut [Call], ticks: u64, loss_pct: f64) -> anyhow::Result<(Duration, Tally)> {
    let t0 = Instant::now();
    let mut tally = Tally::default();
    // Lose packets at evenly spread, talker-dependent ticks rather than by chance, so runs
    // are comparable.
    let lose_every = if loss_pct > 0.0 {
        (100.0 / loss_pct).round().max(1.0) as u64
    } else {
        u64::MAX
    };
    let cpu0 = process_cpu()?;
    for k in 0..ticks {
        let now = t0 + Duration::from_millis(k * u64::from(FRAME_MS));
        for call in calls.iter_mut() {
            for (i, t) in call.talkers.iter().enumerate() {
                if (k + 7 * i as u64) % lose_every == lose_every - 1 {
                    continue;
                }
                let payload = t.packets[(k as usize) % t.packets.len()].clone();
                let packet = RtpAudio {
                    seq: k as u16,
                    timestamp: (k * t.codec.frame_samples() as u64) as u32,
                    payload,
                };
                call.mixer.push(&t.id, packet, now)?;
            }
            call.mixer.tick(now)?;
            while let Some(out) = call.mixer.poll_output() {
                match out {
                    MixOutput::Mix { payload, .. } => {
                        tally.mixes += 1;
                        tally.mix_bytes += payload.len() as u64;
                    }
                    MixOutput::Voice { .. } => tally.voices += 1,
                    MixOutput::PlayoutDone { .. } => {}
                }
            }
        }
    }
    Ok((process_cpu()? - cpu0, tally))
}

fn id(s: &str) -> anyhow::Result<ParticipantId> {
    ParticipantId::parse(s).context("participant id")
}

/// A phone caller hearing two browsers.
fn mix_call() -> anyhow::Result<Call> {
    let talkers = vec![
        talker("operator", Codec::Opus, 1)?,
        talker("interpreter", Codec::Opus, 2)?,
    ];
    let mut mixer = Mixer::new();
    for t in &talkers {
        mixer.add_source(t.id.clone(), t.codec)?;
    }
    mixer.add_listener(id("caller")?, PCMU)?;
    mixer.set_hears(&id("caller")?, [id("operator")?, id("interpreter")?])?;
    Ok(Call { mixer, talkers })
}

/// A phone caller, a browser operator and a phone interpreter, everyone hearing everyone.
fn phone_call() -> anyhow::Result<Call> {
    let talkers = vec![
        talker("caller", PCMU, 3)?,
        talker("operator", Codec::Opus, 1)?,
        talker("interpreter", PCMU, 2)?,
    ];
    let mut mixer = Mixer::new();
    for t in &talkers {
        mixer.add_source(t.id.clone(), t.codec)?;
    }
    for (listener, others) in [
        ("caller", ["operator", "interpreter"]),
        ("interpreter", ["caller", "operator"]),
    ] {
        mixer.add_listener(id(listener)?, PCMU)?;
        mixer.set_hears(&id(listener)?, [id(others[0])?, id(others[1])?])?;
    }
    Ok(Call { mixer, talkers })
}

/// CPU over audio time for `calls` calls, as % of one core scaled to 10 calls.
fn core_pct_per_10_calls(cpu: Duration, audio_s: f64, calls: usize) -> f64 {
    100.0 * cpu.as_secs_f64() / audio_s * 10.0 / calls as f64
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.calls > 0 && args.seconds > 0,
        "--calls and --seconds must be > 0"
    );
    let ticks = args.seconds * 1000 / u64::from(FRAME_MS);
    let audio_s = args.seconds as f64;

    let mut mixes = (0..args.calls)
        .map(|_| mix_call())
        .collect::<Result<Vec<_>, _>>()?;
    let (mix_cpu, mix_tally) = run(&mut mixes, ticks, args.loss_pct)?;
    let mut calls = (0..args.calls)
        .map(|_| phone_call())
        .collect::<Result<Vec<_>, _>>()?;
    let (call_cpu, call_tally) = run(&mut calls, ticks, args.loss_pct)?;

    let mix_pct = core_pct_per_10_calls(mix_cpu, audio_s, args.calls);
    let call_pct = core_pct_per_10_calls(call_cpu, audio_s, args.calls);
    let per_tick_us = |cpu: Duration| cpu.as_secs_f64() * 1e6 / (ticks as f64 * args.calls as f64);
    let concealed: u64 = mixes
        .iter()
        .flat_map(|c| c.talkers.iter().map(move |t| (c, t)))
        .filter_map(|(c, t)| c.mixer.source_stats(&t.id))
        .map(|s| s.jitter.concealed)
        .sum();
    eprintln!(
        "mix: {} calls x {} s of audio, {} frames ({} bytes) to phones, {} concealed; \
         phone calls: {} frames to phones, {} phone voices as Opus",
        args.calls,
        args.seconds,
        mix_tally.mixes,
        mix_tally.mix_bytes,
        concealed,
        call_tally.mixes,
        call_tally.voices
    );
    println!(
        "calls={} audio_s={} loss_pct={} mix_cpu_s={:.3} mix_us_per_call_tick={:.1} \
         mix_core_pct_per_10_calls={:.2} mix_realtime_x={:.0} phone_call_cpu_s={:.3} \
         phone_call_us_per_call_tick={:.1} phone_call_core_pct_per_10_calls={:.2} \
         target_core_pct_per_10_calls={} mix_within_target={}",
        args.calls,
        args.seconds,
        args.loss_pct,
        mix_cpu.as_secs_f64(),
        per_tick_us(mix_cpu),
        mix_pct,
        audio_s * args.calls as f64 / mix_cpu.as_secs_f64().max(1e-9),
        call_cpu.as_secs_f64(),
        per_tick_us(call_cpu),
        call_pct,
        TARGET_CORE_PCT_PER_10_CALLS,
        mix_pct < TARGET_CORE_PCT_PER_10_CALLS,
    );
    Ok(())
}
