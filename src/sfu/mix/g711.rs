//! G.711 (ITU-T G.711): µ-law (PCMU, RTP payload type 0) and A-law (PCMA, type 8), one byte per
//! 8 kHz sample. Decoding reads a 256-entry table built at compile time; encoding is the
//! standard's segment search. Pure functions on slices, no state.

/// Which G.711 law a phone leg negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum G711 {
    /// µ-law, North America and Japan; RTP payload type 0.
    Pcmu,
    /// A-law, Europe and China; RTP payload type 8.
    Pcma,
}

impl G711 {
    /// The static RTP payload type (RFC 3551).
    pub fn payload_type(self) -> u8 {
        match self {
            G711::Pcmu => 0,
            G711::Pcma => 8,
        }
    }

    /// The code of a zero sample (what a silent frame is filled with).
    pub fn silence(self) -> u8 {
        match self {
            G711::Pcmu => linear_to_ulaw(0),
            G711::Pcma => linear_to_alaw(0),
        }
    }

    /// Appends one code per sample of `pcm` to `out`.
    pub fn encode(self, pcm: &[i16], out: &mut Vec<u8>) {
        match self {
            G711::Pcmu => out.extend(pcm.iter().map(|&s| linear_to_ulaw(s))),
            G711::Pcma => out.extend(pcm.iter().map(|&s| linear_to_alaw(s))),
        }
    }

    /// Appends one sample per code of `codes` to `out`. Every byte is a valid code.
    pub fn decode(self, codes: &[u8], out: &mut Vec<i16>) {
        let table = match self {
            G711::Pcmu => &ULAW_TO_LINEAR,
            G711::Pcma => &ALAW_TO_LINEAR,
        };
        out.extend(codes.iter().map(|&c| table[usize::from(c)]));
    }
}

/// µ-law bias: added before the segment search so every segment starts on a power of two.
const ULAW_BIAS: i32 = 0x84;
/// The largest magnitude µ-law represents; louder samples clip to it.
const ULAW_CLIP: i32 = 32_635;

/// One µ-law code for a 16-bit linear sample.
pub fn linear_to_ulaw(sample: i16) -> u8 {
    let mut x = i32::from(sample);
    let sign = if x < 0 {
        x = -x;
        0x80
    } else {
        0
    };
    let x = x.min(ULAW_CLIP) + ULAW_BIAS;
    // x lies in 0x84..=0x7FFF: its top bit (7..=14) gives the segment.
    let top = 31 - x.leading_zeros() as i32;
    let exponent = top - 7;
    let mantissa = (x >> (exponent + 3)) & 0x0F;
    !((sign | (exponent << 4) | mantissa) as u8)
}

/// The 16-bit linear value of a µ-law code.
pub const fn ulaw_to_linear(code: u8) -> i16 {
    let u = !code;
    let exponent = ((u >> 4) & 0x07) as i32;
    let mantissa = (u & 0x0F) as i32;
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    if u & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

/// Upper ends of the eight A-law segments, on the 13-bit magnitude.
const ALAW_SEGMENT_ENDS: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];

/// One A-law code for a 16-bit linear sample.
pub fn linear_to_alaw(sample: i16) -> u8 {
    // A-law codes 13 bits; positive codes are toggled with 0xD5, negative ones with 0x55.
    let mut x = i32::from(sample) >> 3;
    let mask: u8 = if x >= 0 {
        0xD5
    } else {
        x = -x - 1;
        0x55
    };
    let Some(segment) = ALAW_SEGMENT_ENDS.iter().position(|&end| x <= end) else {
        return 0x7F ^ mask;
    };
    let shift = if segment < 2 { 1 } else { segment };
    let code = ((segment as i32) << 4) | ((x >> shift) & 0x0F);
    (code as u8) ^ mask
}

