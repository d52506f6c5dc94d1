//! A case: the hotline's record of the caller's matter, opened when an operator takes a call and
//! kept after it: a short number told to the caller, the operator's notes, a category, the
//! department it was passed to, a status that only moves forward, and follow-up entries. Plain
//! data and the rules on it (number format, status transitions, field limits); no I/O.

use super::{CallId, InterpreterId, Language, Millis};
use chrono::TimeZone;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Digits of the day part of a case number (YYMMDD).
const DAY_DIGITS: usize = 6;
/// Digits of the sequence part at least (zero-padded); it grows past 9999 cases a day.
const SEQ_DIGITS: usize = 4;
/// Longest sequence part accepted when parsing (a typed number is never longer).
const SEQ_DIGITS_MAX: usize = 7;
/// Longest notes, follow-up text, category and department, in characters.
pub const NOTES_MAX_CHARS: usize = 4000;
pub const FOLLOW_UP_MAX_CHARS: usize = 2000;
pub const LABEL_MAX_CHARS: usize = 80;

/// A case number: the day it was opened in the hotline's time zone (YYMMDD) and that day's
/// sequence, `261204-0017`; ten digits read out on the phone. Parsed leniently from what a
/// caller types (spaces, dashes or none), always shown in the one canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CaseNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a case number is 10 digits like 261204-0017 (got {0:?})")]
pub struct CaseNumberError(pub String);

impl CaseNumber {
    /// The `seq`-th case (from 1) of `day` (YYMMDD, as `day_of` gives).
    pub fn new(day: &str, seq: u64) -> Result<Self, CaseNumberError> {
        Self::parse(&format!("{day}-{seq:0SEQ_DIGITS$}"))
    }

    pub fn parse(s: &str) -> Result<Self, CaseNumberError> {
        let bad = || CaseNumberError(s.chars().take(40).collect());
        if s.len() > 40 {
            return Err(bad());
        }
        let digits: String = s
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.'))
            .collect();
        if !digits.bytes().all(|b| b.is_ascii_digit())
            || !(DAY_DIGITS + SEQ_DIGITS..=DAY_DIGITS + SEQ_DIGITS_MAX).contains(&digits.len())
        {
            return Err(bad());
        }
        let (day, seq) = digits.split_at(DAY_DIGITS);
        Ok(Self(format!("{day}-{seq}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its digits, in order, as a phone prompt reads them.
    pub fn digits(&self) -> impl Iterator<Item = u8> + '_ {
        self.0.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0')
    }

    /// The day part of numbers opened at `now` in `tz`: YYMMDD.
    pub fn day_of(now: Millis, tz: Tz) -> String {
        let at = i64::try_from(now).unwrap_or(i64::MAX);
        match tz.timestamp_millis_opt(at).single() {
            Some(t) => t.format("%y%m%d").to_string(),
            None => "000000".into(),
        }
    }
}

impl fmt::Display for CaseNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CaseNumber {
    type Error = CaseNumberError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<CaseNumber> for String {
    fn from(n: CaseNumber) -> String {
        n.0
    }
}

/// Where a case stands. It only moves forward: open → passed on → resolved (an operator who
/// settles the matter on the call goes from open to resolved).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    Open,
    /// Handed to a department (named in the case) to act on.
    PassedOn,
    Resolved,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseRuleError {
    #[error("a case cannot go from {from} back to {to}: open → passed_on → resolved")]
    Transition { from: CaseStatus, to: CaseStatus },
    #[error("a case is passed on to a department: name the department")]
    NoDepartment,
}

impl CaseStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Open => "open",
            CaseStatus::PassedOn => "passed_on",
            CaseStatus::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(CaseStatus::Open),
            "passed_on" => Some(CaseStatus::PassedOn),
            "resolved" => Some(CaseStatus::Resolved),
            _ => None,
        }
    }

    fn rank(self) -> u8 {
        match self {
            CaseStatus::Open => 0,
            CaseStatus::PassedOn => 1,
            CaseStatus::Resolved => 2,
        }
    }

    /// Whether a case may go from `self` to `to`: forward, or staying where it is.
    pub fn check(self, to: CaseStatus) -> Result<(), CaseRuleError> {
        if to.rank() >= self.rank() {
            Ok(())
        } else {
            Err(CaseRuleError::Transition { from: self, to })
        }
    }
}

impl fmt::Display for CaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A case as it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub number: CaseNumber,
    /// The call that opened it.
    pub call_id: CallId,
    /// The caller's language (the number is told to them in it).
    pub language: Option<Language>,
    /// The operator who opened it.
    pub operator: String,
    /// The operator's notes (in Chinese, as they are kept).
    pub notes: String,
    pub category: String,
    /// The department it was passed to; empty until passed on.
    pub department: String,
    pub status: CaseStatus,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// Who changed it last.
    pub updated_by: String,
}

/// An entry added to a case after it was opened (what was done, what the caller was told).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    pub author: String,
    pub text: String,
    pub at: Millis,
}

