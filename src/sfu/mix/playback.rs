//! `Playback`: audio played to one phone listener only (a prompt), added to its mix frame by frame,
//! then the comfort tone or nothing (`Playout`). The comfort tone is generated here, so a waiting
//! caller never hears dead silence and nothing has to be shipped for it. Pure: frames in, frames
//! out; the mixer owns one per listener that is being played to.

use super::{Upsampler, PHONE_FRAME, PHONE_RATE};
use crate::sfu::Playout;
use std::f32::consts::TAU;
use std::sync::Arc;

/// The comfort tone's pitch: A4, a soft, neutral beep.
pub const COMFORT_HZ: f32 = 440.0;
/// Its peak level as a fraction of full scale (about −26 dBFS): heard, never startling.
pub const COMFORT_LEVEL: f32 = 0.05;
/// One beep lasts this long (ms) ...
pub const COMFORT_ON_MS: u32 = 400;
/// ... and comes back after this much quiet (ms).
pub const COMFORT_OFF_MS: u32 = 3_600;
/// Quiet (ms) before the first beep after a prompt, so the beep does not tread on its last word.
const COMFORT_LEAD_MS: u32 = 1_000;
/// Fade in and out of each beep (ms), so it starts and stops without a click.
const COMFORT_RAMP_MS: u32 = 10;

const fn samples(ms: u32) -> usize {
    (PHONE_RATE / 1000 * ms) as usize
}

/// What one frame of a playback did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The audio (or the comfort tone) goes on.
    Playing,
    /// The audio ended in this frame; with `Playout::Comfort` the tone goes on.
    AudioEnded,
}

/// One listener's playback: its audio, then `then`.
pub struct Playback {
    audio: Arc<[i16]>,
    pos: usize,
    /// The end of the audio has been reported.
    ended: bool,
    then: Playout,
    /// Where the comfort tone is in its cycle, in samples.
    comfort: usize,
    /// For a listener mixed at 48 kHz (Opus over RTP): the 8 kHz frames brought up to its rate.
    up: Option<Upsampler>,
    frame: Vec<f32>,
    wide: Vec<f32>,
}

impl Playback {
    pub fn new(audio: Arc<[i16]>, then: Playout) -> Self {
        let period = samples(COMFORT_ON_MS + COMFORT_OFF_MS);
        Self {
            audio,
            pos: 0,
            ended: false,
            then,
            comfort: period - samples(COMFORT_LEAD_MS),
            up: None,
            frame: Vec::with_capacity(PHONE_FRAME),
            wide: Vec::new(),
        }
    }

    /// Nothing more will be heard from it: the audio ended and no comfort tone follows.
    pub fn is_over(&self) -> bool {
        self.pos >= self.audio.len() && self.then == Playout::Silence
    }

    /// Adds the next frame to `mix`, whose length says its rate (`PHONE_FRAME` samples at 8 kHz,
    /// six times that at 48 kHz).
    pub fn add_to(&mut self, mix: &mut [f32]) -> Step {
        let step = self.next_frame();
        if mix.len() == self.frame.len() {
            for (m, s) in mix.iter_mut().zip(&self.frame) {
                *m += s;
            }
        } else {
            let up = self.up.get_or_insert_with(Upsampler::new);
            up.process(&self.frame, &mut self.wide);
            for (m, s) in mix.iter_mut().zip(&self.wide) {
                *m += s;
            }
        }
        step
    }

    /// One 8 kHz frame into `self.frame`: the audio while it lasts, then the comfort tone (or
    /// silence).
    fn next_frame(&mut self) -> Step {
        self.frame.clear();
        let end = (self.pos + PHONE_FRAME).min(self.audio.len());
        self.frame.extend(
            self.audio[self.pos..end]
                .iter()
                .map(|&s| f32::from(s) / 32768.0),
        );
        self.pos = end;
        while self.frame.len() < PHONE_FRAME {
            let s = match self.then {
                Playout::Comfort => self.comfort_sample(),
                Playout::Silence => 0.0,
            };
            self.frame.push(s);
        }
        if self.pos >= self.audio.len() && !self.ended {
            // An empty audio ends in its first frame.
            self.ended = true;
            return Step::AudioEnded;
        }
        Step::Playing
    }

