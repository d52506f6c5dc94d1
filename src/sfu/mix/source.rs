//! One participant's incoming audio in a mix: its jitter buffer, its decoder, loss concealment,
//! and this tick's 20 ms frame at its own rate, resampled at most once per tick to the other rate
//! when a listener needs it. A phone (G.711) source also encodes its frame once as Opus for the
//! browser legs. Bad packets are counted and concealed here; they never fail a tick.

use super::jitter::{JitterBuffer, JitterStats, Playout};
use super::opus_codec::{OpusDecoder, OpusEncoder};
use super::resample::{Downsampler, Upsampler};
use super::{Codec, MixError, RtpAudio, FRAME_MS, G711, OPUS_RATE, PHONE_FRAME, PHONE_RATE};
use std::time::{Duration, Instant};

/// How long a G.711 gap is bridged by repeating the last frame, fading linearly to silence;
/// longer repeats would buzz.
pub const G711_FADE_MS: u32 = 60;
/// Packets played at most per tick: ordinary streams need one or two; this bounds the work a
/// peer sending tiny packets can cause.
const MAX_POPS_PER_TICK: usize = 16;
/// The longest G.711 packet accepted (a packet's samples are its bytes).
const MAX_G711_PACKET: usize = PHONE_RATE as usize / 5;

enum Decoder {
    G711 {
        law: G711,
        /// The last good frame, repeated to bridge a gap.
        last: Vec<f32>,
        /// Where the repeat is in `last`, and the gain it has faded to.
        pos: usize,
        gain: f32,
    },
    Opus(OpusDecoder),
}

/// One source's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceStats {
    pub jitter: JitterStats,
    /// Packets that were not valid audio for the stream's codec.
    pub malformed: u64,
    /// Packets played out undecoded because nobody heard the source (hold, consult, mute).
    pub undecoded: u64,
}

pub(super) struct Source {
    codec: Codec,
    jitter: JitterBuffer,
    decoder: Decoder,
    /// Decoded samples not yet played (a packet longer than a tick leaves some over).
    pending: Vec<f32>,
    /// This tick's frame at the codec's rate, empty when the source had nothing to play.
    frame: Vec<f32>,
    /// This tick's frame at the other rate, when a listener asked for it.
    converted: Vec<f32>,
    /// The tick `converted` is for, and the one before it (to tell a continuous stream).
    converted_tick: Option<u64>,
    down: Downsampler,
    up: Upsampler,
    /// A phone's voice, encoded once for the browser legs.
    voice: Option<OpusEncoder>,
    malformed: u64,
    undecoded: u64,
}

impl Source {
    /// A source of `codec`; `voice`: its frames are also encoded once as Opus for the browser
    /// legs (a phone's voice, whatever its codec).
    pub(super) fn new(codec: Codec, voice: bool) -> Result<Self, MixError> {
        let decoder = match codec {
            Codec::G711(law) => Decoder::G711 {
                law,
                last: vec![0.0; PHONE_FRAME],
                pos: 0,
                gain: 0.0,
            },
            Codec::Opus => Decoder::Opus(OpusDecoder::new()?),
        };
        let voice = if voice {
            Some(OpusEncoder::new(codec.rate())?)
        } else {
            None
        };
        Ok(Self {
            codec,
            jitter: JitterBuffer::new(codec.rate(), Duration::from_millis(FRAME_MS.into())),
            decoder,
            pending: Vec::with_capacity(codec.frame_samples() * 2),
            frame: Vec::with_capacity(codec.frame_samples()),
            converted: Vec::with_capacity(super::OPUS_FRAME),
            converted_tick: None,
            down: Downsampler::new(),
            up: Upsampler::new(),
            voice,
            malformed: 0,
            undecoded: 0,
        })
    }

    pub(super) fn stats(&self) -> SourceStats {
        SourceStats {
            jitter: self.jitter.stats(),
            malformed: self.malformed,
            undecoded: self.undecoded,
        }
    }

    /// Takes one RTP packet that arrived at `now`.
    pub(super) fn push(&mut self, packet: RtpAudio, now: Instant) {
        let samples = match self.codec {
            Codec::G711(_) if (1..=MAX_G711_PACKET).contains(&packet.payload.len()) => {
                packet.payload.len()
            }
            Codec::G711(_) => {
                self.malformed += 1;
                return;
            }
            Codec::Opus => match OpusDecoder::packet_samples(&packet.payload) {
                Ok(n) => n,
                Err(_) => {
                    self.malformed += 1;
                    return;
                }
            },
        };
        let samples = samples as u32;
        let (seq, ts) = (packet.seq, packet.timestamp);
        self.jitter.push(seq, ts, packet.payload, samples, now);
    }

