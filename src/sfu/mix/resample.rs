//! 48 kHz ⇄ 8 kHz for the mix: a polyphase decimator and interpolator sharing one Kaiser-windowed
//! sinc low-pass (flat to 3.4 kHz, about 70 dB down from 4.6 kHz, so nothing folds into the
//! telephone band). Each keeps its stream's filter history, so one per stream and direction.
//!
//! Why not a resampling crate: the ratio is a fixed integer (6) and every frame maps exactly
//! (960 ⇄ 160 samples), so a 168-tap FIR does it with 1.7 ms of delay, no chunking and no
//! allocation per frame; a general resampler adds buffering latency and a dependency.

use super::{OPUS_RATE, PHONE_RATE};
use std::sync::LazyLock;

/// 48 kHz samples per 8 kHz sample.
pub const RATIO: usize = (OPUS_RATE / PHONE_RATE) as usize;
/// Length of the prototype low-pass at 48 kHz: a multiple of `RATIO`, about 3.5 ms.
const TAPS: usize = 168;
/// Taps of each interpolation phase.
const PHASE_TAPS: usize = TAPS / RATIO;
/// The low-pass's half-amplitude point: 8 kHz's Nyquist frequency.
const CUTOFF_HZ: f64 = 4_000.0;
/// Kaiser window shape: β = 7 gives about 70 dB of stop-band attenuation.
const KAISER_BETA: f64 = 7.0;

/// The prototype low-pass at 48 kHz, unity gain at DC (symmetric, so its own reverse).
static LOWPASS: LazyLock<Vec<f32>> = LazyLock::new(|| {
    let fc = CUTOFF_HZ / f64::from(OPUS_RATE);
    let mid = (TAPS - 1) as f64 / 2.0;
    let raw: Vec<f64> = (0..TAPS)
        .map(|n| {
            let t = n as f64 - mid;
            let sinc = if t == 0.0 {
                2.0 * fc
            } else {
                (2.0 * std::f64::consts::PI * fc * t).sin() / (std::f64::consts::PI * t)
            };
            let r = t / mid;
            sinc * bessel_i0(KAISER_BETA * (1.0 - r * r).max(0.0).sqrt()) / bessel_i0(KAISER_BETA)
        })
        .collect();
    let sum: f64 = raw.iter().sum();
    raw.iter().map(|h| (h / sum) as f32).collect()
});

/// The interpolator's phases, reversed for a dot product and scaled by `RATIO` (the zeros
/// stuffed between input samples would otherwise cost that much gain).
static PHASES: LazyLock<Vec<[f32; PHASE_TAPS]>> = LazyLock::new(|| {
    (0..RATIO)
        .map(|p| {
            let mut taps = [0.0; PHASE_TAPS];
            for (m, tap) in taps.iter_mut().enumerate() {
                *tap = LOWPASS[p + RATIO * (PHASE_TAPS - 1 - m)] * RATIO as f32;
            }
            taps
        })
        .collect()
});

/// The modified Bessel function of the first kind, order 0 (its power series).
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term, mut k) = (1.0, 1.0, 1.0);
    while term > sum * 1e-12 {
        term *= (x / (2.0 * k)).powi(2);
        sum += term;
        k += 1.0;
    }
    sum
}

/// Σ a·b with eight independent sums, so the compiler can keep them in vector registers.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// 48 kHz → 8 kHz for one stream.
pub struct Downsampler {
    /// The last `TAPS - 1` input samples, then the current input.
    buf: Vec<f32>,
    /// Index in the next input of the sample the next output is aligned to.
    phase: usize,
}

impl Default for Downsampler {
    fn default() -> Self {
        Self::new()
    }
}

impl Downsampler {
    pub fn new() -> Self {
        Self {
            buf: vec![0.0; TAPS - 1],
            phase: RATIO - 1,
        }
    }

    /// Appends one output sample per `RATIO` input samples to `out` (a 960-sample frame gives
    /// 160); a remainder carries over to the next call.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        let h = &LOWPASS[..];
        self.buf.extend_from_slice(input);
        let mut i = self.phase;
        while i < input.len() {
            out.push(dot(h, &self.buf[i..i + TAPS]));
            i += RATIO;
        }
        self.phase = i - input.len();
        self.buf.drain(..input.len());
    }

    /// Forgets the history (after the stream was silent, so old audio does not leak in).
    pub fn reset(&mut self) {
        *self = Self::new();
    }
}

/// 8 kHz → 48 kHz for one stream.
pub struct Upsampler {
    /// The last `PHASE_TAPS - 1` input samples, then the current input.
    buf: Vec<f32>,
}

