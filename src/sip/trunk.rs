//! Who may send us calls: the configured trunks, by source address and/or digest credentials
//! (RFC 3261 §22.4, MD5 with qop=auth; the nonce is an HMAC of its time, so no state is kept).
//! Decides only; answering (401, 403) is the edge's.

use crate::config::sip::{Cidr, SipSettings};
use hmac::{Hmac, Mac};
use rsipstack::dialog::authenticate::compute_digest;
use rsipstack::sip::headers::auth::{Algorithm, AuthQop};
use rsipstack::sip::Method;
use sha2::Sha256;
use std::net::IpAddr;
use subtle::ConstantTimeEq;

/// How long a nonce we issued is good for, in seconds (then the trunk is challenged again).
pub const NONCE_TTL_S: u64 = 300;
/// An Authorization header longer than this is not read.
const MAX_AUTHORIZATION_BYTES: usize = 2048;

struct Trunk {
    name: String,
    sources: Vec<Cidr>,
    username: String,
    password: String,
}

/// What to do with a request from a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// From trunk `.0`.
    Admit(String),
    /// Ask for digest credentials (401 with this `WWW-Authenticate` value).
    Challenge(String),
    /// 403, with the reason for the log (never told to the sender).
    Refuse(&'static str),
}

pub struct Trunks {
    trunks: Vec<Trunk>,
    realm: String,
    key: [u8; 32],
}

impl Trunks {
    pub fn new(s: &SipSettings) -> Self {
        Self {
            trunks: s
                .trunks
                .iter()
                .map(|(name, t)| Trunk {
                    name: name.clone(),
                    sources: t.cidrs(),
                    username: t.username.clone(),
                    password: t.password.clone(),
                })
                .collect(),
            realm: s.realm.clone(),
            key: rand::random(),
        }
    }

    /// Decides on a request `method` from `source` carrying `authorization` (the raw header).
    pub fn admit(
        &self,
        source: IpAddr,
        method: &Method,
        authorization: Option<&str>,
        now_s: u64,
    ) -> Admission {
        let candidates: Vec<&Trunk> = self
            .trunks
            .iter()
            .filter(|t| t.sources.is_empty() || t.sources.iter().any(|c| c.contains(source)))
            .collect();
        if candidates.is_empty() {
            return Admission::Refuse("source address is not a trunk's");
        }
        if let Some(t) = candidates.iter().find(|t| t.username.is_empty()) {
            return Admission::Admit(t.name.clone());
        }
        let Some(raw) = authorization else {
            return Admission::Challenge(self.challenge(now_s, false));
        };
        let Some(auth) = Credentials::parse(raw) else {
            return Admission::Refuse("unreadable Authorization header");
        };
        let Some(t) = candidates.iter().find(|t| t.username == auth.username) else {
            return Admission::Refuse("unknown digest username");
        };
        if auth.realm != self.realm {
            return Admission::Refuse("wrong digest realm");
        }
        match self.nonce_age(&auth.nonce, now_s) {
            None => return Admission::Refuse("a nonce we did not issue"),
            Some(age) if age > NONCE_TTL_S => {
                return Admission::Challenge(self.challenge(now_s, true))
            }
            Some(_) => {}
        }
        let qop = match (&auth.qop, &auth.cnonce, &auth.nc) {
            (Some(q), Some(cnonce), Some(nc)) if q == "auth" => {
                let Ok(nc) = u8::from_str_radix(nc, 16) else {
                    return Admission::Refuse("bad nonce count");
                };
                Some(AuthQop::Auth {
                    cnonce: cnonce.clone(),
                    nc,
                })
            }
            (None, _, _) => None,
            _ => return Admission::Refuse("unsupported qop"),
        };
        let expected = compute_digest(
            &t.username,
            &t.password,
            &self.realm,
            &auth.nonce,
            method,
            &auth.uri,
            Algorithm::Md5,
            qop.as_ref(),
        );
        if bool::from(expected.as_bytes().ct_eq(auth.response.as_bytes())) {
            Admission::Admit(t.name.clone())
        } else {
            Admission::Refuse("wrong digest credentials")
        }
    }

    /// A `WWW-Authenticate` value with a fresh nonce.
    fn challenge(&self, now_s: u64, stale: bool) -> String {
        let stale = if stale { ", stale=true" } else { "" };
        format!(
            "Digest realm=\"{}\", nonce=\"{}\", algorithm=MD5, qop=\"auth\"{stale}",
            self.realm,
            self.nonce(now_s)
        )
    }

    fn nonce(&self, now_s: u64) -> String {
        format!("{now_s:x}.{}", self.tag(now_s))
    }

