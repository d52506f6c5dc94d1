//! Logged-in operators (and, in a book of their own, supervisors): in-memory sessions with an expiry, looked up by the SHA-256 of their
//! token (so lookup timing says nothing about the token itself), each with a cancellation token
//! that ends the signalling sessions opened with it at logout.

use crate::domain::Millis;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
struct Session {
    name: String,
    expires_at: Millis,
    /// Cancelled at logout, so the signalling sessions opened with this token end with it.
    ended: CancellationToken,
}

/// Logged-in operators; cheap to clone.
#[derive(Clone)]
pub struct OperatorSessions {
    by_token_sha256: Arc<Mutex<HashMap<String, Session>>>,
    ttl_ms: u64,
}

impl OperatorSessions {
    pub fn new(ttl_ms: u64) -> Self {
        Self {
            by_token_sha256: Arc::default(),
            ttl_ms,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Session>> {
        self.by_token_sha256
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// A new session for `name`; returns the token (shown once) and its expiry.
    pub fn open(&self, name: &str, now: Millis) -> (String, Millis) {
        let token = crate::auth::new_secret();
        let expires_at = now.saturating_add(self.ttl_ms);
        let mut map = self.lock();
        map.retain(|_, s| {
            let live = s.expires_at > now;
            if !live {
                s.ended.cancel();
            }
            live
        });
        map.insert(
            crate::auth::sha256_hex(&token),
            Session {
                name: name.to_owned(),
                expires_at,
                ended: CancellationToken::new(),
            },
        );
        (token, expires_at)
    }

    /// The operator's name when `token` is a live session.
    pub fn check(&self, token: &str, now: Millis) -> Option<(String, Millis)> {
        let map = self.lock();
        let s = map.get(&crate::auth::sha256_hex(token))?;
        (s.expires_at > now).then(|| (s.name.clone(), s.expires_at))
    }

    /// A token cancelled when the session `token` is logged out (`None`: no such session).
    pub fn ended(&self, token: &str) -> Option<CancellationToken> {
        let map = self.lock();
        map.get(&crate::auth::sha256_hex(token))
            .map(|s| s.ended.clone())
    }

    /// Logs the session out; its signalling sessions are told and closed.
    pub fn close(&self, token: &str) -> bool {
        let removed = self.lock().remove(&crate::auth::sha256_hex(token));
        match removed {
            Some(s) => {
                s.ended.cancel();
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_open_check_expire_and_close() {
        let s = OperatorSessions::new(1000);
        let (token, exp) = s.open("wang", 10);
        assert_eq!(exp, 1010);
        assert_eq!(s.check(&token, 500).map(|x| x.0), Some("wang".into()));
        assert_eq!(s.check(&token, 1010), None, "expired");
        assert_eq!(s.check("not-a-token", 500), None);
        let ended = s.ended(&token).expect("live session");
        assert!(!ended.is_cancelled());
        assert!(s.close(&token));
        assert!(ended.is_cancelled(), "logout ends the session's sockets");
        assert_eq!(s.check(&token, 500), None);
    }
}
