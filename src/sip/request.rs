//! What the edge reads from a request before it changes any state: where it really came from,
//! the numbers it names, its Authorization header and its SDP. Pure functions over a parsed
//! request, plus `probe`, the whole reading of one datagram for the fuzz target and property tests.
//!
//! The source address is the packet's, stamped by `SourceStamp` as the stack hands the request
//! over, never a `Via` field: a `received=` parameter written by the sender is not evidence, and
//! is replaced by the real one so that our responses, too, go where the request came from.

use super::number::{language_for, mask, normalize};
use super::sdp;
use super::trunk::Trunks;
use crate::domain::Language;
use rsipstack::sip::param::Received;
use rsipstack::sip::prelude::{HeadersExt, ToTypedHeader};
use rsipstack::sip::{Header, Host, Param, Request, SipMessage};
use rsipstack::transaction::endpoint::MessageInspector;
use rsipstack::transport::SipAddr;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The header our stack stamps with the packet's source; one from outside is removed first.
const SOURCE_HEADER: &str = "X-Hotline-Source";
/// A SIP message longer than this is not read (a trunk's INVITE is a few kilobytes; the UDP
/// transport reads at most 8 KiB anyway).
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// Stamps every request with the address its packet (or TCP connection) came from.
pub struct SourceStamp;

impl MessageInspector for SourceStamp {
    fn before_send(&self, msg: SipMessage, _dest: Option<&SipAddr>) -> SipMessage {
        msg
    }

    fn after_received(&self, msg: SipMessage, from: Option<&SipAddr>) -> SipMessage {
        match msg {
            SipMessage::Request(mut req) => {
                stamp(
                    &mut req,
                    from.and_then(|a| a.get_socketaddr().ok()).map(|a| a.ip()),
                );
                SipMessage::Request(req)
            }
            response => response,
        }
    }
}

/// Removes any source header the sender wrote and, when known, adds the real one; the top Via's
/// `received` is made the real source too (RFC 3261 §18.2.1), whatever the sender put there.
fn stamp(req: &mut Request, source: Option<IpAddr>) {
    req.headers.retain(
        |h| !matches!(h, Header::Other(name, _) if name.eq_ignore_ascii_case(SOURCE_HEADER)),
    );
    let Some(ip) = source else {
        return;
    };
    req.headers
        .push(Header::Other(SOURCE_HEADER.into(), ip.to_string()));
    if let Ok(via) = req.via_header_mut() {
        // A Via we cannot read is left as it is: the transaction layer refuses such a request.
        let _ = via.update_first_value(|v| {
            let mut typed = v.typed()?;
            typed.params.retain(|p| !matches!(p, Param::Received(_)));
            if typed.uri.host_with_port.host != Host::IpAddr(ip) {
                let host = match ip {
                    IpAddr::V6(v6) => format!("[{v6}]"),
                    IpAddr::V4(v4) => v4.to_string(),
                };
                typed.params.push(Param::Received(Received::new(host)));
            }
            Ok(typed.into())
        });
    }
}

/// The address the request's packet came from, as stamped by `SourceStamp`; `None` when the
/// stack could not tell (the request is then refused).
pub fn source_ip(req: &Request) -> Option<IpAddr> {
    req.headers.iter().find_map(|h| match h {
        Header::Other(name, value) if name.eq_ignore_ascii_case(SOURCE_HEADER) => {
            value.parse().ok()
        }
        _ => None,
    })
}

/// The request's Call-ID, for logs; empty when it has none.
pub fn sip_call_id(req: &Request) -> String {
    req.call_id_header()
        .map(|c| c.value().to_owned())
        .unwrap_or_default()
}

/// The Content-Type header's value ("" without one).
pub fn content_type(req: &Request) -> &str {
    req.headers
        .iter()
        .find_map(|h| match h {
            Header::ContentType(c) => Some(c.value()),
            _ => None,
        })
        .unwrap_or_default()
}

/// The raw Authorization header, if any.
pub fn authorization(req: &Request) -> Option<String> {
    req.headers.iter().find_map(|h| match h {
        Header::Authorization(a) => Some(a.value().to_owned()),
        _ => None,
    })
}

/// The numbers of an INVITE: the one called (Request-URI, else To) and the caller's (From).
/// `None` when From or To is missing or not a URI (the INVITE is then refused with 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Numbers {
    pub called: Option<String>,
    pub caller: Option<String>,
}

pub fn numbers(req: &Request) -> Option<Numbers> {
    let from = req.from_header().ok()?.uri().ok()?;
    let to = req.to_header().ok()?.uri().ok()?;
    let called = req
        .uri
        .auth
        .as_ref()
        .map(|a| a.user.clone())
        .or_else(|| to.auth.as_ref().map(|a| a.user.clone()))
        .and_then(|u| normalize(&u));
    let caller = from.auth.as_ref().and_then(|a| normalize(&a.user));
    Some(Numbers { called, caller })
}

