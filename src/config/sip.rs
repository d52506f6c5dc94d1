//! `[sip]`: the SIP edge for the hotline's trunks (PBX or carrier SBC). Plain settings and their
//! checks; the edge itself is `crate::sip`. Passwords come from the environment, never a file.

use super::{invalid, ConfigError, LanguageSettings};
use crate::domain::Language;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipSettings {
    /// Off by default: the service then opens no SIP port.
    pub enabled: bool,
    pub listen_udp: SocketAddr,
    /// Port 0 = no TCP listener.
    pub listen_tcp: SocketAddr,
    /// The address put in Contact and in the SDP `c=` line: where the trunk reaches this node.
    pub public_ip: IpAddr,
    /// RTP sockets for phone legs are bound from this inclusive range (one port per leg).
    pub rtp_port_min: u16,
    pub rtp_port_max: u16,
    /// A phone leg whose RTP stops for this many seconds is treated as dropped (the caller
    /// leaves, the bridge sends BYE).
    pub rtp_timeout_s: u64,
    /// A caller whose number gives no language hears the language menu; no key this many
    /// seconds after it ends plays it once more, then the call waits with its language unknown.
    pub menu_timeout_s: u64,
    /// The digest realm offered in challenges.
    pub realm: String,
    /// INVITEs one source address may send per minute, and the burst allowed at once.
    pub invites_per_minute: u32,
    pub invite_burst: u32,
    /// Called number (DID) → the caller's language.
    #[serde(default)]
    pub dids: BTreeMap<String, Language>,
    #[serde(default)]
    pub trunks: BTreeMap<String, TrunkSettings>,
    /// The trunk interpreters' phones are rung through (its `dial` address); empty = the bridge
    /// rings no phones and refuses interpreters who ask to be rung by phone.
    #[serde(default)]
    pub outbound_trunk: String,
}

/// Where and how the bridge rings interpreters' phones: the outbound trunk's address and the
/// digest credentials it answers the trunk's challenges with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    pub trunk: String,
    /// `host:port` the INVITE is sent to.
    pub dial: String,
    pub username: String,
    pub password: String,
}

/// One trunk: calls are taken from it when they come from one of `sources` (any source when
/// empty) and, when `username` is set, carry its digest credentials.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrunkSettings {
    /// Addresses or CIDR blocks (`192.0.2.10`, `198.51.100.0/24`, `2001:db8::/32`).
    #[serde(default)]
    pub sources: Vec<String>,
    #[serde(default)]
    pub username: String,
    /// From the environment: `HOTLINE__SIP__TRUNKS__<NAME>__PASSWORD`.
    #[serde(default, skip_serializing)]
    pub password: String,
    /// `host:port` where calls to interpreters' phones are sent when this is the
    /// `outbound_trunk`; the username and password above answer its digest challenges.
    #[serde(default)]
    pub dial: String,
}

impl std::fmt::Debug for TrunkSettings {
    // Settings are printed in logs and test failures: the password never is.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let password = if self.password.is_empty() {
            ""
        } else {
            "(set)"
        };
        f.debug_struct("TrunkSettings")
            .field("sources", &self.sources)
            .field("username", &self.username)
            .field("password", &password)
            .field("dial", &self.dial)
            .finish()
    }
}

/// An address block: an address and how many leading bits must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    bits: u8,
}

impl Cidr {
    /// `192.0.2.1` (one address) or `192.0.2.0/24`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (a, bits) = match s.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR block"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            None => max,
            Some(b) => b
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|b| *b <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0..={max}"))?,
        };
        Ok(Self { addr, bits })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            _ => ip,
        };
        match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => prefix_eq(&a.octets(), &b.octets(), self.bits),
            (IpAddr::V6(a), IpAddr::V6(b)) => prefix_eq(&a.octets(), &b.octets(), self.bits),
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let full = usize::from(bits / 8);
    let rest = bits % 8;
    if a[..full] != b[..full] {
        return false;
    }
    rest == 0 || (a[full] ^ b[full]) >> (8 - rest) == 0
}

impl TrunkSettings {
    /// The parsed `sources` (checked by `validate`, so bad entries are skipped here).
    pub fn cidrs(&self) -> Vec<Cidr> {
        self.sources
            .iter()
            .filter_map(|s| Cidr::parse(s).ok())
            .collect()
    }
}

impl SipSettings {
    /// The outbound trunk, when SIP is on and one is named: the only way the bridge dials.
    pub fn outbound(&self) -> Option<Outbound> {
        if !self.enabled || self.outbound_trunk.is_empty() {
            return None;
        }
        let t = self.trunks.get(&self.outbound_trunk)?;
        Some(Outbound {
            trunk: self.outbound_trunk.clone(),
            dial: t.dial.clone(),
            username: t.username.clone(),
            password: t.password.clone(),
        })
    }

