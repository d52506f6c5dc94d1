//! The session descriptions of a phone leg: what the trunk's offer asks for (where its RTP goes,
//! which payload types it takes) and the answer we give (G.711 PCMU/PCMA and telephone-event).
//! Plain text in, plain text out: no sockets, no SIP crate types.

use std::net::{IpAddr, SocketAddr};

/// Static payload types of G.711 (RFC 3551).
pub const PCMU: u8 = 0;
pub const PCMA: u8 = 8;
/// Our payload type for telephone-event when the offer names none.
pub const DEFAULT_TELEPHONE_EVENT: u8 = 101;
/// An offer longer than this is refused (a phone's offer is a few hundred bytes).
pub const MAX_SDP_BYTES: usize = 8 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SdpError {
    #[error("the offer is not UTF-8 text")]
    NotText,
    #[error("the offer is longer than {MAX_SDP_BYTES} bytes")]
    TooLong,
    #[error("the offer has no audio media line")]
    NoAudio,
    #[error("the offer has no connection address for its audio")]
    NoAddress,
    #[error("the offer's audio offers neither PCMU nor PCMA")]
    NoCommonCodec,
    #[error("malformed line {0:?}")]
    Malformed(String),
}

/// What we take from the trunk's offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// Where the trunk wants its RTP, until its first packet shows its real source (symmetric RTP).
    pub rtp: SocketAddr,
    /// PCMU or PCMA: the first of the two in the offer's order of preference.
    pub codec: u8,
    /// The offer's telephone-event payload type, if any.
    pub telephone_event: Option<u8>,
}

/// Reads the first audio section of `body`.
pub fn parse_offer(body: &[u8]) -> Result<Offer, SdpError> {
    if body.len() > MAX_SDP_BYTES {
        return Err(SdpError::TooLong);
    }
    let text = std::str::from_utf8(body).map_err(|_| SdpError::NotText)?;
    let mut session_addr: Option<IpAddr> = None;
    let mut media_addr: Option<IpAddr> = None;
    let mut audio: Option<(u16, Vec<u8>)> = None;
    let mut in_audio = false;
    let mut telephone_event = None;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        let Some((kind, value)) = line.split_once('=') else {
            if line.trim().is_empty() {
                continue;
            }
            return Err(SdpError::Malformed(short(line)));
        };
        match kind {
            "m" => {
                if audio.is_some() {
                    // Only the first audio section counts; later sections are not ours.
                    in_audio = false;
                    continue;
                }
                let mut f = value.split_ascii_whitespace();
                in_audio = f.next() == Some("audio");
                if in_audio {
                    let port = f
                        .next()
                        .and_then(|p| p.split('/').next()?.parse::<u16>().ok())
                        .ok_or_else(|| SdpError::Malformed(short(line)))?;
                    let _proto = f.next();
                    let pts = f.filter_map(|p| p.parse::<u8>().ok()).collect();
                    audio = Some((port, pts));
                }
            }
            "c" => {
                let addr = value
                    .split_ascii_whitespace()
                    .nth(2)
                    .and_then(|a| a.split('/').next()?.parse::<IpAddr>().ok())
                    .ok_or_else(|| SdpError::Malformed(short(line)))?;
                if audio.is_none() {
                    session_addr = Some(addr);
                } else if in_audio {
                    media_addr = Some(addr);
                }
            }
            "a" if in_audio => {
                if let Some(rest) = value.strip_prefix("rtpmap:") {
                    let mut f = rest.split_ascii_whitespace();
                    let pt = f.next().and_then(|p| p.parse::<u8>().ok());
                    let name = f.next().unwrap_or("");
                    if name
                        .to_ascii_lowercase()
                        .starts_with("telephone-event/8000")
                    {
                        telephone_event = pt;
                    }
                }
            }
            _ => {}
        }
    }
    let (port, pts) = audio.ok_or(SdpError::NoAudio)?;
    let ip = media_addr.or(session_addr).ok_or(SdpError::NoAddress)?;
    let codec = pts
        .iter()
        .copied()
        .find(|pt| *pt == PCMU || *pt == PCMA)
        .ok_or(SdpError::NoCommonCodec)?;
    Ok(Offer {
        rtp: SocketAddr::new(ip, port),
        codec,
        telephone_event,
    })
}