/// Everything the edge reads from `bytes` as if they had arrived from `source`, with no side
/// effect: SIP parsing, the source stamp, trunk admission, numbers, DID language, masking, the
/// SDP offer and our answer to it. For the fuzz target: it must return for any input, quickly.
pub fn probe(bytes: &[u8], source: IpAddr, trunks: &Trunks, dids: &BTreeMap<String, Language>) {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return;
    }
    // The SDP reader is also driven directly, so malformed bodies are reached without a valid
    // SIP head in front of them.
    if let Ok(offer) = sdp::parse_offer(bytes) {
        let _ = sdp::answer(
            Some(&offer),
            source,
            40000,
            1,
            Some(&[0; sdp::KEY_SALT_LEN]),
        );
    }
    let Ok(SipMessage::Request(mut req)) = SipMessage::try_from(bytes) else {
        return;
    };
    stamp(&mut req, Some(source));
    let Some(from) = source_ip(&req) else {
        return;
    };
    let _ = sip_call_id(&req);
    let auth = authorization(&req);
    let _ = trunks.admit(from, &req.method, auth.as_deref(), 0);
    if let Some(n) = numbers(&req) {
        let _ = language_for(dids, n.called.as_deref());
        let _ = mask(n.caller.as_deref());
    }
    if !req.body.is_empty() {
        if let Ok(offer) = sdp::parse_offer(&req.body) {
            let _ = sdp::answer(Some(&offer), from, 40000, 1, Some(&[0; sdp::KEY_SALT_LEN]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite(extra: &str) -> Request {
        let raw = format!(
            "INVITE sip:12345001@192.0.2.1 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 203.0.113.9:5060;branch=z9hG4bK1;received=192.0.2.10\r\n\
             From: <sip:+8613912345678@203.0.113.9>;tag=1\r\nTo: <sip:12345001@192.0.2.1>\r\n\
             Call-ID: abc\r\nCSeq: 1 INVITE\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        match SipMessage::try_from(raw.as_str()) {
            Ok(SipMessage::Request(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_source_is_the_packets_not_what_the_sender_wrote() {
        let mut req = invite("X-Hotline-Source: 192.0.2.10\r\n");
        assert_eq!(
            source_ip(&req),
            Some("192.0.2.10".parse().unwrap()),
            "unstamped: what the sender wrote"
        );
        stamp(&mut req, Some("203.0.113.9".parse().unwrap()));
        assert_eq!(source_ip(&req), Some("203.0.113.9".parse().unwrap()));
        let via = req.via_header().unwrap().value().to_owned();
        assert!(
            !via.contains("received"),
            "the sender's received= is gone: {via}"
        );
        stamp(&mut req, Some("198.51.100.1".parse().unwrap()));
        let via = req.via_header().unwrap().value().to_owned();
        assert!(
            via.contains("received=198.51.100.1"),
            "the real source: {via}"
        );
        assert_eq!(via.matches("received").count(), 1, "{via}");
        stamp(&mut req, None);
        assert_eq!(source_ip(&req), None, "an unknown source is no source");
    }

    #[test]
    fn an_invite_whose_to_is_no_uri_has_no_numbers() {
        let raw =
            "INVITE sip:1@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1\r\n\
                   From: <sip:+86@192.0.2.10>;tag=1\r\nTo: this is not @ a uri <<\r\n\
                   Call-ID: a\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
        let Ok(SipMessage::Request(req)) = SipMessage::try_from(raw) else {
            panic!("the head parses; only To is broken")
        };
        assert_eq!(numbers(&req), None);
    }

    #[test]
    fn an_invite_names_the_called_and_calling_numbers() {
        let n = numbers(&invite("")).unwrap();
        assert_eq!(n.called.as_deref(), Some("12345001"));
        assert_eq!(n.caller.as_deref(), Some("+8613912345678"));
    }

    /// The fuzz target's property, run on every `cargo test`: mutated requests (bytes flipped,
    /// dropped, duplicated, spliced with SIP and SDP fragments) never panic `probe`.
    #[test]
    fn probe_survives_mutated_requests() {
        let mut s = crate::config::Settings::from_toml_str("").unwrap().sip;
        s.trunks.insert(
            "carrier".into(),
            crate::config::sip::TrunkSettings {
                sources: vec!["192.0.2.0/24".into()],
                username: "carrier".into(),
                password: "s3cret".into(),
                dial: String::new(),
            },
        );
        let trunks = Trunks::new(&s);
        let seed = "INVITE sip:12345001@192.0.2.1 SIP/2.0\r\n\
            Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK1\r\n\
            From: <sip:+8613912345678@192.0.2.10>;tag=1\r\nTo: <sip:12345001@192.0.2.1>\r\n\
            Call-ID: abc\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n\
            Authorization: Digest username=\"carrier\", nonce=\"1.2\", response=\"x\", qop=auth, nc=1, cnonce=\"c\"\r\n\
            Content-Type: application/sdp\r\nContent-Length: 92\r\n\r\n\
            v=0\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 6000 RTP/AVP 8 0 101\r\n\
            a=rtpmap:101 telephone-event/8000\r\n";
        let fragments: [&[u8]; 8] = [
            b"\r\n",
            b";",
            b"<sip:",
            b"%",
            b"=",
            b":",
            b"m=audio 0 RTP/AVP 0\r\n",
            b"\xff\xfe",
        ];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let source: IpAddr = "192.0.2.10".parse().unwrap();
        for _ in 0..3000 {
            let mut m = seed.as_bytes().to_vec();
            for _ in 0..=(next() % 8) {
                let at = (next() as usize) % (m.len() + 1);
                match next() % 4 {
                    0 if at < m.len() => m[at] = next() as u8,
                    1 if at < m.len() => {
                        m.remove(at);
                    }
                    2 => {
                        let f = fragments[(next() as usize) % fragments.len()];
                        m.splice(at..at, f.iter().copied());
                    }
                    _ => {
                        let end = (at + (next() as usize) % 32).min(m.len());
                        let dup = m[at..end].to_vec();
                        m.splice(at..at, dup);
                    }
                }
            }
            probe(&m, source, &trunks, &s.dids);
        }
    }
}
