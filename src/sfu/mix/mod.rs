//! Phone-leg audio, sans-I/O: G.711 and Opus codecs, a jitter buffer per incoming stream, and the
//! mixer that gives every phone listener one 20 ms frame per tick of the sources it may hear. RTP
//! payloads and `now` come in, encoded payloads come out; no sockets, no SIP, no clock reads.
//! Wired into calls by `sfu::phone`, which the media driver feeds.
//!
//! Layout:
//! - `g711`: PCMU/PCMA tables and encoder;
//! - `opus_codec`: libopus decoder (with loss concealment and FEC) and encoder, 20 ms mono;
//! - `resample`: 48 kHz ⇄ 8 kHz polyphase filters;
//! - `jitter`: reorders one RTP stream by timestamp and paces it out, one tick at a time;
//! - `source`: one participant's stream: jitter buffer, decoder, concealment, resampled copies;
//! - `playback`: prompts played to one listener, and the comfort tone;
//! - `mixer`: who hears whom in one call's mix, soft clipping, the encoded output.
//!
//! Contract: the driver calls `Mixer::push` for every audio RTP packet of a mixed leg as it
//! arrives and `Mixer::tick` every `FRAME_MS`, then drains `Mixer::poll_output`. Input from the
//! network never panics and never fails a tick: malformed, late and duplicate packets are counted
//! and dropped, gaps are concealed.

mod g711;
mod jitter;
mod mixer;
mod opus_codec;
mod playback;
mod resample;
mod source;

#[cfg(test)]
pub(crate) mod signal;

pub use g711::G711;
pub use jitter::{JitterBuffer, JitterStats, Playout, JITTER_DEPTH_MS};
pub use mixer::{MixOutput, Mixer};
pub use opus_codec::{OpusDecoder, OpusEncoder};
pub use playback::{COMFORT_HZ, COMFORT_LEVEL, COMFORT_OFF_MS, COMFORT_ON_MS};
pub use resample::{Downsampler, Upsampler};
pub use source::SourceStats;

use crate::domain::ParticipantId;

/// One mix tick: every stream is paced, mixed and sent in frames of this length.
pub const FRAME_MS: u32 = 20;
/// G.711's sample rate, and the RTP clock of a G.711 stream.
pub const PHONE_RATE: u32 = 8_000;
/// Opus's RTP clock (RFC 7587), and the rate browser audio is decoded at.
pub const OPUS_RATE: u32 = 48_000;
/// Samples in one frame at `PHONE_RATE`.
pub const PHONE_FRAME: usize = (PHONE_RATE * FRAME_MS / 1000) as usize;
/// Samples in one frame at `OPUS_RATE`.
pub const OPUS_FRAME: usize = (OPUS_RATE * FRAME_MS / 1000) as usize;

/// The audio codec of one leg's RTP stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    G711(G711),
    Opus,
}

impl Codec {
    /// The rate the leg's audio is decoded and mixed at, which is also its RTP clock.
    pub fn rate(self) -> u32 {
        match self {
            Codec::G711(_) => PHONE_RATE,
            Codec::Opus => OPUS_RATE,
        }
    }

    /// Samples (and RTP timestamp units) in one frame.
    pub fn frame_samples(self) -> usize {
        match self {
            Codec::G711(_) => PHONE_FRAME,
            Codec::Opus => OPUS_FRAME,
        }
    }
}

/// One RTP packet's audio, as the driver hands it over (header already parsed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpAudio {
    pub seq: u16,
    pub timestamp: u32,
    pub payload: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum MixError {
    #[error("libopus failed: {0}")]
    Opus(#[from] opus::Error),
    #[error("the packet is not valid Opus")]
    BadPacket,
    #[error("{0} is not a source of this mix")]
    UnknownSource(ParticipantId),
    #[error("{0} is not a listener of this mix")]
    UnknownListener(ParticipantId),
    #[error("a {0}-sample frame cannot be coded; frames are {FRAME_MS} ms")]
    FrameSize(usize),
}