    fn comfort_sample(&mut self) -> f32 {
        let (on, period, ramp) = (
            samples(COMFORT_ON_MS),
            samples(COMFORT_ON_MS + COMFORT_OFF_MS),
            samples(COMFORT_RAMP_MS) as f32,
        );
        let n = self.comfort;
        self.comfort = (n + 1) % period;
        if n >= on {
            return 0.0;
        }
        let envelope = (n as f32 / ramp).min((on - n) as f32 / ramp).min(1.0);
        let phase = TAU * COMFORT_HZ * n as f32 / PHONE_RATE as f32;
        COMFORT_LEVEL * envelope * phase.sin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sfu::mix::signal::{dominant_frequency, rms};

    fn frames(p: &mut Playback, n: usize) -> (Vec<f32>, Vec<Step>) {
        let (mut out, mut steps) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let mut mix = vec![0.0; PHONE_FRAME];
            steps.push(p.add_to(&mut mix));
            out.extend(mix);
        }
        (out, steps)
    }

    #[test]
    fn audio_plays_once_and_its_end_is_reported_once() {
        let audio: Arc<[i16]> = vec![16_384; PHONE_FRAME * 2 + 10].into();
        let mut p = Playback::new(audio, Playout::Silence);
        let (out, steps) = frames(&mut p, 5);
        assert_eq!(
            steps,
            [
                Step::Playing,
                Step::Playing,
                Step::AudioEnded,
                Step::Playing,
                Step::Playing
            ]
        );
        assert!((out[0] - 0.5).abs() < 1e-6, "samples keep their level");
        assert!(out[PHONE_FRAME * 2 + 10..].iter().all(|&s| s == 0.0));
        assert!(p.is_over());
    }

    #[test]
    fn empty_audio_ends_at_once() {
        let mut p = Playback::new(Vec::new().into(), Playout::Silence);
        let (_, steps) = frames(&mut p, 2);
        assert_eq!(steps, [Step::AudioEnded, Step::Playing]);
        assert!(p.is_over());
    }

    #[test]
    fn comfort_tone_is_a_soft_440_hz_beep_every_four_seconds_after_the_audio() {
        let mut p = Playback::new(vec![0; PHONE_FRAME].into(), Playout::Comfort);
        let (out, _) = frames(&mut p, 1 + 400); // the audio, then 8 s
        assert!(!p.is_over(), "the tone goes on until stopped");
        let tone = &out[PHONE_FRAME..];
        let lead = samples(COMFORT_LEAD_MS);
        assert!(tone[..lead].iter().all(|&s| s == 0.0), "quiet first");
        let beep = &tone[lead..lead + samples(COMFORT_ON_MS)];
        assert!((dominant_frequency(beep, PHONE_RATE) - 440.0).abs() < 20.0);
        let level = rms(beep);
        assert!(level > 0.02 && level < 0.05, "soft: rms {level}");
        let peak = tone.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!(peak <= COMFORT_LEVEL + 1e-6);
        let second = lead + samples(COMFORT_ON_MS + COMFORT_OFF_MS);
        assert!(
            rms(&tone[second..second + samples(COMFORT_ON_MS)]) > 0.02,
            "it comes back"
        );
        let gap = &tone[lead + samples(COMFORT_ON_MS)..second];
        assert!(gap.iter().all(|&s| s == 0.0));
    }

    #[test]
    fn a_48_khz_listener_gets_six_times_the_samples() {
        let audio: Arc<[i16]> = vec![8_000; PHONE_FRAME * 10].into();
        let mut p = Playback::new(audio, Playout::Silence);
        let mut mix = vec![0.0; PHONE_FRAME * 6];
        for _ in 0..5 {
            mix.iter_mut().for_each(|m| *m = 0.0);
            p.add_to(&mut mix);
        }
        let level = rms(&mix);
        assert!((level - 8_000.0 / 32768.0).abs() < 0.02, "rms {level}");
    }
}
