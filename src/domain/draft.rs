//! `ProfileDraft`: an interpreter profile as people type it (the roster file, the university API),
//! plain strings turned into a checked `InterpreterProfile` with errors that name the field.
//! Shared by both inputs so they accept and reject exactly the same things.

use super::{
    Day, InterpreterId, InterpreterProfile, Language, LanguageSkill, Level, PhoneNumber,
    ProfileError, RingPreference, Shift, TimeOfDay, TimeZoneName, UniversityId, WeeklySchedule,
};
use serde::{Deserialize, Serialize};

/// One shift as typed: `{ day = "mon", start = "09:00", end = "17:00" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShiftDraft {
    pub day: String,
    pub start: String,
    pub end: String,
}

/// Everything about an interpreter that its university types, before any checking.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProfileDraft {
    pub name: String,
    /// `(language code, level)` in the order given.
    pub languages: Vec<(String, String)>,
    pub timezone: String,
    pub shifts: Vec<ShiftDraft>,
    /// E.164 number to ring them on; empty = none.
    pub phone: String,
    /// `app`, `phone` or `app_then_phone`; empty = `app`.
    pub ring: String,
}

/// What is wrong with a draft; `field` is the input field at fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DraftError {
    #[error("{field}: {message}")]
    Field {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Profile(#[from] ProfileError),
}

impl DraftError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        DraftError::Field {
            field,
            message: message.into(),
        }
    }

    pub fn field(&self) -> &'static str {
        match self {
            DraftError::Field { field, .. } => field,
            DraftError::Profile(e) => e.field(),
        }
    }
}

/// `mon` … `sun`, case-insensitive.
pub fn parse_day(s: &str) -> Option<Day> {
    const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let s = s.trim().to_ascii_lowercase();
    NAMES.iter().position(|n| *n == s).map(|i| Day::ALL[i])
}

/// `native`, `professional` or `student`, case-insensitive.
pub fn parse_level(s: &str) -> Option<Level> {
    match s.trim().to_ascii_lowercase().as_str() {
        "native" => Some(Level::Native),
        "professional" => Some(Level::Professional),
        "student" => Some(Level::Student),
        _ => None,
    }
}