    fn tag(&self, t: u64) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("any key length");
        mac.update(&t.to_be_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// How old a nonce we issued is; `None` when we did not issue it.
    fn nonce_age(&self, nonce: &str, now_s: u64) -> Option<u64> {
        let (t, tag) = nonce.split_once('.')?;
        let t = u64::from_str_radix(t, 16).ok()?;
        bool::from(self.tag(t).as_bytes().ct_eq(tag.as_bytes())).then(|| now_s.saturating_sub(t))
    }
}

/// The fields of a `Digest …` Authorization header we check.
#[derive(Debug, Default, PartialEq, Eq)]
struct Credentials {
    username: String,
    realm: String,
    nonce: String,
    uri: String,
    response: String,
    qop: Option<String>,
    cnonce: Option<String>,
    nc: Option<String>,
}

impl Credentials {
    fn parse(raw: &str) -> Option<Self> {
        if raw.len() > MAX_AUTHORIZATION_BYTES {
            return None;
        }
        let rest = raw.trim_start();
        let (scheme, params) = rest.split_once(char::is_whitespace)?;
        if !scheme.eq_ignore_ascii_case("digest") {
            return None;
        }
        let mut c = Credentials::default();
        for (k, v) in split_params(params)? {
            match k.to_ascii_lowercase().as_str() {
                "username" => c.username = v,
                "realm" => c.realm = v,
                "nonce" => c.nonce = v,
                "uri" => c.uri = v,
                "response" => c.response = v,
                "qop" => c.qop = Some(v),
                "cnonce" => c.cnonce = Some(v),
                "nc" => c.nc = Some(v),
                "algorithm" if !v.eq_ignore_ascii_case("md5") => return None,
                _ => {}
            }
        }
        (!c.username.is_empty() && !c.nonce.is_empty() && !c.response.is_empty()).then_some(c)
    }
}

/// `a="x, y", b=z` → [(a, "x, y"), (b, "z")]; `None` on an unterminated quote.
fn split_params(s: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Some(out);
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return None;
            }
        } else {
            value = chars.by_ref().take_while(|c| *c != ',').collect();
        }
        out.push((key.trim().to_owned(), value.trim().to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::sip::TrunkSettings;

    fn trunks() -> Trunks {
        let mut s = crate::config::Settings::from_toml_str("").unwrap().sip;
        s.trunks.insert(
            "pbx".into(),
            TrunkSettings {
                sources: vec!["192.0.2.0/24".into()],
                username: String::new(),
                password: String::new(),
                dial: String::new(),
            },
        );
        s.trunks.insert(
            "carrier".into(),
            TrunkSettings {
                sources: vec!["198.51.100.7".into()],
                username: "carrier".into(),
                password: "s3cret".into(),
                dial: String::new(),
            },
        );
        Trunks::new(&s)
    }

    fn authorization(t: &Trunks, nonce: &str, password: &str) -> String {
        let response = compute_digest(
            "carrier",
            password,
            &t.realm,
            nonce,
            &Method::Invite,
            "sip:12345001@bridge",
            Algorithm::Md5,
            Some(&AuthQop::Auth {
                cnonce: "abc".into(),
                nc: 1,
            }),
        );
        format!(
            "Digest username=\"carrier\", realm=\"{}\", nonce=\"{nonce}\", \
             uri=\"sip:12345001@bridge\", response=\"{response}\", algorithm=MD5, \
             qop=auth, cnonce=\"abc\", nc=00000001",
            t.realm
        )
    }

    fn nonce_of(challenge: &str) -> String {
        challenge
            .split("nonce=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn an_address_trunk_is_admitted_and_strangers_are_refused() {
        let t = trunks();
        let inv = Method::Invite;
        assert_eq!(
            t.admit("192.0.2.9".parse().unwrap(), &inv, None, 0),
            Admission::Admit("pbx".into())
        );
        assert!(matches!(
            t.admit("203.0.113.1".parse().unwrap(), &inv, None, 0),
            Admission::Refuse(_)
        ));
    }

    #[test]
    fn a_digest_trunk_is_challenged_then_admitted_with_the_right_password_only() {
        let t = trunks();
        let from: IpAddr = "198.51.100.7".parse().unwrap();
        let inv = Method::Invite;
        let Admission::Challenge(c) = t.admit(from, &inv, None, 1000) else {
            panic!("challenged first")
        };
        assert!(c.contains("qop=\"auth\""), "{c}");
        let nonce = nonce_of(&c);
        let good = authorization(&t, &nonce, "s3cret");
        assert_eq!(
            t.admit(from, &inv, Some(&good), 1010),
            Admission::Admit("carrier".into())
        );
        let bad = authorization(&t, &nonce, "guess");
        assert!(matches!(
            t.admit(from, &inv, Some(&bad), 1010),
            Admission::Refuse(_)
        ));
        let forged = authorization(&t, "3e8.00", "s3cret");
        assert!(matches!(
            t.admit(from, &inv, Some(&forged), 1010),
            Admission::Refuse(_)
        ));
        assert!(
            matches!(t.admit(from, &inv, Some(&good), 1000 + NONCE_TTL_S + 1), Admission::Challenge(c) if c.contains("stale=true")),
            "an old nonce is challenged again"
        );
    }

    #[test]
    fn authorization_headers_of_any_shape_never_panic() {
        let t = trunks();
        let from: IpAddr = "198.51.100.7".parse().unwrap();
        for raw in ["", "Digest", "Digest ,,,", "Digest username=\"x", "Basic abc", "Digest a=b=c, nc=zz",
            "Digest username=\"carrier\", nonce=\"x.y\", response=\"1\", qop=auth, nc=1ffffffff, cnonce=\"c\""] {
            assert!(matches!(t.admit(from, &Method::Invite, Some(raw), 0), Admission::Refuse(_) | Admission::Challenge(_)), "{raw}");
        }
    }
}
