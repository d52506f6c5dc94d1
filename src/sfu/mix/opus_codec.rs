//! Opus through libopus (the `opus` crate): a mono decoder at 48 kHz that also conceals lost
//! packets (libopus PLC, or the next packet's in-band FEC when it carries one), and a mono 20 ms
//! encoder for voice. Owns only codec state; never sees RTP headers or time.

use super::{MixError, FRAME_MS, OPUS_FRAME, OPUS_RATE};
use opus::{Application, Bitrate, Channels};

/// Bits per second of the voice we encode: wideband speech is transparent well below this.
pub const OPUS_BITRATE: i32 = 24_000;
/// libopus complexity 0–10: 5 keeps speech quality close to 10 at about half the CPU.
pub const OPUS_COMPLEXITY: i32 = 5;
/// Loss the encoder expects, which sizes its in-band FEC for the browsers' decoders.
pub const OPUS_EXPECTED_LOSS_PCT: i32 = 5;
/// The longest Opus packet (120 ms) in samples at 48 kHz; nothing decodes to more.
pub const MAX_PACKET_SAMPLES: usize = OPUS_RATE as usize * 120 / 1000;
/// Concealment works in whole 2.5 ms steps (libopus accepts only those sizes).
const PLC_STEP: usize = OPUS_RATE as usize / 400;
/// The largest encoded packet we accept from libopus (RFC 6716 allows 1275 bytes per frame).
const MAX_ENCODED_BYTES: usize = 1275;

/// One incoming Opus stream's decoder (48 kHz mono; stereo packets are downmixed by libopus).
pub struct OpusDecoder {
    inner: opus::Decoder,
    scratch: Vec<f32>,
}

impl OpusDecoder {
    pub fn new() -> Result<Self, MixError> {
        Ok(Self {
            inner: opus::Decoder::new(OPUS_RATE, Channels::Mono)?,
            scratch: vec![0.0; MAX_PACKET_SAMPLES],
        })
    }

    /// Samples at 48 kHz that `packet` holds; an error for a packet that is not valid Opus.
    pub fn packet_samples(packet: &[u8]) -> Result<usize, MixError> {
        match opus::packet::get_nb_samples(packet, OPUS_RATE) {
            Ok(n) if (1..=MAX_PACKET_SAMPLES).contains(&n) => Ok(n),
            _ => Err(MixError::BadPacket),
        }
    }

    /// Decodes `packet` and appends its samples (full scale ±1.0) to `out`.
    pub fn decode(&mut self, packet: &[u8], out: &mut Vec<f32>) -> Result<usize, MixError> {
        if packet.is_empty() {
            return Ok(0);
        }
        let n = self.inner.decode_float(packet, &mut self.scratch, false)?;
        out.extend_from_slice(&self.scratch[..n]);
        Ok(n)
    }

    /// Appends about `samples` of concealment for a lost stretch (rounded up to 2.5 ms steps):
    /// recovered from `next`'s in-band FEC when the packet after the gap is at hand, else libopus
    /// PLC, which fades a talker out smoothly instead of leaving a click and silence.
    pub fn conceal(
        &mut self,
        samples: usize,
        next: Option<&[u8]>,
        out: &mut Vec<f32>,
    ) -> Result<usize, MixError> {
        let want = samples
            .div_ceil(PLC_STEP)
            .clamp(1, MAX_PACKET_SAMPLES / PLC_STEP)
            * PLC_STEP;
        let buf = &mut self.scratch[..want];
        let n = match next {
            Some(packet) if !packet.is_empty() => self.inner.decode_float(packet, buf, true)?,
            _ => self.inner.decode_float(&[], buf, false)?,
        };
        out.extend_from_slice(&self.scratch[..n]);
        Ok(n)
    }

    /// Forgets the stream's history (a new talker or a new stream on the same leg).
    pub fn reset(&mut self) -> Result<(), MixError> {
        Ok(self.inner.reset_state()?)
    }
}

/// A mono Opus voice encoder taking `FRAME_MS` frames at its input rate (8 or 48 kHz); the
/// packets are ordinary Opus, decoded at 48 kHz by browsers.
pub struct OpusEncoder {
    inner: opus::Encoder,
    frame: usize,
    out: [u8; MAX_ENCODED_BYTES],
}

impl OpusEncoder {
    /// An encoder for input at `input_rate` Hz (8000, 12000, 16000, 24000 or 48000).
    pub fn new(input_rate: u32) -> Result<Self, MixError> {
        let mut inner = opus::Encoder::new(input_rate, Channels::Mono, Application::Voip)?;
        inner.set_bitrate(Bitrate::Bits(OPUS_BITRATE))?;
        inner.set_complexity(OPUS_COMPLEXITY)?;
        inner.set_inband_fec(true)?;
        inner.set_packet_loss_perc(OPUS_EXPECTED_LOSS_PCT)?;
        Ok(Self {
            inner,
            frame: (input_rate * FRAME_MS / 1000) as usize,
            out: [0; MAX_ENCODED_BYTES],
        })
    }

