//! Reading the shipped prompts' WAV files: RIFF chunks, 8 kHz mono, µ-law (what scripts/prompts.sh
//! writes) or 16-bit PCM. Bytes in, samples out; a file we cannot read is an error, never a panic.

use super::PromptError;

/// WAVE format tags.
const PCM: u16 = 1;
const MULAW: u16 = 7;
const EXTENSIBLE: u16 = 0xfffe;
/// The only rate a phone leg plays.
const RATE: u32 = 8_000;

/// The 8 kHz mono samples of a WAV file.
pub fn decode(bytes: &[u8]) -> Result<Vec<i16>, PromptError> {
    let bad = |why: &str| PromptError::Wav(why.to_owned());
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(bad("not a RIFF WAVE file"));
    }
    let mut format = None;
    let mut rest = &bytes[12..];
    while rest.len() >= 8 {
        let id = &rest[..4];
        let len = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        let body = rest
            .get(8..8 + len)
            .ok_or_else(|| bad("a chunk runs past the end"))?;
        match id {
            b"fmt " => {
                if body.len() < 16 {
                    return Err(bad("short fmt chunk"));
                }
                let word = |i: usize| u16::from_le_bytes([body[i], body[i + 1]]);
                let mut tag = word(0);
                if tag == EXTENSIBLE && body.len() >= 26 {
                    tag = word(24);
                }
                let rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
                format = Some((tag, word(2), rate, word(14)));
            }
            b"data" => {
                return match format {
                    Some((MULAW, 1, RATE, 8)) => Ok(body.iter().map(|&b| mulaw(b)).collect()),
                    Some((PCM, 1, RATE, 16)) => Ok(body
                        .chunks_exact(2)
                        .map(|s| i16::from_le_bytes([s[0], s[1]]))
                        .collect()),
                    Some((tag, channels, rate, bits)) => Err(PromptError::Wav(format!(
                        "format {tag}, {channels} channels, {rate} Hz, {bits} bits: 8 kHz mono \
                         µ-law or 16-bit PCM expected"
                    ))),
                    None => Err(bad("data before fmt")),
                };
            }
            _ => {}
        }
        // Chunks are padded to an even length.
        rest = rest.get(8 + len + (len & 1)..).unwrap_or_default();
    }
    Err(bad("no data chunk"))
}

/// One G.711 µ-law byte as a 16-bit sample (ITU-T G.711).
fn mulaw(byte: u8) -> i16 {
    let b = !byte;
    let exponent = (b >> 4) & 0x07;
    let mantissa = i16::from(b & 0x0f);
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    if b & 0x80 != 0 {
        -magnitude
    } else {
        magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(tag: u16, bits: u16, data: &[u8]) -> Vec<u8> {
        let mut fmt = Vec::new();
        fmt.extend_from_slice(&tag.to_le_bytes());
        fmt.extend_from_slice(&1u16.to_le_bytes());
        fmt.extend_from_slice(&RATE.to_le_bytes());
        fmt.extend_from_slice(&(RATE * u32::from(bits) / 8).to_le_bytes());
        fmt.extend_from_slice(&(bits / 8).to_le_bytes());
        fmt.extend_from_slice(&bits.to_le_bytes());
        let mut out = b"RIFF\0\0\0\0WAVE".to_vec();
        for (id, body) in [
            (b"fmt ", &fmt[..]),
            (b"fact", &[1, 0, 0, 0][..]),
            (b"data", data),
        ] {
            out.extend_from_slice(id);
            out.extend_from_slice(&(body.len() as u32).to_le_bytes());
            out.extend_from_slice(body);
        }
        out
    }

    #[test]
    fn mulaw_and_pcm_files_decode() {
        // 0xff and 0x7f are the two zeros of µ-law; 0x00 and 0x80 its extremes.
        let s = decode(&wav(MULAW, 8, &[0xff, 0x7f, 0x00, 0x80])).expect("µ-law");
        assert_eq!(s, [0, 0, -32124, 32124]);
        let s = decode(&wav(PCM, 16, &[0x34, 0x12, 0xff, 0xff])).expect("pcm");
        assert_eq!(s, [0x1234, -1]);
    }

    #[test]
    fn other_formats_and_broken_files_are_errors() {
        assert!(decode(&wav(MULAW, 16, &[0; 4])).is_err());
        assert!(decode(b"RIFF").is_err());
        let mut cut = wav(MULAW, 8, &[0; 40]);
        cut.truncate(50);
        assert!(decode(&cut).is_err(), "a data chunk longer than the file");
        assert!(decode(&[0; 64]).is_err());
    }
}