/// Our answer to `offer` (or our offer, when the INVITE had none): one audio section on
/// `ip:port` with the chosen G.711 codec and telephone-event.
pub fn answer(offer: Option<&Offer>, ip: IpAddr, port: u16, session_id: u64) -> String {
    let family = if ip.is_ipv4() { "IP4" } else { "IP6" };
    let (codecs, te) = match offer {
        Some(o) => (
            vec![o.codec],
            o.telephone_event.unwrap_or(DEFAULT_TELEPHONE_EVENT),
        ),
        None => (vec![PCMU, PCMA], DEFAULT_TELEPHONE_EVENT),
    };
    let mut pts: Vec<String> = codecs.iter().map(u8::to_string).collect();
    pts.push(te.to_string());
    let mut s = format!(
        "v=0\r\no=hotline-bridge {session_id} 1 IN {family} {ip}\r\ns=hotline-bridge\r\n\
         c=IN {family} {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP {}\r\n",
        pts.join(" ")
    );
    for c in codecs {
        let name = if c == PCMU { "PCMU" } else { "PCMA" };
        s.push_str(&format!("a=rtpmap:{c} {name}/8000\r\n"));
    }
    s.push_str(&format!(
        "a=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} 0-15\r\na=ptime:20\r\na=sendrecv\r\n"
    ));
    s
}

fn short(line: &str) -> String {
    line.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIPP_OFFER: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n\
        c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 8 0 101\r\n\
        a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n";

    #[test]
    fn a_g711_offer_gives_its_address_codec_and_telephone_event() {
        let o = parse_offer(SIPP_OFFER.as_bytes()).unwrap();
        assert_eq!(o.rtp, "127.0.0.1:6000".parse().unwrap());
        assert_eq!(o.codec, PCMA, "the offer's first G.711 codec");
        assert_eq!(o.telephone_event, Some(101));
    }

    #[test]
    fn the_answer_keeps_the_chosen_codec_and_telephone_event() {
        let o = parse_offer(SIPP_OFFER.as_bytes()).unwrap();
        let a = answer(Some(&o), "192.0.2.1".parse().unwrap(), 40002, 7);
        assert!(a.contains("c=IN IP4 192.0.2.1\r\n"), "{a}");
        assert!(a.contains("m=audio 40002 RTP/AVP 8 101\r\n"), "{a}");
        assert!(a.contains("a=rtpmap:101 telephone-event/8000\r\n"), "{a}");
        assert_eq!(parse_offer(a.as_bytes()).unwrap().codec, PCMA);
    }

    #[test]
    fn without_an_offer_we_offer_both_g711_codecs() {
        let a = answer(None, "::1".parse().unwrap(), 40000, 1);
        assert!(a.contains("m=audio 40000 RTP/AVP 0 8 101\r\n"), "{a}");
        assert!(a.contains("c=IN IP6 ::1\r\n"), "{a}");
    }

    #[test]
    fn offers_we_cannot_serve_are_told_apart() {
        let opus = SIPP_OFFER.replace("RTP/AVP 8 0 101", "RTP/AVP 111");
        assert_eq!(parse_offer(opus.as_bytes()), Err(SdpError::NoCommonCodec));
        let video = "v=0\r\nc=IN IP4 127.0.0.1\r\nm=video 5000 RTP/AVP 96\r\n";
        assert_eq!(parse_offer(video.as_bytes()), Err(SdpError::NoAudio));
        let no_c = "v=0\r\nm=audio 5000 RTP/AVP 0\r\n";
        assert_eq!(parse_offer(no_c.as_bytes()), Err(SdpError::NoAddress));
        assert_eq!(parse_offer(&[0xff, 0xfe]), Err(SdpError::NotText));
        assert!(matches!(
            parse_offer(b"v=0\r\nm=audio x RTP/AVP 0\r\n"),
            Err(SdpError::Malformed(_))
        ));
        assert!(matches!(
            parse_offer(b"garbage"),
            Err(SdpError::Malformed(_))
        ));
        assert_eq!(
            parse_offer(&vec![b'a'; MAX_SDP_BYTES + 1]),
            Err(SdpError::TooLong)
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for len in 0..400 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let alphabet = b"v=mc a:0123456789 /.\r\nIPRTAVudio";
                    alphabet[(seed % alphabet.len() as u64) as usize]
                })
                .collect();
            let _ = parse_offer(&bytes);
        }
    }
}