impl ProfileDraft {
    /// Parses every field and validates the result against `served` (the configured languages).
    pub fn into_profile(
        self,
        id: InterpreterId,
        university: UniversityId,
        served: &[Language],
    ) -> Result<InterpreterProfile, DraftError> {
        let mut languages = Vec::with_capacity(self.languages.len());
        for (code, level) in &self.languages {
            let language =
                Language::parse(code).map_err(|e| DraftError::new("languages", e.to_string()))?;
            let level = parse_level(level).ok_or_else(|| {
                DraftError::new(
                    "languages",
                    format!(
                        "{language}: level must be native, professional or student (got {:?})",
                        truncate(level)
                    ),
                )
            })?;
            languages.push(LanguageSkill { language, level });
        }
        let timezone = TimeZoneName::parse(self.timezone.trim())
            .map_err(|e| DraftError::new("timezone", e.to_string()))?;
        let mut shifts = Vec::with_capacity(self.shifts.len());
        for s in &self.shifts {
            let day = parse_day(&s.day).ok_or_else(|| {
                DraftError::new(
                    "shifts",
                    format!("day must be mon … sun (got {:?})", truncate(&s.day)),
                )
            })?;
            let time = |t: &str| {
                TimeOfDay::parse(t.trim()).map_err(|e| DraftError::new("shifts", e.to_string()))
            };
            shifts.push(Shift {
                day,
                start: time(&s.start)?,
                end: time(&s.end)?,
            });
        }
        let phone = match self.phone.trim() {
            "" => None,
            typed => Some(
                PhoneNumber::parse(typed).map_err(|e| DraftError::new("phone", e.to_string()))?,
            ),
        };
        let ring = match self.ring.trim() {
            "" => RingPreference::App,
            typed => RingPreference::parse(typed).ok_or_else(|| {
                DraftError::new(
                    "ring",
                    format!(
                        "must be app, phone or app_then_phone (got {:?})",
                        truncate(typed)
                    ),
                )
            })?,
        };
        let profile = InterpreterProfile {
            id,
            university,
            name: self.name.trim().to_owned(),
            languages,
            schedule: WeeklySchedule { timezone, shifts },
            token_sha256: None,
            phone,
            ring,
        };
        profile.validate(served)?;
        Ok(profile)
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served() -> Vec<Language> {
        ["en", "pt"]
            .iter()
            .filter_map(|s| Language::parse(s).ok())
            .collect()
    }

    fn draft() -> ProfileDraft {
        ProfileDraft {
            name: " Ana Lima ".into(),
            languages: vec![
                ("pt".into(), "native".into()),
                ("en".into(), "Professional".into()),
            ],
            timezone: "America/Sao_Paulo".into(),
            shifts: vec![ShiftDraft {
                day: "Mon".into(),
                start: "22:00".into(),
                end: "06:00".into(),
            }],
            phone: String::new(),
            ring: String::new(),
        }
    }

    fn build(d: ProfileDraft) -> Result<InterpreterProfile, DraftError> {
        d.into_profile(
            InterpreterId::parse("u-pt-1").expect("id"),
            UniversityId::parse("u").expect("id"),
            &served(),
        )
    }

    #[test]
    fn a_typed_draft_becomes_a_trimmed_checked_profile() {
        let p = build(draft()).expect("valid");
        assert_eq!(p.name, "Ana Lima");
        assert_eq!(p.languages[1].level, Level::Professional);
        assert_eq!(p.schedule.shifts[0].day, Day::Mon);
        assert_eq!((p.phone, p.ring), (None, RingPreference::App));
    }

    #[test]
    fn a_typed_number_and_preference_are_kept() {
        let mut d = draft();
        d.phone = " +55 11 91234-5678 ".into();
        d.ring = "App_Then_Phone".into();
        let p = build(d).expect("valid");
        assert_eq!(p.phone.as_ref().map(|n| n.as_str()), Some("+5511912345678"));
        assert_eq!(p.ring, RingPreference::AppThenPhone);
    }

    type Spoil = Box<dyn Fn(&mut ProfileDraft)>;

    #[test]
    fn each_mistake_names_its_field() {
        let cases: Vec<(&str, Spoil)> = vec![
            ("name", Box::new(|d| d.name = String::new())),
            ("phone", Box::new(|d| d.phone = "0139 1234 5678".into())),
            ("phone", Box::new(|d| d.ring = "phone".into())),
            ("ring", Box::new(|d| d.ring = "pager".into())),
            ("languages", Box::new(|d| d.languages[0].0 = "xx".into())),
            ("languages", Box::new(|d| d.languages[0].0 = "p1".into())),
            (
                "languages",
                Box::new(|d| d.languages[0].1 = "fluent".into()),
            ),
            ("languages", Box::new(|d| d.languages.clear())),
            ("timezone", Box::new(|d| d.timezone = "Mars/Base".into())),
            ("shifts", Box::new(|d| d.shifts[0].day = "monday".into())),
            ("shifts", Box::new(|d| d.shifts[0].end = "25:00".into())),
            ("shifts", Box::new(|d| d.shifts[0].end = "22:00".into())),
            (
                "shifts",
                Box::new(|d| {
                    d.shifts.push(ShiftDraft {
                        day: "tue".into(),
                        start: "05:00".into(),
                        end: "07:00".into(),
                    })
                }),
            ),
        ];
        for (field, spoil) in cases {
            let mut d = draft();
            spoil(&mut d);
            let err = build(d).expect_err(field);
            assert_eq!(err.field(), field, "{err}");
            assert!(err.to_string().starts_with(field), "{err}");
        }
    }
}
