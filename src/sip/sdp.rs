//! The session descriptions of a phone leg: what the trunk's offer asks for (where its RTP goes,
//! which codec of G.711 PCMU/PCMA and Opus it prefers, telephone-event, SDES-SRTP keys) and the
//! answer we give. Plain text in, plain text out: no sockets, no SIP crate types.

mod crypto;

pub use crypto::{Crypto, Suite, KEY_SALT_LEN};
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
    #[error("the offer's audio offers none of PCMU, PCMA and Opus")]
    NoCommonCodec,
    #[error("the offer asks for SRTP without a key suite we support (AES_CM_128_HMAC_SHA1_80/32)")]
    NoCrypto,
    #[error("malformed line {0:?}")]
    Malformed(String),
}

/// The audio codecs a phone leg can speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioCodec {
    Pcmu,
    Pcma,
    /// Opus over plain RTP, with the offer's dynamic payload type.
    Opus {
        pt: u8,
    },
}

impl AudioCodec {
    pub fn payload_type(self) -> u8 {
        match self {
            AudioCodec::Pcmu => PCMU,
            AudioCodec::Pcma => PCMA,
            AudioCodec::Opus { pt } => pt,
        }
    }

    /// Its RTP clock rate.
    pub fn clock(self) -> u32 {
        match self {
            AudioCodec::Opus { .. } => 48_000,
            _ => 8_000,
        }
    }

    fn rtpmap(self) -> String {
        match self {
            AudioCodec::Pcmu => format!("a=rtpmap:{PCMU} PCMU/8000\r\n"),
            AudioCodec::Pcma => format!("a=rtpmap:{PCMA} PCMA/8000\r\n"),
            // Mono is what a phone leg sends (RFC 7587 names the format /2 regardless).
            AudioCodec::Opus { pt } => format!(
                "a=rtpmap:{pt} opus/48000/2\r\na=fmtp:{pt} useinbandfec=1;stereo=0;sprop-stereo=0\r\n"
            ),
        }
    }
}

/// What we take from the trunk's offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// Where the trunk wants its RTP, until its first packet shows its real source (symmetric RTP).
    pub rtp: SocketAddr,
    /// The first of PCMU, PCMA and Opus in the offer's order of preference.
    pub codec: AudioCodec,
    /// Every codec of those three the offer lists, in its order.
    pub codecs: Vec<AudioCodec>,
    /// The offer's telephone-event payload type, if any (at the codec's clock when offered so).
    pub telephone_event: Option<u8>,
    /// The offer is RTP/SAVP: SRTP with this key (the first usable `a=crypto` line).
    pub crypto: Option<Crypto>,
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
    let mut secure = false;
    let mut events: Vec<(u8, u32)> = Vec::new();
    let mut opus: Option<u8> = None;
    let mut crypto: Option<Crypto> = None;
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
                    secure = f.next().is_some_and(|p| p.starts_with("RTP/SAVP"));
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
                    let Some(pt) = f.next().and_then(|p| p.parse::<u8>().ok()) else {
                        continue;
                    };
                    let name = f.next().unwrap_or("").to_ascii_lowercase();
                    if let Some(rate) = name.strip_prefix("telephone-event/") {
                        if let Ok(rate) = rate.parse() {
                            events.push((pt, rate));
                        }
                    } else if name.starts_with("opus/48000") {
                        opus = Some(pt);
                    }
                } else if let Some(rest) = value.strip_prefix("crypto:") {
                    if crypto.is_none() {
                        crypto = crypto::parse(rest);
                    }
                }
            }
            _ => {}
        }
    }
    let (port, pts) = audio.ok_or(SdpError::NoAudio)?;
    let ip = media_addr.or(session_addr).ok_or(SdpError::NoAddress)?;
    let codecs: Vec<AudioCodec> = pts
        .iter()
        .filter_map(|&pt| match pt {
            PCMU => Some(AudioCodec::Pcmu),
            PCMA => Some(AudioCodec::Pcma),
            _ if Some(pt) == opus => Some(AudioCodec::Opus { pt }),
            _ => None,
        })
        .collect();
    let codec = *codecs.first().ok_or(SdpError::NoCommonCodec)?;
    let telephone_event = events
        .iter()
        .find(|(_, rate)| *rate == codec.clock())
        .or(events.first())
        .map(|(pt, _)| *pt);
    let crypto = match (secure, crypto) {
        (true, None) => return Err(SdpError::NoCrypto),
        (true, c) => c,
        // Keys in a plain RTP/AVP section are not asked for: the leg stays plain.
        (false, _) => None,
    };
    Ok(Offer {
        rtp: SocketAddr::new(ip, port),
        codec,
        codecs,
        telephone_event,
        crypto,
    })
}