    /// Samples one frame holds at this encoder's input rate.
    pub fn frame_samples(&self) -> usize {
        self.frame
    }

    /// Encodes one frame (full scale ±1.0) into one packet.
    pub fn encode(&mut self, pcm: &[f32]) -> Result<Vec<u8>, MixError> {
        if pcm.len() != self.frame {
            return Err(MixError::FrameSize(pcm.len()));
        }
        let n = self.inner.encode_float(pcm, &mut self.out)?;
        Ok(self.out[..n].to_vec())
    }
}

// A whole tick conceals in whole PLC steps.
const _: () = assert!(OPUS_FRAME % PLC_STEP == 0);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sfu::mix::signal::{db, dominant_frequency, rms, sine, tone_amplitude};

    /// Encodes `pcm` (a whole number of 20 ms frames at `rate`) into packets.
    fn encode_all(rate: u32, pcm: &[f32]) -> Vec<Vec<u8>> {
        let mut enc = OpusEncoder::new(rate).expect("encoder");
        pcm.chunks(enc.frame_samples())
            .map(|f| enc.encode(f).expect("encode"))
            .collect()
    }

    #[test]
    fn opus_round_trip_keeps_a_tones_frequency_and_level() {
        let tone = sine(440.0, OPUS_RATE, OPUS_FRAME * 50, 0.3);
        let packets = encode_all(OPUS_RATE, &tone);
        assert!(packets.iter().all(|p| p.len() < 200), "about 24 kbit/s");
        let mut dec = OpusDecoder::new().expect("decoder");
        let mut out = Vec::new();
        for p in &packets {
            assert_eq!(OpusDecoder::packet_samples(p).expect("valid"), OPUS_FRAME);
            assert_eq!(dec.decode(p, &mut out).expect("decode"), OPUS_FRAME);
        }
        // Skip the first 100 ms while the codec settles.
        let steady = &out[OPUS_FRAME * 5..];
        assert_eq!(dominant_frequency(steady, OPUS_RATE), 440.0);
        let level = db(tone_amplitude(steady, 440.0, OPUS_RATE) / 0.3);
        assert!(level.abs() < 2.0, "level off by {level:.1} dB");
    }

    #[test]
    fn narrowband_input_decodes_at_48_khz_with_its_tone() {
        let tone = sine(1000.0, 8000, 160 * 50, 0.3);
        let packets = encode_all(8000, &tone);
        let mut dec = OpusDecoder::new().expect("decoder");
        let mut out = Vec::new();
        for p in &packets {
            dec.decode(p, &mut out).expect("decode");
        }
        assert_eq!(out.len(), OPUS_FRAME * 50);
        assert_eq!(
            dominant_frequency(&out[OPUS_FRAME * 5..], OPUS_RATE),
            1000.0
        );
    }

    #[test]
    fn a_lost_packet_is_concealed_not_silent() {
        let tone = sine(300.0, OPUS_RATE, OPUS_FRAME * 20, 0.3);
        let packets = encode_all(OPUS_RATE, &tone);
        let mut dec = OpusDecoder::new().expect("decoder");
        let mut out = Vec::new();
        for p in &packets[..10] {
            dec.decode(p, &mut out).expect("decode");
        }
        let mut concealed = Vec::new();
        let n = dec.conceal(OPUS_FRAME, None, &mut concealed).expect("plc");
        assert_eq!(n, OPUS_FRAME);
        assert!(
            rms(&concealed) > 0.5 * rms(&out[OPUS_FRAME * 9..]),
            "PLC keeps the tone"
        );
    }

    #[test]
    fn fec_recovers_a_lost_packet_from_the_next_one() {
        let tone = sine(300.0, OPUS_RATE, OPUS_FRAME * 20, 0.3);
        let packets = encode_all(OPUS_RATE, &tone);
        let mut dec = OpusDecoder::new().expect("decoder");
        let mut out = Vec::new();
        for p in &packets[..10] {
            dec.decode(p, &mut out).expect("decode");
        }
        let mut recovered = Vec::new();
        dec.conceal(OPUS_FRAME, Some(&packets[11]), &mut recovered)
            .expect("fec");
        assert_eq!(recovered.len(), OPUS_FRAME);
        assert_eq!(dominant_frequency(&recovered, OPUS_RATE), 300.0);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(OpusDecoder::packet_samples(&[0xFF, 0xFF, 0xFF]).is_err());
        assert!(OpusDecoder::packet_samples(&[]).is_err());
        let mut dec = OpusDecoder::new().expect("decoder");
        let mut out = Vec::new();
        let _ = dec.decode(&[0x0B, 0xFF, 0x00, 0x13], &mut out);
        assert!(out.len() <= MAX_PACKET_SAMPLES);
        let mut enc = OpusEncoder::new(OPUS_RATE).expect("encoder");
        assert!(matches!(
            enc.encode(&[0.0; 100]),
            Err(MixError::FrameSize(100))
        ));
    }
}
