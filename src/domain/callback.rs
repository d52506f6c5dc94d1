//! A caller's request to be called back, left instead of waiting longer for an operator: the
//! number as typed (checked: digits, `+`, spaces; 6–20 digits), the caller's language and a short
//! description, kept until an operator marks it done. The number is personal data: `Debug` and
//! `masked` show only its last digits, so logs never carry it. Plain data.

use super::{CallId, Language, Millis};
use serde::{Deserialize, Serialize};

/// Digits a number to call back has at least (a local extension-free number) …
pub const CALLBACK_MIN_DIGITS: usize = 6;
/// … and at most (an international number with a long trunk prefix).
pub const CALLBACK_MAX_DIGITS: usize = 20;
/// Longest description a caller may leave with the number (characters).
pub const CALLBACK_DESCRIPTION_MAX_CHARS: usize = 300;

/// A number the hotline may ring back: kept as the caller typed it, spaces tidied (one between
/// groups, none at the ends); operators see it whole, logs only `masked`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CallbackNumber(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CallbackNumberError {
    #[error("a number to call back is digits, an optional leading + and spaces")]
    Characters,
    #[error("a number to call back has {CALLBACK_MIN_DIGITS} to {CALLBACK_MAX_DIGITS} digits")]
    Length,
}

impl CallbackNumber {
    pub fn parse(typed: &str) -> Result<Self, CallbackNumberError> {
        let groups: Vec<&str> = typed.split_whitespace().collect();
        let joined = groups.join(" ");
        let body = joined.strip_prefix('+').unwrap_or(&joined);
        if !body.chars().all(|c| c.is_ascii_digit() || c == ' ') || body.starts_with(' ') {
            return Err(CallbackNumberError::Characters);
        }
        let digits = body.chars().filter(char::is_ascii_digit).count();
        if !(CALLBACK_MIN_DIGITS..=CALLBACK_MAX_DIGITS).contains(&digits) {
            return Err(CallbackNumberError::Length);
        }
        Ok(Self(joined))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Only the last digits, for logs.
    pub fn masked(&self) -> String {
        super::mask_number(&self.0.replace(' ', ""))
    }
}

impl std::fmt::Debug for CallbackNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CallbackNumber({})", self.masked())
    }
}

impl TryFrom<String> for CallbackNumber {
    type Error = CallbackNumberError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<CallbackNumber> for String {
    fn from(n: CallbackNumber) -> Self {
        n.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallbackStatus {
    Open,
    Done,
}

impl CallbackStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            CallbackStatus::Open => "open",
            CallbackStatus::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(CallbackStatus::Open),
            "done" => Some(CallbackStatus::Done),
            _ => None,
        }
    }
}

/// One request to be called back; a call leaves one at most, so the call's id names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CallbackRequest {
    #[schema(value_type = String)]
    pub call_id: CallId,
    #[schema(value_type = String)]
    pub number: CallbackNumber,
    /// The caller's language when known (ISO 639-1).
    #[schema(value_type = Option<String>)]
    pub language: Option<Language>,
    /// What the caller typed about their matter (may be empty).
    pub description: String,
    pub status: CallbackStatus,
    /// Unix ms.
    pub requested_at: Millis,
    pub done_at: Option<Millis>,
    /// The operator who marked it done.
    pub done_by: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_people_type_them_are_kept_with_tidy_spaces() {
        let n = CallbackNumber::parse("  +55 11  98765 4321 ").expect("number");
        assert_eq!(n.as_str(), "+55 11 98765 4321");
        assert_eq!(
            CallbackNumber::parse("123456").expect("6").as_str(),
            "123456"
        );
    }

    #[test]
    fn letters_dashes_and_a_plus_inside_are_refused() {
        for bad in [
            "12a456",
            "+55-11-9876",
            "55+119876543",
            "(11) 98765",
            "+ 5511987654",
        ] {
            assert_eq!(
                CallbackNumber::parse(bad),
                Err(CallbackNumberError::Characters),
                "{bad}"
            );
        }
    }

    #[test]
    fn fewer_than_six_or_more_than_twenty_digits_are_refused() {
        assert_eq!(
            CallbackNumber::parse("12345"),
            Err(CallbackNumberError::Length)
        );
        assert_eq!(CallbackNumber::parse(""), Err(CallbackNumberError::Length));
        assert_eq!(CallbackNumber::parse("+"), Err(CallbackNumberError::Length));
        let long = "1".repeat(21);
        assert_eq!(
            CallbackNumber::parse(&long),
            Err(CallbackNumberError::Length)
        );
        assert!(CallbackNumber::parse(&"1".repeat(20)).is_ok());
    }

    #[test]
    fn debug_shows_only_the_last_digits() {
        let n = CallbackNumber::parse("+55 11 98765 4321").expect("number");
        let shown = format!("{n:?}");
        assert!(!shown.contains("98765"), "{shown}");
        assert!(shown.contains("4321"), "{shown}");
    }
}