    /// Plays the tick starting at `now`: fills `frame` (or leaves it empty when idle). A source
    /// that no listener `heard` and that sends no voice to browsers is only paced, not decoded.
    pub(super) fn tick(&mut self, now: Instant, heard: bool) {
        let n = self.codec.frame_samples();
        self.frame.clear();
        if !heard && self.voice.is_none() {
            self.skip(now, n);
            return;
        }
        let mut pops = 0;
        while self.pending.len() < n && pops < MAX_POPS_PER_TICK {
            pops += 1;
            match self.jitter.pop(now) {
                Playout::Packet { payload, samples } => self.decode(&payload, samples as usize),
                Playout::Lost { samples, next } => self.conceal(samples as usize, next.as_deref()),
                Playout::Idle => break,
            }
        }
        if self.pending.is_empty() {
            if let Decoder::G711 { gain, .. } = &mut self.decoder {
                *gain = 0.0;
            }
            return;
        }
        let take = n.min(self.pending.len());
        self.frame.extend(self.pending.drain(..take));
        self.frame.resize(n, 0.0);
    }

    /// Plays a tick's worth of the stream without decoding it.
    fn skip(&mut self, now: Instant, n: usize) {
        self.pending.clear();
        if let Decoder::G711 { gain, .. } = &mut self.decoder {
            *gain = 0.0;
        }
        let mut due = n;
        for _ in 0..MAX_POPS_PER_TICK {
            match self.jitter.pop(now) {
                Playout::Packet { samples, .. } => {
                    self.undecoded += 1;
                    due = due.saturating_sub(samples as usize);
                }
                Playout::Lost { samples, .. } => due = due.saturating_sub(samples as usize),
                Playout::Idle => break,
            }
            if due == 0 {
                break;
            }
        }
    }

    /// This tick's frame at `rate` (8 or 48 kHz), or `None` when the source is silent.
    pub(super) fn frame_at(&mut self, rate: u32, tick: u64) -> Option<&[f32]> {
        if self.frame.is_empty() {
            return None;
        }
        if rate == self.codec.rate() {
            return Some(&self.frame);
        }
        if self.converted_tick != Some(tick) {
            // A gap since the last conversion: the filter's history is stale.
            if self.converted_tick != tick.checked_sub(1) {
                self.down.reset();
                self.up.reset();
            }
            self.converted.clear();
            match rate {
                PHONE_RATE => self.down.process(&self.frame, &mut self.converted),
                OPUS_RATE => self.up.process(&self.frame, &mut self.converted),
                _ => return None,
            }
            self.converted_tick = Some(tick);
        }
        Some(&self.converted)
    }

    /// This tick's frame's level as RFC 6464 -dBov (0 loudest, 127 silence or nothing played).
    pub(super) fn level(&self) -> u8 {
        if self.frame.is_empty() {
            return 127;
        }
        let power = self.frame.iter().map(|s| s * s).sum::<f32>() / self.frame.len() as f32;
        if power <= 0.0 {
            return 127;
        }
        // 10·log10(power) is the frame's dB relative to full scale; RFC 6464 counts down from 0.
        (-10.0 * power.log10()).round().clamp(0.0, 127.0) as u8
    }

    /// A phone source's frame this tick as one Opus packet for the browser legs.
    pub(super) fn encode_voice(&mut self) -> Result<Option<Vec<u8>>, MixError> {
        match &mut self.voice {
            Some(encoder) if !self.frame.is_empty() => encoder.encode(&self.frame).map(Some),
            _ => Ok(None),
        }
    }

    fn decode(&mut self, payload: &[u8], samples: usize) {
        match &mut self.decoder {
            Decoder::G711 {
                law,
                last,
                pos,
                gain,
            } => {
                let mut pcm = Vec::with_capacity(payload.len());
                law.decode(payload, &mut pcm);
                let start = self.pending.len();
                self.pending
                    .extend(pcm.iter().map(|&s| f32::from(s) / 32768.0));
                // Remember the latest frame's worth for concealment.
                let fresh = &self.pending[start..];
                let keep = fresh.len().min(PHONE_FRAME);
                last.rotate_left(keep);
                let tail = last.len() - keep;
                last[tail..].copy_from_slice(&fresh[fresh.len() - keep..]);
                *pos = 0;
                *gain = 1.0;
            }
            Decoder::Opus(dec) => {
                if dec.decode(payload, &mut self.pending).is_err() {
                    self.malformed += 1;
                    self.conceal(samples, None);
                }
            }
        }
    }

    fn conceal(&mut self, samples: usize, next: Option<&[u8]>) {
        match &mut self.decoder {
            Decoder::G711 {
                last, pos, gain, ..
            } => {
                let step = 1.0 / (PHONE_RATE * G711_FADE_MS / 1000) as f32;
                for _ in 0..samples {
                    self.pending.push(last[*pos] * *gain);
                    *pos = (*pos + 1) % last.len();
                    *gain = (*gain - step).max(0.0);
                }
            }
            Decoder::Opus(dec) => {
                let before = self.pending.len();
                if dec.conceal(samples, next, &mut self.pending).is_err() {
                    self.pending.truncate(before);
                    self.pending.resize(before + samples, 0.0);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