/// Our answer to `offer` (or our offer, when the INVITE had none): one audio section on
/// `ip:port` with the chosen codec and telephone-event, and, when the offer asked for SRTP, our
/// key `srtp_key` for it (no key given: the answer cannot be SRTP, so it is not made).
pub fn answer(
    offer: Option<&Offer>,
    ip: IpAddr,
    port: u16,
    session_id: u64,
    srtp_key: Option<&[u8; KEY_SALT_LEN]>,
) -> Option<String> {
    let family = if ip.is_ipv4() { "IP4" } else { "IP6" };
    let (codecs, te) = match offer {
        Some(o) => (
            vec![o.codec],
            o.telephone_event.unwrap_or(DEFAULT_TELEPHONE_EVENT),
        ),
        None => (
            vec![AudioCodec::Pcmu, AudioCodec::Pcma],
            DEFAULT_TELEPHONE_EVENT,
        ),
    };
    let crypto = match offer.and_then(|o| o.crypto.as_ref()) {
        Some(c) => Some(crypto::line(c, srtp_key?)),
        None => None,
    };
    let mut pts: Vec<String> = codecs
        .iter()
        .map(|c| c.payload_type().to_string())
        .collect();
    pts.push(te.to_string());
    let proto = if crypto.is_some() {
        "RTP/SAVP"
    } else {
        "RTP/AVP"
    };
    let mut s = format!(
        "v=0\r\no=hotline-bridge {session_id} 1 IN {family} {ip}\r\ns=hotline-bridge\r\n\
         c=IN {family} {ip}\r\nt=0 0\r\nm=audio {port} {proto} {}\r\n",
        pts.join(" ")
    );
    for c in &codecs {
        s.push_str(&c.rtpmap());
    }
    let clock = codecs.first().map_or(8_000, |c| c.clock());
    s.push_str(&format!(
        "a=rtpmap:{te} telephone-event/{clock}\r\na=fmtp:{te} 0-15\r\na=ptime:20\r\na=sendrecv\r\n"
    ));
    if let Some(line) = crypto {
        s.push_str(&line);
    }
    Some(s)
}

/// Which way media flows, from the side that wrote the SDP (RFC 3264 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    /// The direction attribute of `body`'s audio (a media-level line wins over a session-level
    /// one); sendrecv when there is none.
    pub fn of(body: &[u8]) -> Direction {
        let text = String::from_utf8_lossy(body);
        let mut session = None;
        let mut audio = None;
        let mut in_audio = false;
        for line in text.lines().map(str::trim) {
            if let Some(m) = line.strip_prefix("m=") {
                in_audio = m.starts_with("audio ");
                continue;
            }
            let d = match line {
                "a=sendrecv" => Direction::SendRecv,
                "a=sendonly" => Direction::SendOnly,
                "a=recvonly" => Direction::RecvOnly,
                "a=inactive" => Direction::Inactive,
                _ => continue,
            };
            if in_audio {
                audio.get_or_insert(d);
            } else if audio.is_none() {
                session.get_or_insert(d);
            }
        }
        audio.or(session).unwrap_or(Direction::SendRecv)
    }

    /// The answer's direction to an offer with this one: a phone that holds us (sendonly) is
    /// answered recvonly, inactive with inactive.
    pub fn answer(self) -> Direction {
        match self {
            Direction::SendRecv => Direction::SendRecv,
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            Direction::Inactive => Direction::Inactive,
        }
    }

    fn attribute(self) -> &'static str {
        match self {
            Direction::SendRecv => "a=sendrecv",
            Direction::SendOnly => "a=sendonly",
            Direction::RecvOnly => "a=recvonly",
            Direction::Inactive => "a=inactive",
        }
    }
}

