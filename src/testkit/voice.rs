//! A test peer's real voice, for tests that cross the phone mix (which decodes what it hears): a
//! tone encoded as Opus instead of marked synthetic payloads, and the level of the real Opus
//! that arrives. Needs libopus (the `phone-audio` feature).

use crate::sfu::mix::{OpusDecoder, OpusEncoder, OPUS_FRAME, OPUS_RATE};

/// A decoded 20 ms frame louder than this RMS (full scale 1.0; about -40 dBFS) counts as sound.
pub const SOUND_RMS: f32 = 0.01;

pub(super) struct Voice {
    encoder: OpusEncoder,
    decoder: OpusDecoder,
    hz: f64,
    phase: f64,
    pcm: Vec<f32>,
}

impl Voice {
    pub(super) fn new(hz: f64) -> Option<Self> {
        Some(Self {
            encoder: OpusEncoder::new(OPUS_RATE).ok()?,
            decoder: OpusDecoder::new().ok()?,
            hz,
            phase: 0.0,
            pcm: Vec::with_capacity(OPUS_FRAME),
        })
    }

    /// The next 20 ms of the tone at half scale, as Opus.
    pub(super) fn next_packet(&mut self) -> Vec<u8> {
        let step = std::f64::consts::TAU * self.hz / f64::from(OPUS_RATE);
        let frame: Vec<f32> = (0..OPUS_FRAME)
            .map(|_| {
                self.phase = (self.phase + step) % std::f64::consts::TAU;
                (0.5 * self.phase.sin()) as f32
            })
            .collect();
        self.encoder.encode(&frame).unwrap_or_default()
    }

    /// Whether `packet` decodes to sound (not silence, not garbage).
    pub(super) fn is_sound(&mut self, packet: &[u8]) -> bool {
        self.pcm.clear();
        if self.decoder.decode(packet, &mut self.pcm).is_err() || self.pcm.is_empty() {
            return false;
        }
        let energy: f32 = self.pcm.iter().map(|s| s * s).sum();
        (energy / self.pcm.len() as f32).sqrt() > SOUND_RMS
    }
}
