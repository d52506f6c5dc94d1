//! A test peer's real voice, for tests that cross the phone mix (which decodes what it hears): a
//! tone encoded as Opus (once per process, then looped) instead of marked synthetic payloads,
//! and the level of the real Opus that arrives. Needs libopus (the `phone-audio` feature).

use crate::sfu::mix::{OpusDecoder, OpusEncoder, OPUS_FRAME, OPUS_RATE};
use std::sync::{Arc, Mutex, OnceLock};

/// A decoded 20 ms frame louder than this RMS (full scale 1.0; about -40 dBFS) counts as sound.
pub const SOUND_RMS: f32 = 0.01;

/// Frames in the encoded loop a voice repeats: one second, so a tone of a whole number of hertz
/// loops without a click.
const LOOP_FRAMES: usize = 50;

/// Encoded loops already made, by the tone's frequency (bits of the f64): every peer of a run
/// with the same tone shares one, so a load run of hundreds of peers encodes 50 frames, not 50
/// frames a second per peer.
type Loops = std::collections::HashMap<u64, Arc<[Vec<u8>]>>;
static LOOPS: OnceLock<Mutex<Loops>> = OnceLock::new();

pub(super) struct Voice {
    packets: Arc<[Vec<u8>]>,
    next: usize,
    /// Decodes what arrives (`is_sound`); absent when the peer does not count sound.
    decoder: Option<OpusDecoder>,
    pcm: Vec<f32>,
}

impl Voice {
    /// A voice sending the tone `hz`; `listen`: whether arriving packets are decoded and counted.
    pub(super) fn new(hz: f64, listen: bool) -> Option<Self> {
        let packets = {
            let mut loops = LOOPS
                .get_or_init(Default::default)
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            match loops.get(&hz.to_bits()) {
                Some(p) => p.clone(),
                None => {
                    let p = encode_loop(hz)?;
                    loops.insert(hz.to_bits(), p.clone());
                    p
                }
            }
        };
        let decoder = match listen {
            true => Some(OpusDecoder::new().ok()?),
            false => None,
        };
        Some(Self {
            packets,
            next: 0,
            decoder,
            pcm: Vec::with_capacity(OPUS_FRAME),
        })
    }

    /// The next 20 ms of the tone at half scale, as Opus.
    pub(super) fn next_packet(&mut self) -> Vec<u8> {
        let p = self.packets[self.next % self.packets.len()].clone();
        self.next += 1;
        p
    }

    /// Whether `packet` decodes to sound (not silence, not garbage).
    pub(super) fn is_sound(&mut self, packet: &[u8]) -> bool {
        let Some(decoder) = &mut self.decoder else {
            return false;
        };
        self.pcm.clear();
        if decoder.decode(packet, &mut self.pcm).is_err() || self.pcm.is_empty() {
            return false;
        }
        let energy: f32 = self.pcm.iter().map(|s| s * s).sum();
        (energy / self.pcm.len() as f32).sqrt() > SOUND_RMS
    }
}

/// One second of the tone `hz` at half scale, encoded as real Opus, 20 ms a packet.
fn encode_loop(hz: f64) -> Option<Arc<[Vec<u8>]>> {
    let mut encoder = OpusEncoder::new(OPUS_RATE).ok()?;
    let step = std::f64::consts::TAU * hz / f64::from(OPUS_RATE);
    let mut phase = 0.0f64;
    let mut packets = Vec::with_capacity(LOOP_FRAMES);
    for _ in 0..LOOP_FRAMES {
        let frame: Vec<f32> = (0..OPUS_FRAME)
            .map(|_| {
                phase = (phase + step) % std::f64::consts::TAU;
                (0.5 * phase.sin()) as f32
            })
            .collect();
        packets.push(encoder.encode(&frame).ok()?);
    }
    Some(packets.into())
}