/// The 16-bit linear value of an A-law code.
pub const fn alaw_to_linear(code: u8) -> i16 {
    let a = code ^ 0x55;
    let segment = ((a >> 4) & 0x07) as i32;
    let mut t = ((a & 0x0F) as i32) << 4;
    match segment {
        0 => t += 8,
        1 => t += 0x108,
        _ => t = (t + 0x108) << (segment - 1),
    }
    if a & 0x80 != 0 {
        t as i16
    } else {
        -t as i16
    }
}

const fn tables() -> ([i16; 256], [i16; 256]) {
    let (mut ulaw, mut alaw) = ([0i16; 256], [0i16; 256]);
    let mut i = 0;
    while i < 256 {
        ulaw[i] = ulaw_to_linear(i as u8);
        alaw[i] = alaw_to_linear(i as u8);
        i += 1;
    }
    (ulaw, alaw)
}

static ULAW_TO_LINEAR: [i16; 256] = tables().0;
static ALAW_TO_LINEAR: [i16; 256] = tables().1;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sfu::mix::signal::{sine_i16, snr_db};

    #[test]
    fn every_code_survives_decode_then_encode() {
        for code in 0..=255u8 {
            assert_eq!(
                linear_to_alaw(alaw_to_linear(code)),
                code,
                "A-law {code:#04x}"
            );
            // µ-law has two zeros; the negative one (0x7F) comes back as the positive one.
            let want = if code == 0x7F { 0xFF } else { code };
            assert_eq!(
                linear_to_ulaw(ulaw_to_linear(code)),
                want,
                "µ-law {code:#04x}"
            );
        }
    }

    #[test]
    fn known_codes_match_the_standard() {
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(ulaw_to_linear(0x00), -32_124);
        assert_eq!(ulaw_to_linear(0x80), 32_124);
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0xAA), 32_256);
        assert_eq!(alaw_to_linear(0x2A), -32_256);
        assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
        assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
        assert_eq!(linear_to_alaw(i16::MIN), 0x2A);
        assert_eq!(G711::Pcmu.silence(), 0xFF);
        assert_eq!(G711::Pcma.silence(), 0xD5);
    }

    #[test]
    fn decoding_is_monotonic_in_the_input() {
        for law in [G711::Pcmu, G711::Pcma] {
            let mut last = i16::MIN;
            for s in (i16::MIN..=i16::MAX).step_by(7) {
                let mut code = Vec::new();
                law.encode(&[s], &mut code);
                let mut back = Vec::new();
                law.decode(&code, &mut back);
                assert!(
                    back[0] >= last,
                    "{law:?}: {s} decodes below a smaller input"
                );
                last = back[0];
            }
        }
    }

    #[test]
    fn a_sine_through_pcmu_and_pcma_keeps_over_35_db_snr() {
        // A tone at -6 dBFS: G.711's SNR is about 38 dB across its range. 1013 Hz, not 1 kHz, so
        // the samples do not repeat eight values and the error averages over many codes.
        let tone = sine_i16(1013.0, 8000, 8000, 0.5);
        for law in [G711::Pcmu, G711::Pcma] {
            let mut codes = Vec::new();
            law.encode(&tone, &mut codes);
            assert_eq!(codes.len(), tone.len());
            let mut back = Vec::new();
            law.decode(&codes, &mut back);
            let snr = snr_db(&tone, &back);
            assert!(snr > 35.0, "{law:?}: SNR {snr:.1} dB");
        }
    }

    #[test]
    fn quiet_signals_keep_their_snr_too() {
        // Companding: a -30 dBFS tone keeps roughly the same SNR as a loud one.
        let tone = sine_i16(443.0, 8000, 8000, 0.03);
        for law in [G711::Pcmu, G711::Pcma] {
            let mut codes = Vec::new();
            law.encode(&tone, &mut codes);
            let mut back = Vec::new();
            law.decode(&codes, &mut back);
            let snr = snr_db(&tone, &back);
            assert!(snr > 30.0, "{law:?}: SNR {snr:.1} dB at -30 dBFS");
        }
    }
}
