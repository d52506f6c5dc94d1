//! Call recordings as they arrive: `Recorded` is what the forwarder hands over for each recorded
//! leg (its Opus packets untouched, with their RTP sequence and timestamp, then its end), and
//! `OggOpus` muxes one leg's packets into an Ogg Opus stream (RFC 7845) without decoding them.
//! Nothing here touches a file or a thread: the recordings driver owns both.

use crate::domain::{CallId, ParticipantId};
use crate::engine::RtpTiming;
use ogg::writing::{PacketWriteEndInfo, PacketWriter};
use std::io::{self, Write};
use std::sync::Arc;

/// Samples the decoder drops at the start (RFC 7845 §4.2): libopus's encoder look-ahead at
/// 48 kHz, which browsers' and our own phone-leg encoders have.
pub const PRE_SKIP: u16 = 312;
/// Packets per Ogg page at most (one second of 20 ms packets): a file being written is playable
/// up to its last second, and a crash loses at most that.
const PAGE_PACKETS: u32 = 50;
/// Lost audio filled in per gap at most (60 s at 48 kHz); a longer gap is closed up.
const MAX_GAP_SAMPLES: u32 = 60 * 48_000;

/// What the media loop hands the recordings writer: never decoded, the payload shared. A leg
/// (unique per connection in its media loop) is named once, when its first packet is recorded,
/// so each packet carries no more than a number and the shared payload.
#[derive(Debug, Clone)]
pub enum Recorded {
    /// Whose leg `leg` is; its packets follow.
    Began {
        call: CallId,
        participant: ParticipantId,
        leg: u64,
    },
    /// One Opus packet of a leg, as it arrived.
    Packet {
        leg: u64,
        timing: RtpTiming,
        payload: Arc<[u8]>,
    },
    /// The leg is gone (left, disconnected, its call ended): its file is finished.
    Ended { leg: u64 },
}

/// Samples (48 kHz) one Opus packet decodes to, from its TOC byte (RFC 6716 §3.1); `None` for
/// an empty or malformed packet.
pub fn opus_samples(packet: &[u8]) -> Option<u32> {
    let toc = *packet.first()?;
    let frame = frame_samples(toc);
    let frames = match toc & 0x3 {
        0 => 1,
        1 | 2 => 2,
        _ => u32::from(packet.get(1)? & 0x3f),
    };
    let total = frame * frames;
    (frames > 0 && total <= 5760).then_some(total)
}

/// Samples (48 kHz) of one frame of the TOC's configuration.
fn frame_samples(toc: u8) -> u32 {
    let config = toc >> 3;
    match config {
        // SILK: 10, 20, 40, 60 ms.
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        // Hybrid: 10, 20 ms.
        12..=15 => [480, 960][usize::from(config % 2)],
        // CELT: 2.5, 5, 10, 20 ms.
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    }
}

/// The packet written last: where the stream is.
#[derive(Debug, Clone, Copy)]
struct Last {
    seq: u64,
    ts: u32,
    samples: u32,
    toc: u8,
}

/// One leg's Ogg Opus stream over `W`. Packets come in arrival order; a late or repeated one
/// (by sequence number) is dropped, and a gap (by timestamp) is filled with TOC-only packets
/// (a frame of no bytes: the decoder conceals it), so granule positions follow the RTP clock.
/// One packet is held back so the last one can carry the end of stream.
pub struct OggOpus<W: Write> {
    writer: PacketWriter<'static, W>,
    serial: u32,
    granule: u64,
    last: Option<Last>,
    held: Option<(Vec<u8>, u64)>,
    in_page: u32,
    /// Packets dropped as late or repeated, or unreadable.
    pub dropped: u64,
    /// Packets made up to fill gaps.
    pub filled: u64,
}

impl<W: Write> OggOpus<W> {
    /// Writes the two header pages (OpusHead, OpusTags with `tags` as `KEY=value` comments).
    pub fn new(out: W, serial: u32, tags: &[(&str, &str)]) -> io::Result<Self> {
        let mut writer = PacketWriter::new(out);
        writer.write_packet(opus_head(), serial, PacketWriteEndInfo::EndPage, 0)?;
        writer.write_packet(opus_tags(tags), serial, PacketWriteEndInfo::EndPage, 0)?;
        Ok(Self {
            writer,
            serial,
            granule: 0,
            last: None,
            held: None,
            in_page: 0,
            dropped: 0,
            filled: 0,
        })
    }

