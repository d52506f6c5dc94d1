//! Telephone numbers at the edge: the called number picks the caller's language (the DID map),
//! and the caller's number is shown to operators only masked to its last digits. Pure functions.

use crate::domain::Language;
use std::collections::BTreeMap;

/// The digits of a SIP URI's user part (`+86 10-1234 5678` → `+861012345678`); `None` when it is
/// not a number (an anonymous or named caller).
pub fn normalize(user: &str) -> Option<String> {
    let user = user.split(';').next().unwrap_or("");
    let mut out = String::new();
    for (i, c) in user.chars().enumerate() {
        match c {
            '0'..='9' => out.push(c),
            '+' if i == 0 => out.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return None,
        }
    }
    out.bytes().any(|b| b.is_ascii_digit()).then_some(out)
}

/// The caller's number as operators see it (the same rule as an interpreter's number in logs,
/// `domain::mask_number`): `…` and its last digits (fewer for short numbers, so
/// at least half stays hidden); `anonymous` when there is no number.
pub fn mask(number: Option<&str>) -> String {
    number.map_or_else(|| "anonymous".to_owned(), crate::domain::mask_number)
}

/// The language the DID map gives a called number: an exact match, else one that differs only
/// by a leading `+`.
pub fn language_for(dids: &BTreeMap<String, Language>, called: Option<&str>) -> Option<Language> {
    let called = called?;
    if let Some(l) = dids.get(called) {
        return Some(*l);
    }
    let bare = called.trim_start_matches('+');
    dids.iter()
        .find(|(k, _)| k.trim_start_matches('+') == bare)
        .map(|(_, l)| *l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_normalized_and_names_are_not_numbers() {
        assert_eq!(
            normalize("+86 10-1234 5678").as_deref(),
            Some("+861012345678")
        );
        assert_eq!(
            normalize("12345001;phone-context=x").as_deref(),
            Some("12345001")
        );
        assert_eq!(normalize("anonymous"), None);
        assert_eq!(normalize(""), None);
        assert_eq!(normalize("+"), None);
    }

    #[test]
    fn the_console_sees_only_the_last_digits() {
        assert_eq!(mask(Some("+8613912345678")), "…5678");
        assert_eq!(mask(Some("123")), "…3");
        assert_eq!(mask(Some("1")), "…");
        assert_eq!(mask(None), "anonymous");
    }

    #[test]
    fn the_called_number_gives_the_language() {
        let en = Language::parse("en").unwrap();
        let pt = Language::parse("pt").unwrap();
        let dids = BTreeMap::from([("12345001".to_owned(), en), ("+8612345002".to_owned(), pt)]);
        assert_eq!(language_for(&dids, Some("12345001")), Some(en));
        assert_eq!(language_for(&dids, Some("8612345002")), Some(pt));
        assert_eq!(language_for(&dids, Some("999")), None);
        assert_eq!(language_for(&dids, None), None);
    }
}
