//! `Language`: an ISO 639-1 code such as `pt`. Which languages the hotline serves is configuration;
//! this type only knows the shape of a code.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("language must be a two-letter ISO 639-1 code such as \"pt\" (got {0:?})")]
pub struct LanguageError(pub String);

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Language([u8; 2]);

impl Language {
    /// Parses `pt`; case-insensitive, surrounding white space ignored.
    pub fn parse(s: &str) -> Result<Self, LanguageError> {
        let t = s.trim().as_bytes();
        match t {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Ok(Self([a.to_ascii_lowercase(), b.to_ascii_lowercase()]))
            }
            _ => Err(LanguageError(s.chars().take(40).collect())),
        }
    }

    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl TryFrom<String> for Language {
    type Error = LanguageError;
    fn try_from(s: String) -> Result<Self, LanguageError> {
        Self::parse(&s)
    }
}

impl From<Language> for String {
    fn from(l: Language) -> String {
        l.as_str().to_owned()
    }
}

impl std::str::FromStr for Language {
    type Err = LanguageError;
    fn from_str(s: &str) -> Result<Self, LanguageError> {
        Self::parse(s)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_normalised_to_lower_case() {
        assert_eq!(
            Language::parse(" PT ").map(|l| l.to_string()),
            Ok("pt".into())
        );
    }

    #[test]
    fn anything_but_two_letters_is_rejected() {
        for bad in ["", "p", "por", "p1", "é"] {
            assert!(Language::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
