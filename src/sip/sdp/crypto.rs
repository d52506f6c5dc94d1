//! SDES keys (RFC 4568): the `a=crypto` lines of an RTP/SAVP audio section, and ours in the
//! answer. A line names a tag, a suite and `inline:` base64 of the master key and salt (30 bytes
//! for the AES-CM suites we take); lifetimes and MKIs after `|` are ignored, session parameters
//! refused (we cannot honour them).

use base64::Engine;

/// Bytes of an AES-CM-128 master key followed by its salt.
pub const KEY_SALT_LEN: usize = 30;

/// The SRTP suites a phone leg can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suite {
    AesCm128HmacSha1_80,
    AesCm128HmacSha1_32,
}

impl Suite {
    fn parse(name: &str) -> Option<Suite> {
        match name {
            "AES_CM_128_HMAC_SHA1_80" => Some(Suite::AesCm128HmacSha1_80),
            "AES_CM_128_HMAC_SHA1_32" => Some(Suite::AesCm128HmacSha1_32),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Suite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Suite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }
}

/// One usable `a=crypto` line of an offer.
#[derive(Clone, PartialEq, Eq)]
pub struct Crypto {
    pub tag: u32,
    pub suite: Suite,
    /// Master key then master salt.
    pub key_salt: [u8; KEY_SALT_LEN],
}

impl std::fmt::Debug for Crypto {
    // Keys never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crypto")
            .field("tag", &self.tag)
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

/// Reads the value of an `a=crypto:` attribute; `None` when its suite, key or parameters are
/// not ones we can use (the offer may have another line we can).
pub fn parse(value: &str) -> Option<Crypto> {
    let mut f = value.split_ascii_whitespace();
    let tag = f.next()?.parse().ok()?;
    let suite = Suite::parse(f.next()?)?;
    let key_params = f.next()?;
    if f.next().is_some() {
        // Session parameters (UNENCRYPTED_SRTP, KDR …) change the suite's meaning.
        return None;
    }
    // Several keys may be listed (`;`); the first is used.
    let first = key_params.split(';').next()?;
    let inline = first.strip_prefix("inline:")?;
    let b64 = inline.split('|').next()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(b64))
        .ok()?;
    let key_salt = <[u8; KEY_SALT_LEN]>::try_from(bytes.as_slice()).ok()?;
    Some(Crypto {
        tag,
        suite,
        key_salt,
    })
}

/// Our `a=crypto` line answering `offered`, with our own `key_salt`.
pub fn line(offered: &Crypto, key_salt: &[u8; KEY_SALT_LEN]) -> String {
    format!(
        "a=crypto:{} {} inline:{}\r\n",
        offered.tag,
        offered.suite.name(),
        base64::engine::general_purpose::STANDARD.encode(key_salt)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";

    #[test]
    fn an_aes_cm_line_gives_its_tag_suite_and_key() {
        let c = parse(&format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}|2^20|1:32")).unwrap();
        assert_eq!(c.tag, 1);
        assert_eq!(c.suite, Suite::AesCm128HmacSha1_80);
        assert_eq!(&c.key_salt[..4], b"YS__");
        let ours = line(&c, &[7; KEY_SALT_LEN]);
        assert!(ours.starts_with("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"));
        assert_eq!(
            parse(ours.trim_start_matches("a=crypto:").trim_end()).map(|c| c.key_salt),
            Some([7; KEY_SALT_LEN])
        );
    }

    #[test]
    fn lines_we_cannot_use_are_skipped() {
        for bad in [
            format!("1 AES_256_CM_HMAC_SHA1_80 inline:{KEY}"),
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY} UNENCRYPTED_SRTP"),
            "1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=".into(),
            "1 AES_CM_128_HMAC_SHA1_80 inline:!!!".into(),
            "x AES_CM_128_HMAC_SHA1_80".into(),
            String::new(),
        ] {
            assert_eq!(parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn keys_are_never_in_debug_output() {
        let c = parse(&format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}")).unwrap();
        assert!(!format!("{c:?}").contains("key"));
    }
}
