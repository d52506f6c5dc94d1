//! Plain RTP (RFC 3550) for phone legs: reading a packet's header and writing our own. Bytes in,
//! bytes out; anything malformed is `None`, never a panic.

/// The fixed RTP header's length (no CSRCs, no extension).
pub const HEADER_LEN: usize = 12;

/// What the phone side needs from one received packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub payload_type: u8,
    pub seq: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    /// Where the payload starts (after CSRCs and any header extension).
    pub payload_start: usize,
    /// Where it ends (before any padding).
    pub payload_end: usize,
}

/// Parses an RTP packet's header; `None` if it is not RTP version 2 or its lengths do not add up.
pub fn parse(data: &[u8]) -> Option<Header> {
    if data.len() < HEADER_LEN || data[0] >> 6 != 2 {
        return None;
    }
    let padding = data[0] & 0x20 != 0;
    let extension = data[0] & 0x10 != 0;
    let csrcs = usize::from(data[0] & 0x0f);
    let mut start = HEADER_LEN + 4 * csrcs;
    if extension {
        let words = data.get(start + 2..start + 4)?;
        start += 4 + 4 * usize::from(u16::from_be_bytes([words[0], words[1]]));
    }
    let mut end = data.len();
    if padding {
        end = end.checked_sub(usize::from(*data.last()?))?;
    }
    if start > end {
        return None;
    }
    Some(Header {
        payload_type: data[1] & 0x7f,
        seq: u16::from_be_bytes([data[2], data[3]]),
        timestamp: u32::from_be_bytes([data[4], data[5], data[6], data[7]]),
        ssrc: u32::from_be_bytes([data[8], data[9], data[10], data[11]]),
        payload_start: start,
        payload_end: end,
    })
}

/// One outgoing RTP stream: its own SSRC, a sequence number and timestamp advancing per packet.
#[derive(Debug, Clone)]
pub struct Stream {
    ssrc: u32,
    seq: u16,
    timestamp: u32,
    first: bool,
}

impl Stream {
    /// Starts at random-looking `seq` and `timestamp` (RFC 3550 §5.1) given by the caller.
    pub fn new(ssrc: u32, seq: u16, timestamp: u32) -> Self {
        Self {
            ssrc,
            seq,
            timestamp,
            first: true,
        }
    }

    /// Writes one packet of `payload_type` carrying `payload` into `out` (cleared first), then
    /// advances by `samples`. The first packet carries the marker bit (the talkspurt begins).
    pub fn write(&mut self, payload_type: u8, payload: &[u8], samples: u32, out: &mut Vec<u8>) {
        out.clear();
        out.push(0x80);
        out.push((payload_type & 0x7f) | if self.first { 0x80 } else { 0 });
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.extend_from_slice(payload);
        self.first = false;
        self.seq = self.seq.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(samples);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_packet_parses_back_and_the_stream_advances() {
        let mut s = Stream::new(0xdead_beef, 65_535, u32::MAX - 10);
        let mut out = Vec::new();
        s.write(8, &[1, 2, 3], 160, &mut out);
        let h = parse(&out).expect("valid");
        assert_eq!(
            (h.payload_type, h.seq, h.timestamp, h.ssrc),
            (8, 65_535, u32::MAX - 10, 0xdead_beef)
        );
        assert_eq!(&out[h.payload_start..h.payload_end], &[1, 2, 3]);
        assert_eq!(out[1] & 0x80, 0x80, "the first packet is marked");
        s.write(8, &[4], 160, &mut out);
        let h = parse(&out).expect("valid");
        assert_eq!(
            (h.seq, h.timestamp),
            (0, 149),
            "sequence and timestamp wrap"
        );
        assert_eq!(out[1] & 0x80, 0, "later packets are not marked");
    }

    #[test]
    fn csrcs_extension_and_padding_are_skipped() {
        let mut p = vec![0x80 | 0x20 | 0x10 | 1, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        p.extend_from_slice(&[9, 9, 9, 9]); // one CSRC
        p.extend_from_slice(&[0xbe, 0xde, 0, 1, 7, 7, 7, 7]); // a one-word extension
        p.extend_from_slice(&[42, 43]); // payload
        p.extend_from_slice(&[0, 0, 3]); // three bytes of padding
        let h = parse(&p).expect("valid");
        assert_eq!(&p[h.payload_start..h.payload_end], &[42, 43]);
    }

    #[test]
    fn malformed_packets_are_refused_without_panicking() {
        assert!(parse(&[0x80; 11]).is_none(), "short");
        assert!(parse(&[0x40; 12]).is_none(), "version 1");
        let mut p = vec![0x8f; 12];
        p[0] = 0x8f; // fifteen CSRCs announced, none present
        assert!(parse(&p).is_none());
        let mut p = vec![0u8; 13];
        p[0] = 0xa0;
        p[12] = 200; // more padding than packet
        assert!(parse(&p).is_none());
        let mut p = vec![0u8; 16];
        p[0] = 0x90;
        p[14] = 0xff; // an extension longer than the packet
        assert!(parse(&p).is_none());
    }
}