    /// One packet as it arrived.
    pub fn push(&mut self, timing: RtpTiming, payload: &[u8]) -> io::Result<()> {
        let Some(samples) = opus_samples(payload) else {
            self.dropped += 1;
            return Ok(());
        };
        if let Some(last) = self.last {
            if timing.seq <= last.seq {
                self.dropped += 1;
                return Ok(());
            }
            let expected = last.ts.wrapping_add(last.samples);
            let missing = timing.ts.wrapping_sub(expected);
            // A timestamp behind the stream (wrapped negative) is a jump, not a gap.
            if missing > 0 && missing <= MAX_GAP_SAMPLES {
                let filler = last.toc & 0xfc;
                let each = frame_samples(filler);
                for _ in 0..missing / each {
                    self.append(vec![filler], each)?;
                    self.filled += 1;
                }
            }
        }
        self.last = Some(Last {
            seq: timing.seq,
            ts: timing.ts,
            samples,
            toc: payload[0],
        });
        self.append(payload.to_vec(), samples)
    }

    /// Writes the held packet as the end of the stream and hands back the output.
    pub fn finish(mut self) -> io::Result<W> {
        if let Some((packet, granule)) = self.held.take() {
            self.writer.write_packet(
                packet,
                self.serial,
                PacketWriteEndInfo::EndStream,
                granule,
            )?;
        }
        let mut out = self.writer.into_inner();
        out.flush()?;
        Ok(out)
    }

    /// Samples written so far (the last page's granule position once finished).
    pub fn granule(&self) -> u64 {
        self.granule
    }

    fn append(&mut self, packet: Vec<u8>, samples: u32) -> io::Result<()> {
        self.granule += u64::from(samples);
        if let Some((held, granule)) = self.held.replace((packet, self.granule)) {
            self.in_page += 1;
            let end = if self.in_page >= PAGE_PACKETS {
                self.in_page = 0;
                PacketWriteEndInfo::EndPage
            } else {
                PacketWriteEndInfo::NormalPacket
            };
            self.writer.write_packet(held, self.serial, end, granule)?;
        }
        Ok(())
    }
}

/// RFC 7845 §5.1: version 1, one channel, `PRE_SKIP`, 48 kHz input, no gain, mapping family 0.
fn opus_head() -> Vec<u8> {
    let mut h = Vec::with_capacity(19);
    h.extend_from_slice(b"OpusHead");
    h.push(1);
    h.push(1);
    h.extend_from_slice(&PRE_SKIP.to_le_bytes());
    h.extend_from_slice(&48_000u32.to_le_bytes());
    h.extend_from_slice(&0i16.to_le_bytes());
    h.push(0);
    h
}