    /// Why interpreters cannot be rung by phone here; `None` when they can.
    pub fn why_no_phones(&self) -> Option<&'static str> {
        if self.outbound().is_some() {
            None
        } else {
            Some(
                "this hotline rings no phones: it has no outbound trunk \
                 (set sip.enabled = true and sip.outbound_trunk)",
            )
        }
    }

    pub fn validate(&self, languages: &LanguageSettings) -> Result<(), ConfigError> {
        if self.rtp_port_min == 0 || self.rtp_port_min > self.rtp_port_max {
            return Err(invalid(
                "sip.rtp_port_min",
                "must be above 0 and at most sip.rtp_port_max",
            ));
        }
        if self.enabled && !cfg!(feature = "phone-audio") {
            return Err(invalid(
                "sip.enabled",
                "phone calls need audio: build with `--features phone-audio` (needs cmake) \
                 or set sip.enabled = false",
            ));
        }
        if self.rtp_timeout_s == 0 {
            return Err(invalid("sip.rtp_timeout_s", "must be above 0"));
        }
        if self.menu_timeout_s == 0 {
            return Err(invalid("sip.menu_timeout_s", "must be above 0"));
        }
        if self.listen_udp.port() == 0 && self.enabled {
            return Err(invalid("sip.listen_udp", "needs a port (e.g. 5060)"));
        }
        if self.realm.trim().is_empty() {
            return Err(invalid("sip.realm", "must not be empty"));
        }
        if self.invites_per_minute == 0 || self.invite_burst == 0 {
            return Err(invalid(
                "sip.invites_per_minute",
                "and sip.invite_burst must be above 0",
            ));
        }
        let known = languages.all();
        for (number, lang) in &self.dids {
            let digits = number.strip_prefix('+').unwrap_or(number);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(
                    &format!("sip.dids.{number}"),
                    "a called number is digits, optionally after a +",
                ));
            }
            if !known.contains(lang) {
                return Err(invalid(
                    &format!("sip.dids.{number}"),
                    format!("{lang} is not a language of [languages]"),
                ));
            }
        }
        for (name, t) in &self.trunks {
            for s in &t.sources {
                Cidr::parse(s).map_err(|p| invalid(&format!("sip.trunks.{name}.sources"), p))?;
            }
            if t.sources.is_empty() && t.username.is_empty() {
                return Err(invalid(
                    &format!("sip.trunks.{name}"),
                    "give sources, a username, or both (a trunk open to anyone is refused)",
                ));
            }
            if !t.dial.is_empty() {
                check_dial(&t.dial).map_err(|m| invalid(&format!("sip.trunks.{name}.dial"), m))?;
            }
            if self.enabled && !t.username.is_empty() && t.password.is_empty() {
                return Err(invalid(
                    &format!("sip.trunks.{name}.password"),
                    format!(
                        "is empty: set it from the environment, HOTLINE__SIP__TRUNKS__{}__PASSWORD",
                        name.to_ascii_uppercase()
                    ),
                ));
            }
        }
        if !self.outbound_trunk.is_empty() {
            let key = "sip.outbound_trunk";
            let Some(t) = self.trunks.get(&self.outbound_trunk) else {
                return Err(invalid(
                    key,
                    format!(
                        "names no trunk: {:?} is not in [sip.trunks]",
                        self.outbound_trunk
                    ),
                ));
            };
            if t.dial.is_empty() {
                return Err(invalid(
                    key,
                    format!(
                        "trunk {:?} has no dial address: set sip.trunks.{}.dial = \"host:port\"",
                        self.outbound_trunk, self.outbound_trunk
                    ),
                ));
            }
            if !self.enabled {
                return Err(invalid(key, "needs sip.enabled = true"));
            }
        }
        Ok(())
    }
}

