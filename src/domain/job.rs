//! What an interpreted call carries for its interpreter: a job number the operator and the
//! interpreter both see and can say aloud ("job 482-913"), and the operator's one-line private
//! brief, read by the ringing interpreter before accepting (never by the caller).

use super::{check_display_text, CallId, DisplayTextError};

/// The longest brief, in characters: one line on a phone's screen.
pub const BRIEF_MAX_CHARS: usize = 140;

/// The call's job number: six digits, the same on every node because it is derived from the
/// call's id (FNV-1a), not counted, so nothing has to be shared to agree on it. Two calls may
/// share one now and then; it names a call in conversation, the call id stays the key.
pub fn job_number(call: &CallId) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in call.as_str().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let n = h % 1_000_000;
    format!("{:03}-{:03}", n / 1000, n % 1000)
}

/// Why a brief was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BriefError {
    #[error("the brief is longer than {BRIEF_MAX_CHARS} characters")]
    TooLong,
    #[error("the brief {0}")]
    Text(DisplayTextError),
}

/// The brief as kept: trimmed; `None` when empty (no brief). One line of display text.
pub fn check_brief(text: &str) -> Result<Option<String>, BriefError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if t.chars().count() > BRIEF_MAX_CHARS {
        return Err(BriefError::TooLong);
    }
    check_display_text(t).map_err(BriefError::Text)?;
    Ok(Some(t.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> CallId {
        CallId::parse(s).expect("call id")
    }

    #[test]
    fn a_job_number_is_six_digits_and_the_same_for_the_same_call() {
        let a = job_number(&id("cffbb451a2a47f48efdd3a9f29822390"));
        assert_eq!(a.len(), 7, "{a}");
        assert!(
            a.chars()
                .enumerate()
                .all(|(i, c)| if i == 3 { c == '-' } else { c.is_ascii_digit() }),
            "{a}"
        );
        assert_eq!(a, job_number(&id("cffbb451a2a47f48efdd3a9f29822390")));
        // Calls differ: over a thousand random calls, almost all numbers differ.
        let numbers: std::collections::HashSet<String> =
            (0..1000).map(|_| job_number(&CallId::random())).collect();
        assert!(numbers.len() > 990, "{} distinct of 1000", numbers.len());
    }

    #[test]
    fn a_brief_is_one_trimmed_line_of_at_most_140_characters() {
        assert_eq!(check_brief("  "), Ok(None));
        assert_eq!(
            check_brief(" 行李丢失，机场已联系 "),
            Ok(Some("行李丢失，机场已联系".into()))
        );
        assert_eq!(
            check_brief(&"字".repeat(140)).map(|b| b.map(|s| s.chars().count())),
            Ok(Some(140))
        );
        assert_eq!(check_brief(&"字".repeat(141)), Err(BriefError::TooLong));
        assert_eq!(
            check_brief("two\nlines"),
            Err(BriefError::Text(DisplayTextError::Control))
        );
    }
}