/// Our answer made by `answer`, with its direction set to `direction` and its origin's version
/// set to `version` (RFC 3264 §8: a changed description has the next version).
pub fn reanswer(ours: &[u8], direction: Direction, version: u64) -> Vec<u8> {
    let text = String::from_utf8_lossy(ours);
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive("\r\n") {
        let bare = line.trim_end();
        if let Some(origin) = bare.strip_prefix("o=") {
            // o=<user> <session id> <version> <nettype> <addrtype> <address>
            let mut f: Vec<&str> = origin.split(' ').collect();
            let v = version.to_string();
            if f.len() == 6 {
                f[2] = &v;
            }
            out.push_str(&format!("o={}\r\n", f.join(" ")));
        } else if bare == "a=sendrecv" {
            out.push_str(&format!("{}\r\n", direction.attribute()));
        } else {
            out.push_str(line);
        }
    }
    out.into_bytes()
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
        assert_eq!(o.codec, AudioCodec::Pcma, "the offer's first G.711 codec");
        assert_eq!(o.telephone_event, Some(101));
        assert_eq!(o.crypto, None);
    }

    #[test]
    fn the_answer_keeps_the_chosen_codec_and_telephone_event() {
        let o = parse_offer(SIPP_OFFER.as_bytes()).unwrap();
        let a = answer(Some(&o), "192.0.2.1".parse().unwrap(), 40002, 7, None).unwrap();
        assert!(a.contains("c=IN IP4 192.0.2.1\r\n"), "{a}");
        assert!(a.contains("m=audio 40002 RTP/AVP 8 101\r\n"), "{a}");
        assert!(a.contains("a=rtpmap:101 telephone-event/8000\r\n"), "{a}");
        assert_eq!(parse_offer(a.as_bytes()).unwrap().codec, AudioCodec::Pcma);
    }

    const OPUS_FIRST: &str = "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 7000 RTP/AVP 96 0 101 97\r\n\
        a=rtpmap:96 opus/48000/2\r\na=rtpmap:101 telephone-event/48000\r\n\
        a=rtpmap:97 telephone-event/8000\r\n";

    #[test]
    fn opus_is_taken_where_the_offer_prefers_it_with_telephone_event_at_its_clock() {
        let o = parse_offer(OPUS_FIRST.as_bytes()).unwrap();
        assert_eq!(o.codec, AudioCodec::Opus { pt: 96 });
        assert_eq!(o.telephone_event, Some(101), "the 48 kHz telephone-event");
        let a = answer(Some(&o), "192.0.2.1".parse().unwrap(), 40002, 7, None).unwrap();
        assert!(a.contains("m=audio 40002 RTP/AVP 96 101\r\n"), "{a}");
        assert!(a.contains("a=rtpmap:96 opus/48000/2\r\n"), "{a}");
        assert!(a.contains("a=rtpmap:101 telephone-event/48000\r\n"), "{a}");
        let pcmu_first = OPUS_FIRST.replace("RTP/AVP 96 0", "RTP/AVP 0 96");
        let o = parse_offer(pcmu_first.as_bytes()).unwrap();
        assert_eq!(
            o.codec,
            AudioCodec::Pcmu,
            "the offer's order is its preference"
        );
        assert_eq!(o.telephone_event, Some(97), "the 8 kHz telephone-event");
    }

    const SRTP_OFFER: &str = "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 7000 RTP/SAVP 0 101\r\n\
        a=rtpmap:101 telephone-event/8000\r\n\
        a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:bm90IGEga2V5\r\n\
        a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n";

    #[test]
    fn an_srtp_offer_is_answered_with_our_key_for_its_first_usable_suite() {
        let o = parse_offer(SRTP_OFFER.as_bytes()).unwrap();
        let c = o.crypto.clone().expect("the AES_CM_128 line");
        assert_eq!((c.tag, c.suite), (2, Suite::AesCm128HmacSha1_80));
        let ip = "192.0.2.1".parse().unwrap();
        assert_eq!(
            answer(Some(&o), ip, 40002, 7, None),
            None,
            "no key, no answer"
        );
        let a = answer(Some(&o), ip, 40002, 7, Some(&[9; KEY_SALT_LEN])).unwrap();
        assert!(a.contains("m=audio 40002 RTP/SAVP 0 101\r\n"), "{a}");
        assert!(
            a.contains("a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:"),
            "{a}"
        );
        let ours = parse_offer(a.as_bytes()).unwrap().crypto.unwrap();
        assert_eq!(ours.key_salt, [9; KEY_SALT_LEN]);
        let plain = SRTP_OFFER.replace("RTP/SAVP", "RTP/AVP");
        assert_eq!(parse_offer(plain.as_bytes()).unwrap().crypto, None);
    }

    #[test]
    fn without_an_offer_we_offer_both_g711_codecs() {
        let a = answer(None, "::1".parse().unwrap(), 40000, 1, None).unwrap();
        assert!(a.contains("m=audio 40000 RTP/AVP 0 8 101\r\n"), "{a}");
        assert!(a.contains("c=IN IP6 ::1\r\n"), "{a}");
    }

    #[test]
    fn offers_we_cannot_serve_are_told_apart() {
        let g722 = SIPP_OFFER.replace("RTP/AVP 8 0 101", "RTP/AVP 9");
        assert_eq!(parse_offer(g722.as_bytes()), Err(SdpError::NoCommonCodec));
        let keyless = SIPP_OFFER.replace("RTP/AVP", "RTP/SAVP");
        assert_eq!(parse_offer(keyless.as_bytes()), Err(SdpError::NoCrypto));
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

    #[test]
    fn a_hold_offer_is_answered_in_the_mirrored_direction_with_the_next_version() {
        let ours = answer(None, "192.0.2.30".parse().expect("ip"), 20000, 7, None).expect("answer");
        let held =
            "v=0\r\no=pbx 1 2 IN IP4 192.0.2.10\r\ns=-\r\na=sendrecv\r\nc=IN IP4 192.0.2.10\r\n\
                    t=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n";
        assert_eq!(
            Direction::of(held.as_bytes()),
            Direction::SendOnly,
            "media level wins"
        );
        let session_only = "v=0\r\na=inactive\r\nm=audio 4000 RTP/AVP 0\r\n";
        assert_eq!(Direction::of(session_only.as_bytes()), Direction::Inactive);
        assert_eq!(Direction::of(SIPP_OFFER.as_bytes()), Direction::SendRecv);
        let re = reanswer(ours.as_bytes(), Direction::SendOnly.answer(), 2);
        let re = String::from_utf8(re).expect("utf-8");
        assert!(
            re.contains("o=hotline-bridge 7 2 IN IP4 192.0.2.30\r\n"),
            "{re}"
        );
        assert!(
            re.contains("a=recvonly\r\n") && !re.contains("a=sendrecv"),
            "{re}"
        );
        assert_eq!(
            re.len(),
            ours.len(),
            "only the version and direction change: {re}"
        );
    }
}
