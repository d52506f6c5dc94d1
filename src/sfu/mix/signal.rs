//! Test signals and measurements for the mix tests: tones, their level at one frequency
//! (Goertzel), the dominant frequency and signal-to-noise ratios. Test-only.

use std::f64::consts::PI;

/// `n` samples of a sine at `freq` Hz, sampled at `rate`, with peak `amplitude` of full scale.
pub fn sine(freq: f64, rate: u32, n: usize, amplitude: f64) -> Vec<f32> {
    (0..n)
        .map(|i| (amplitude * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin()) as f32)
        .collect()
}

/// The same sine as 16-bit samples.
pub fn sine_i16(freq: f64, rate: u32, n: usize, amplitude: f64) -> Vec<i16> {
    sine(freq, rate, n, amplitude)
        .into_iter()
        .map(|x| (x * 32767.0).round() as i16)
        .collect()
}

/// Root mean square of `x` (full scale 1.0).
pub fn rms(x: &[f32]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / x.len() as f64).sqrt()
}

/// The amplitude of the `freq` Hz component of `x` (a full-scale sine gives 1.0), by Goertzel.
pub fn tone_amplitude(x: &[f32], freq: f64, rate: u32) -> f64 {
    let coeff = 2.0 * (2.0 * PI * freq / f64::from(rate)).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &sample in x {
        let s = f64::from(sample) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = (s1 * s1 + s2 * s2 - coeff * s1 * s2).max(0.0);
    2.0 * power.sqrt() / x.len().max(1) as f64
}

/// The frequency, on a 10 Hz grid over the voice band (50 Hz to 4 kHz), with the most energy.
pub fn dominant_frequency(x: &[f32], rate: u32) -> f64 {
    (5..400)
        .map(|k| f64::from(k) * 10.0)
        .map(|f| (f, tone_amplitude(x, f, rate)))
        .fold((0.0, 0.0), |best, c| if c.1 > best.1 { c } else { best })
        .0
}

/// 20·log10 of the ratio of two amplitudes (or RMS values).
pub fn db(ratio: f64) -> f64 {
    20.0 * ratio.max(1e-12).log10()
}

/// Signal-to-noise ratio in dB of `test` against `reference`, sample by sample.
pub fn snr_db(reference: &[i16], test: &[i16]) -> f64 {
    let (mut signal, mut noise) = (0.0f64, 0.0f64);
    for (&r, &t) in reference.iter().zip(test) {
        signal += f64::from(r).powi(2);
        noise += (f64::from(r) - f64::from(t)).powi(2);
    }
    10.0 * (signal / noise.max(1e-9)).log10()
}