/// RFC 7845 §5.2: the vendor string and `tags` as user comments.
fn opus_tags(tags: &[(&str, &str)]) -> Vec<u8> {
    let vendor = concat!("hotline-bridge ", env!("CARGO_PKG_VERSION"));
    let mut t = Vec::new();
    t.extend_from_slice(b"OpusTags");
    t.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    t.extend_from_slice(vendor.as_bytes());
    t.extend_from_slice(&(tags.len() as u32).to_le_bytes());
    for (k, v) in tags {
        let c = format!("{k}={v}");
        t.extend_from_slice(&(c.len() as u32).to_le_bytes());
        t.extend_from_slice(c.as_bytes());
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use ogg::reading::PacketReader;
    use std::io::Cursor;

    /// A 20 ms CELT fullband mono packet (config 31, code 0) of `len` bytes.
    fn packet(len: usize) -> Vec<u8> {
        let mut p = vec![0u8; len];
        p[0] = 31 << 3;
        p
    }

    fn at(seq: u64, ts: u32) -> RtpTiming {
        RtpTiming {
            seq,
            ts,
            marker: false,
        }
    }

    /// Every packet read back: (data, granule of its page, last in its page, end of stream).
    fn read(bytes: Vec<u8>) -> Vec<(Vec<u8>, u64, bool, bool)> {
        let mut r = PacketReader::new(Cursor::new(bytes));
        let mut out = Vec::new();
        while let Some(p) = r.read_packet().expect("ogg") {
            out.push((
                p.data.clone(),
                p.absgp_page(),
                p.last_in_page(),
                p.last_in_stream(),
            ));
        }
        out
    }

    #[test]
    fn the_toc_byte_says_how_many_samples_a_packet_holds() {
        assert_eq!(opus_samples(&packet(40)), Some(960));
        // SILK 60 ms, two frames (code 1).
        assert_eq!(opus_samples(&[(3 << 3) | 1, 0]), Some(5760));
        // CELT 2.5 ms, code 3 with 4 frames.
        assert_eq!(opus_samples(&[(16 << 3) | 3, 4]), Some(480));
        // Code 3 without its count, or with none, or past 120 ms.
        assert_eq!(opus_samples(&[(16 << 3) | 3]), None);
        assert_eq!(opus_samples(&[(16 << 3) | 3, 0]), None);
        assert_eq!(opus_samples(&[(3 << 3) | 3, 3]), None);
        assert_eq!(opus_samples(&[]), None);
    }

    #[test]
    fn headers_come_first_each_on_its_own_page_then_audio_with_rising_granules() {
        let mut w = OggOpus::new(Vec::new(), 7, &[("CALL_ID", "c1")]).expect("head");
        for i in 0..120u32 {
            w.push(at(u64::from(i), 1000 + i * 960), &packet(30))
                .expect("push");
        }
        let packets = read(w.finish().expect("finish"));
        assert_eq!(packets.len(), 122);
        let head = &packets[0].0;
        assert_eq!(&head[..8], b"OpusHead");
        assert_eq!(head[8], 1, "version");
        assert_eq!(u16::from_le_bytes([head[10], head[11]]), PRE_SKIP);
        assert!(packets[0].2 && packets[1].2, "each header ends its page");
        assert!(packets[1].0.starts_with(b"OpusTags"));
        assert!(String::from_utf8_lossy(&packets[1].0).contains("CALL_ID=c1"));
        let granules: Vec<u64> = packets[2..].iter().filter(|p| p.2).map(|p| p.1).collect();
        assert!(granules.len() >= 3, "{granules:?}");
        assert!(granules.windows(2).all(|w| w[0] < w[1]), "{granules:?}");
        assert_eq!(*granules.last().expect("pages"), 120 * 960);
        assert!(
            packets.last().expect("last").3,
            "end of stream on the last packet"
        );
    }

    #[test]
    fn a_gap_is_filled_with_empty_frames_and_late_or_repeated_packets_are_dropped() {
        let mut w = OggOpus::new(Vec::new(), 1, &[]).expect("head");
        w.push(at(10, 0), &packet(20)).expect("push");
        // Three packets lost (seq 11-13, 60 ms).
        w.push(at(14, 4 * 960), &packet(20)).expect("push");
        // Late and repeated.
        w.push(at(12, 2 * 960), &packet(20)).expect("push");
        w.push(at(14, 4 * 960), &packet(20)).expect("push");
        w.push(at(15, 5 * 960), &packet(20)).expect("push");
        assert_eq!((w.filled, w.dropped), (3, 2));
        let packets = read(w.finish().expect("finish"));
        let audio: Vec<usize> = packets[2..].iter().map(|p| p.0.len()).collect();
        assert_eq!(audio, [20, 1, 1, 1, 20, 20]);
        assert_eq!(packets.last().expect("last").1, 6 * 960);
    }

    #[test]
    fn a_timestamp_jumping_back_or_far_ahead_is_not_filled() {
        let mut w = OggOpus::new(Vec::new(), 1, &[]).expect("head");
        w.push(at(1, 500_000), &packet(20)).expect("push");
        w.push(at(2, 1_000), &packet(20)).expect("push");
        w.push(at(3, 1_000 + 48_000 * 3600), &packet(20))
            .expect("push");
        assert_eq!(w.filled, 0);
        assert_eq!(w.granule(), 3 * 960);
    }
}
