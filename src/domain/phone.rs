//! How an interpreter can be rung: an E.164 phone number (personal data: `Debug` and `masked`
//! show only its last digits, so logs never carry it) and the ring preference. Plain data.

use serde::{Deserialize, Serialize};

/// Digits of a number logs and operators may see.
pub const SHOWN_DIGITS: usize = 4;
/// E.164 allows at most 15 digits; fewer than 8 is no international number anyone is rung on.
pub const MIN_DIGITS: usize = 8;
pub const MAX_DIGITS: usize = 15;

/// `+` and 8–15 digits, the first not 0 (a country code). Stored and sent to the interpreter's
/// university as it is; shown anywhere else only `masked`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneNumberError {
    #[error("must be an international number in E.164 form: + and {MIN_DIGITS}-{MAX_DIGITS} digits, e.g. +8613912345678")]
    Form,
}

impl PhoneNumber {
    /// Takes a number as people type it: `+86 139-1234 5678` and `+86 (139) 1234.5678` both
    /// become `+8613912345678`. Anything else than digits and those separators is refused.
    pub fn parse(typed: &str) -> Result<Self, PhoneNumberError> {
        let typed = typed.trim();
        let rest = typed.strip_prefix('+').ok_or(PhoneNumberError::Form)?;
        let mut out = String::with_capacity(MAX_DIGITS + 1);
        out.push('+');
        for c in rest.chars() {
            match c {
                '0'..='9' => out.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(PhoneNumberError::Form),
            }
        }
        let digits = out.len() - 1;
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits) || out.as_bytes()[1] == b'0' {
            return Err(PhoneNumberError::Form);
        }
        Ok(Self(out))
    }

    /// The whole number (`+8613912345678`): for the SIP request that dials it and the owning
    /// university's view, nowhere else.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `…5678`: what logs show.
    pub fn masked(&self) -> String {
        mask_number(&self.0)
    }
}

impl std::fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = PhoneNumberError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<PhoneNumber> for String {
    fn from(n: PhoneNumber) -> Self {
        n.0
    }
}

/// A number reduced to `…` and its last digits (fewer for short numbers, so at least half stays
/// hidden).
pub fn mask_number(n: &str) -> String {
    let digits: Vec<char> = n.chars().filter(char::is_ascii_digit).collect();
    let shown = SHOWN_DIGITS.min(digits.len() / 2);
    let tail: String = digits[digits.len() - shown..].iter().collect();
    format!("…{tail}")
}

/// Where an offer rings the interpreter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RingPreference {
    /// The interpreter console (browser) only.
    #[default]
    App,
    /// Their phone only, through the outbound trunk.
    Phone,
    /// The console when it is open on any node, else the phone.
    AppThenPhone,
}

impl RingPreference {
    /// `app`, `phone` or `app_then_phone`, case-insensitive.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "app" => Some(Self::App),
            "phone" => Some(Self::Phone),
            "app_then_phone" => Some(Self::AppThenPhone),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::App => "app",
            Self::Phone => "phone",
            Self::AppThenPhone => "app_then_phone",
        }
    }

    /// Whether this preference may ring a phone at all.
    pub fn uses_phone(self) -> bool {
        !matches!(self, Self::App)
    }

    pub fn is_app(&self) -> bool {
        matches!(self, Self::App)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_numbers_become_e164() {
        for typed in [
            "+8613912345678",
            " +86 139-1234 5678 ",
            "+86 (139) 1234.5678",
        ] {
            assert_eq!(
                PhoneNumber::parse(typed).map(|n| n.as_str().to_owned()),
                Ok("+8613912345678".to_owned()),
                "{typed:?}"
            );
        }
        assert!(PhoneNumber::parse("+12345678").is_ok());
        assert!(PhoneNumber::parse("+123456789012345").is_ok());
    }

    #[test]
    fn anything_but_an_international_number_is_refused() {
        for bad in [
            "",
            "8613912345678",
            "+",
            "+1234567",
            "+1234567890123456",
            "+0861391234567",
            "+86139123x5678",
            "+86139;user=phone",
            "sip:+8613912345678@evil",
            "++8613912345678",
        ] {
            assert_eq!(
                PhoneNumber::parse(bad),
                Err(PhoneNumberError::Form),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn logs_see_only_the_last_digits() {
        let n = PhoneNumber::parse("+8613912345678").expect("number");
        assert_eq!(n.masked(), "…5678");
        assert_eq!(format!("{n:?}"), "PhoneNumber(…5678)");
        assert_eq!(mask_number("123"), "…3");
        assert_eq!(mask_number(""), "…");
    }

    #[test]
    fn a_stored_number_is_checked_when_read_back() {
        let n: PhoneNumber = serde_json::from_str("\"+8613912345678\"").expect("number");
        assert_eq!(
            serde_json::to_string(&n).expect("json"),
            "\"+8613912345678\""
        );
        assert!(serde_json::from_str::<PhoneNumber>("\"12\"").is_err());
    }

    #[test]
    fn the_preference_is_app_unless_said_otherwise() {
        assert_eq!(RingPreference::default(), RingPreference::App);
        for p in [
            RingPreference::App,
            RingPreference::Phone,
            RingPreference::AppThenPhone,
        ] {
            assert_eq!(RingPreference::parse(p.as_str()), Some(p));
            let json = serde_json::to_string(&p).expect("json");
            assert_eq!(json, format!("\"{}\"", p.as_str()));
        }
        assert_eq!(RingPreference::parse("fax"), None);
        assert!(!RingPreference::App.uses_phone());
        assert!(RingPreference::AppThenPhone.uses_phone());
    }
}
