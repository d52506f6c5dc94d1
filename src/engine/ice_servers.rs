//! ICE servers handed to the pages: the configured STUN/TURN URLs with time-limited TURN
//! credentials in the shared-secret scheme coturn implements ("TURN REST API"):
//! username = `<expiry unix seconds>:<id>`, credential = base64(HMAC-SHA1(secret, username)).
//! Pure: the time is passed in; the secret never leaves this function except as the HMAC.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// One entry of `RTCConfiguration.iceServers`, serialized as the browser expects it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// `RTCConfiguration.iceTransportPolicy` for the pages: `relay` when media may only go through
/// the TURN servers (`media.turn_relay_only`), else `all`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IceTransportPolicy {
    #[default]
    All,
    Relay,
}

impl IceTransportPolicy {
    pub fn relay_only(relay: bool) -> Self {
        if relay {
            Self::Relay
        } else {
            Self::All
        }
    }
}

/// The ICE servers for one client `id` (a participant or call id; it names the credential in the
/// TURN server's logs). No URLs: none. No secret: the URLs without credentials (STUN only).
pub fn ice_servers(
    urls: &[String],
    secret: &str,
    ttl_s: u64,
    id: &str,
    now_unix_s: u64,
) -> Vec<IceServer> {
    if urls.is_empty() {
        return Vec::new();
    }
    let (username, credential) = if secret.is_empty() {
        (None, None)
    } else {
        let username = format!("{}:{id}", now_unix_s.saturating_add(ttl_s));
        let credential = turn_credential(secret, &username);
        (Some(username), Some(credential))
    };
    vec![IceServer {
        urls: urls.to_vec(),
        username,
        credential,
    }]
}

/// base64(HMAC-SHA1(secret, username)), coturn's `static-auth-secret` scheme.
pub fn turn_credential(secret: &str, username: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turn_credentials_follow_the_coturn_shared_secret_scheme() {
        // Reference value from Python: base64(hmac.new(b"north-secret", b"1700003600:abc", sha1)).
        let servers = ice_servers(
            &["turn:turn.example.org:3478".into()],
            "north-secret",
            3_600,
            "abc",
            1_700_000_000,
        );
        assert_eq!(
            servers,
            vec![IceServer {
                urls: vec!["turn:turn.example.org:3478".into()],
                username: Some("1700003600:abc".into()),
                credential: Some("/97bjAUmowpwrR5ByMavY5hIXzc=".into()),
            }]
        );
        let json = serde_json::to_value(&servers[0]).expect("json");
        assert_eq!(json["username"], "1700003600:abc");
    }

    #[test]
    fn without_urls_there_are_no_servers_and_without_a_secret_no_credentials() {
        assert!(ice_servers(&[], "s", 60, "abc", 0).is_empty());
        let stun = ice_servers(&["stun:stun.example.org".into()], "", 60, "abc", 0);
        assert_eq!(stun[0].username, None);
        assert_eq!(stun[0].credential, None);
        let json = serde_json::to_string(&stun[0]).expect("json");
        assert_eq!(json, r#"{"urls":["stun:stun.example.org"]}"#);
    }
}