impl Default for Upsampler {
    fn default() -> Self {
        Self::new()
    }
}

impl Upsampler {
    pub fn new() -> Self {
        Self {
            buf: vec![0.0; PHASE_TAPS - 1],
        }
    }

    /// Appends `RATIO` output samples per input sample to `out` (160 give 960).
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        self.buf.extend_from_slice(input);
        out.reserve(input.len() * RATIO);
        for n in 0..input.len() {
            let window = &self.buf[n..n + PHASE_TAPS];
            out.extend(PHASES.iter().map(|phase| dot(phase, window)));
        }
        self.buf.drain(..input.len());
    }

    /// Forgets the history.
    pub fn reset(&mut self) {
        *self = Self::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sfu::mix::signal::{db, sine, tone_amplitude};
    use crate::sfu::mix::{OPUS_FRAME, PHONE_FRAME};

    /// Downsamples `x` in 20 ms frames, as the mixer does.
    fn down(x: &[f32]) -> Vec<f32> {
        let mut d = Downsampler::new();
        let mut out = Vec::new();
        for frame in x.chunks(OPUS_FRAME) {
            d.process(frame, &mut out);
        }
        out
    }

    fn up(x: &[f32]) -> Vec<f32> {
        let mut u = Upsampler::new();
        let mut out = Vec::new();
        for frame in x.chunks(PHONE_FRAME) {
            u.process(frame, &mut out);
        }
        out
    }

    #[test]
    fn frames_map_exactly_between_the_rates() {
        let mut d = Downsampler::new();
        let mut u = Upsampler::new();
        let (mut o8, mut o48) = (Vec::new(), Vec::new());
        d.process(&[0.0; OPUS_FRAME], &mut o8);
        u.process(&[0.0; PHONE_FRAME], &mut o48);
        assert_eq!((o8.len(), o48.len()), (PHONE_FRAME, OPUS_FRAME));
        // Odd sizes carry their remainder: 7 + 5 input samples give 2 outputs in all.
        let mut d = Downsampler::new();
        let mut out = Vec::new();
        d.process(&[0.0; 7], &mut out);
        d.process(&[0.0; 5], &mut out);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn telephone_band_tones_pass_down_at_their_level() {
        for f in [300.0, 1000.0, 3000.0] {
            let out = down(&sine(f, OPUS_RATE, OPUS_FRAME * 10, 0.5));
            let level = db(tone_amplitude(&out[PHONE_FRAME..], f, PHONE_RATE) / 0.5);
            assert!(level.abs() < 0.2, "{f} Hz changed by {level:.2} dB");
        }
    }

    #[test]
    fn tones_above_4_khz_do_not_fold_into_the_phone_band() {
        // 6 kHz at 48 kHz would alias to 2 kHz at 8 kHz; 5 kHz to 3 kHz.
        for (f, alias) in [(6000.0, 2000.0), (5000.0, 3000.0), (12_000.0, 0.0)] {
            let out = down(&sine(f, OPUS_RATE, OPUS_FRAME * 10, 0.5));
            let level = db(tone_amplitude(&out[PHONE_FRAME..], alias, PHONE_RATE) / 0.5);
            assert!(level < -60.0, "{f} Hz folds to {alias} Hz at {level:.1} dB");
        }
    }

    #[test]
    fn upsampling_keeps_the_tone_and_leaves_no_images() {
        let out = up(&sine(1000.0, PHONE_RATE, PHONE_FRAME * 10, 0.5));
        let steady = &out[OPUS_FRAME..];
        let level = db(tone_amplitude(steady, 1000.0, OPUS_RATE) / 0.5);
        assert!(level.abs() < 0.2, "1 kHz changed by {level:.2} dB");
        // Zero-stuffing makes images at 8k ± 1k, 16k ± 1k …; the filter removes them.
        for image in [7000.0, 9000.0, 15_000.0] {
            let l = db(tone_amplitude(steady, image, OPUS_RATE) / 0.5);
            assert!(l < -60.0, "image at {image} Hz: {l:.1} dB");
        }
    }

    #[test]
    fn down_then_up_returns_a_phone_band_tone() {
        let out = up(&down(&sine(800.0, OPUS_RATE, OPUS_FRAME * 10, 0.5)));
        let level = db(tone_amplitude(&out[OPUS_FRAME * 2..], 800.0, OPUS_RATE) / 0.5);
        assert!(level.abs() < 0.3, "800 Hz changed by {level:.2} dB");
    }
}
