//! Secrets: random tokens, their SHA-256 digests, constant-time comparison, argon2 for passwords.
//! High-entropy random tokens and API keys are stored as SHA-256 (a slow hash adds nothing to
//! 128+ random bits); human-chosen operator passwords as argon2.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Bytes of randomness in every token and key we issue.
pub const TOKEN_BYTES: usize = 24;

/// A fresh URL-safe random secret (192 bits).
pub fn new_secret() -> String {
    let bytes: [u8; TOKEN_BYTES] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` hashes to `expected_hex`, compared in constant time.
pub fn matches_sha256(secret: &str, expected_hex: &str) -> bool {
    let actual = sha256_hex(secret);
    actual.len() == expected_hex.len()
        && bool::from(
            actual
                .as_bytes()
                .ct_eq(expected_hex.to_ascii_lowercase().as_bytes()),
        )
}

pub fn argon2_hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Verifies a password against an argon2 PHC string (the library compares in constant time).
pub fn argon2_verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// The secret from an `Authorization: Bearer <secret>` header value.
pub fn bearer(header: Option<&str>) -> Option<&str> {
    let v = header?.trim();
    let (scheme, rest) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_match_only_their_own_hash() {
        let a = new_secret();
        let b = new_secret();
        assert_ne!(a, b);
        assert!(a.len() >= 32);
        assert!(matches_sha256(&a, &sha256_hex(&a)));
        assert!(!matches_sha256(&b, &sha256_hex(&a)));
        assert!(!matches_sha256(&a, "short"));
    }

    #[test]
    fn argon2_round_trip() {
        let phc = argon2_hash("correct horse").expect("hash");
        assert!(argon2_verify("correct horse", &phc));
        assert!(!argon2_verify("wrong", &phc));
        assert!(!argon2_verify("x", "not a phc"));
    }

    #[test]
    fn bearer_header_parsing() {
        assert_eq!(bearer(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer(Some("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(Some("Basic abc")), None);
        assert_eq!(bearer(Some("Bearer ")), None);
        assert_eq!(bearer(None), None);
    }
}
