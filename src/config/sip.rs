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
}

/// One trunk: calls are taken from it when they come from one of `sources` (any source when
/// empty) and, when `username` is set, carry its digest credentials.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        ];
        for (toml, key) in cases {
            let e = load(toml).expect_err(toml).to_string();
            assert!(e.contains(key), "{toml:?}: {e}");
        }
    }
}