/// A call that belongs to a case: the one that opened it, or a later one from a caller who gave
/// its number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseCall {
    pub call_id: CallId,
    pub linked_at: Millis,
    /// Whether this call opened the case (false: a later call linked to it).
    pub opened: bool,
}

/// A case with everything that hangs on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseFile {
    #[serde(flatten)]
    pub case: Case,
    /// Oldest first.
    pub follow_ups: Vec<FollowUp>,
    /// Oldest first.
    pub calls: Vec<CaseCall>,
    /// Interpreters who served its calls, the most recent first, each once (from the record of
    /// ended calls).
    pub interpreters: Vec<InterpreterId>,
}

/// An operator's change to a case: each field given replaces the stored one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseEdit {
    pub notes: Option<String>,
    pub category: Option<String>,
    pub department: Option<String>,
    pub status: Option<CaseStatus>,
}

impl CaseEdit {
    /// Applies the edit to `case` if the rules allow it (forward status; passing on names a
    /// department). Does not touch the times or the author.
    pub fn apply(&self, case: &mut Case) -> Result<(), CaseRuleError> {
        let department = self.department.as_ref().unwrap_or(&case.department);
        if let Some(to) = self.status {
            case.status.check(to)?;
            if to == CaseStatus::PassedOn && department.trim().is_empty() {
                return Err(CaseRuleError::NoDepartment);
            }
        }
        if let Some(n) = &self.notes {
            case.notes = n.clone();
        }
        if let Some(c) = &self.category {
            case.category = c.trim().to_owned();
        }
        if let Some(d) = &self.department {
            case.department = d.trim().to_owned();
        }
        if let Some(s) = self.status {
            case.status = s;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_number_is_read_from_what_a_caller_types_and_shown_one_way() {
        for typed in [
            "261204-0017",
            "2612040017",
            "261204 0017",
            " 26-12-04-00-17 ",
        ] {
            assert_eq!(
                CaseNumber::parse(typed).map(|n| n.to_string()),
                Ok("261204-0017".into()),
                "{typed}"
            );
        }
        for bad in [
            "",
            "261204",
            "26120400",
            "261204-00a7",
            "261204-001234567",
            "١٢٣٤٥٦٧٨٩٠",
        ] {
            assert!(CaseNumber::parse(bad).is_err(), "{bad}");
        }
        let n = CaseNumber::new("261204", 17).expect("number");
        assert_eq!(n.as_str(), "261204-0017");
        assert_eq!(
            n.digits().collect::<Vec<_>>(),
            [2, 6, 1, 2, 0, 4, 0, 0, 1, 7]
        );
        assert_eq!(
            CaseNumber::new("261204", 123_456).map(|n| n.to_string()),
            Ok("261204-123456".into())
        );
    }

    #[test]
    fn the_day_part_is_the_hotline_s_date_not_utc() {
        // 2026-12-04 17:00 UTC is already 5 December in Beijing.
        let at = 1_796_403_600_000;
        assert_eq!(CaseNumber::day_of(at, chrono_tz::UTC), "261204");
        assert_eq!(CaseNumber::day_of(at, chrono_tz::Asia::Shanghai), "261205");
    }

    #[test]
    fn a_status_only_moves_forward() {
        use CaseStatus::*;
        for (from, to) in [
            (Open, PassedOn),
            (Open, Resolved),
            (PassedOn, Resolved),
            (Open, Open),
        ] {
            assert_eq!(from.check(to), Ok(()), "{from} -> {to}");
        }
        for (from, to) in [(Resolved, Open), (Resolved, PassedOn), (PassedOn, Open)] {
            assert_eq!(
                from.check(to),
                Err(CaseRuleError::Transition { from, to }),
                "{from} -> {to}"
            );
        }
    }

    #[test]
    fn passing_on_needs_a_department_and_a_refused_edit_changes_nothing() {
        let mut case = Case {
            number: CaseNumber::new("261204", 1).expect("n"),
            call_id: CallId::parse("c1").expect("id"),
            language: None,
            operator: "wang".into(),
            notes: String::new(),
            category: String::new(),
            department: String::new(),
            status: CaseStatus::Open,
            created_at: 1,
            updated_at: 1,
            updated_by: "wang".into(),
        };
        let before = case.clone();
        let pass_on = CaseEdit {
            notes: Some("行李丢失".into()),
            status: Some(CaseStatus::PassedOn),
            ..CaseEdit::default()
        };
        assert_eq!(pass_on.apply(&mut case), Err(CaseRuleError::NoDepartment));
        assert_eq!(case, before);
        let pass_on = CaseEdit {
            department: Some(" 首都机场 ".into()),
            ..pass_on
        };
        assert_eq!(pass_on.apply(&mut case), Ok(()));
        assert_eq!(case.department, "首都机场");
        assert_eq!(case.status, CaseStatus::PassedOn);
        assert_eq!(case.notes, "行李丢失");
    }
}