/// `host:port`, `[v6]:port`: a host of letters, digits, dots and dashes (or an address) and a
/// port above 0. Nothing that could carry a URI parameter or a second address.
fn check_dial(dial: &str) -> Result<(), String> {
    let bad = || format!("{dial:?} must be host:port, e.g. \"sbc.example.net:5060\"");
    if let Ok(a) = dial.parse::<SocketAddr>() {
        return if a.port() > 0 { Ok(()) } else { Err(bad()) };
    }
    let (host, port) = dial.rsplit_once(':').ok_or_else(bad)?;
    let port_ok = port.parse::<u16>().is_ok_and(|p| p > 0);
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if port_ok && host_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trunk_password_never_shows_in_debug_output() {
        let trunk = TrunkSettings {
            sources: vec!["192.0.2.10".into()],
            username: "pbx".into(),
            password: "s3cret-trunk-pass".into(),
            dial: "192.0.2.10:5060".into(),
        };
        let shown = format!("{trunk:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("(set)") && shown.contains("pbx"), "{shown}");
    }

    #[test]
    fn cidr_blocks_contain_their_addresses_only() {
        let c = Cidr::parse("198.51.100.0/24").unwrap();
        assert!(c.contains("198.51.100.77".parse().unwrap()));
        assert!(!c.contains("198.51.101.1".parse().unwrap()));
        assert!(c.contains("::ffff:198.51.100.9".parse().unwrap()));
        let one = Cidr::parse("127.0.0.1").unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        let odd = Cidr::parse("10.0.0.0/9").unwrap();
        assert!(odd.contains("10.127.0.1".parse().unwrap()));
        assert!(!odd.contains("10.128.0.1".parse().unwrap()));
        assert!(Cidr::parse("2001:db8::/32")
            .unwrap()
            .contains("2001:db8::5".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("203.0.113.1".parse().unwrap()));
    }

    #[test]
    fn bad_blocks_are_named() {
        assert!(Cidr::parse("pbx.example").is_err());
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("10.0.0.0/x").is_err());
    }

    fn load(toml: &str) -> Result<crate::config::Settings, ConfigError> {
        crate::config::Settings::from_toml_str(toml)
    }

    #[test]
    fn sip_is_off_by_default_and_a_trunk_with_a_did_map_loads() {
        let s = load("").unwrap();
        assert!(!s.sip.enabled);
        let s = load(
            "[sip]\nenabled = true\n[sip.dids]\n12345001 = \"en\"\n\
             [sip.trunks.pbx]\nsources = [\"127.0.0.1\"]\n",
        )
        .unwrap();
        assert_eq!(s.sip.dids["12345001"].to_string(), "en");
        assert_eq!(s.sip.trunks["pbx"].cidrs().len(), 1);
        assert_eq!(s.sip.outbound(), None);
        assert!(s.sip.why_no_phones().is_some());
    }

    #[test]
    fn the_outbound_trunk_is_named_with_its_dial_address() {
        let s = load(
            "[sip]\nenabled = true\noutbound_trunk = \"carrier\"\n\
             [sip.trunks.carrier]\nsources = [\"192.0.2.10\"]\ndial = \"sbc.example.net:5060\"\n",
        )
        .unwrap();
        let out = s.sip.outbound().expect("outbound");
        assert_eq!(out.dial, "sbc.example.net:5060");
        assert_eq!(out.trunk, "carrier");
        assert_eq!(s.sip.why_no_phones(), None);
        assert!(check_dial("[::1]:5060").is_ok());
        assert!(check_dial("192.0.2.10").is_err());
    }

    #[test]
    fn bad_sip_settings_are_refused_naming_the_key() {
        let cases = [
            (
                "[sip.trunks.pbx]\nsources = [\"pbx.example\"]",
                "sip.trunks.pbx.sources",
            ),
            ("[sip.trunks.open]\n", "sip.trunks.open"),
            (
                "[sip]\nenabled = true\n[sip.trunks.pbx]\nusername = \"pbx\"",
                "sip.trunks.pbx.password",
            ),
            ("[sip.dids]\n12x = \"en\"", "sip.dids.12x"),
            ("[sip.dids]\n123 = \"sv\"", "sip.dids.123"),
            (
                "[sip]\nrtp_port_min = 50000\nrtp_port_max = 40000",
                "sip.rtp_port_min",
            ),
            (
                "[sip]\noutbound_trunk = \"carrier\"\n[sip.trunks.pbx]\nsources = [\"127.0.0.1\"]",
                "sip.outbound_trunk",
            ),
            (
                "[sip]\noutbound_trunk = \"pbx\"\n[sip.trunks.pbx]\nsources = [\"127.0.0.1\"]",
                "sip.outbound_trunk",
            ),
            (
                "[sip.trunks.pbx]\nsources = [\"127.0.0.1\"]\ndial = \"sip:x@y;maddr=z\"",
                "sip.trunks.pbx.dial",
            ),
            (
                "[sip.trunks.pbx]\nsources = [\"127.0.0.1\"]\ndial = \"127.0.0.1:0\"",
                "sip.trunks.pbx.dial",
            ),
        ];
        for (toml, key) in cases {
            let e = load(toml).expect_err(toml).to_string();
            assert!(e.contains(key), "{toml:?}: {e}");
        }
    }
}
