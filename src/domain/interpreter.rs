//! An interpreter's profile as a university registers it: who they are, which languages at which
//! level, and when they are scheduled. Live status (available, offered, busy…) is the pool's.

use super::{
    IdError, InterpreterId, Language, PhoneNumber, RingPreference, ShiftError, UniversityId,
    WeeklySchedule,
};
use serde::{Deserialize, Serialize};

pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_LANGUAGES: usize = 12;
pub const MAX_SHIFTS: usize = 64;

/// How well an interpreter speaks a language; dispatch prefers the higher level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Native,
    Professional,
    Student,
}

impl Level {
    /// 0 is best.
    pub fn rank(self) -> u8 {
        self as u8
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LanguageSkill {
    pub language: Language,
    pub level: Level,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterpreterProfile {
    pub id: InterpreterId,
    pub university: UniversityId,
    pub name: String,
    pub languages: Vec<LanguageSkill>,
    pub schedule: WeeklySchedule,
    /// SHA-256 (hex) of the interpreter's personal access token; the token itself is never stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_sha256: Option<String>,
    /// Where the interpreter can be rung by phone (personal data: only the owning university
    /// sees it whole). Absent in profiles stored before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<PhoneNumber>,
    /// Console, phone, or console then phone; `app` when absent.
    #[serde(default, skip_serializing_if = "RingPreference::is_app")]
    pub ring: RingPreference,
}

/// What is wrong with a profile, naming the field.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProfileError {
    #[error("name: must be 1-{MAX_NAME_CHARS} characters")]
    Name,
    #[error("name: {0}")]
    NameText(#[from] super::DisplayTextError),
    #[error("languages: at least one and at most {MAX_LANGUAGES}, each listed once")]
    Languages,
    #[error("languages: {0} is not a language this hotline serves")]
    UnknownLanguage(Language),
    #[error("shifts: at most {MAX_SHIFTS}")]
    TooManyShifts,
    #[error("shifts: {0}")]
    Shift(#[from] ShiftError),
    #[error("id: {0}")]
    Id(#[from] IdError),
    #[error("phone: ring = \"{0}\" needs a phone number to ring")]
    RingWithoutPhone(&'static str),
}

impl ProfileError {
    /// The request field the error concerns, for pages that show errors next to fields.
    pub fn field(&self) -> &'static str {
        match self {
            ProfileError::Name | ProfileError::NameText(_) => "name",
            ProfileError::Languages | ProfileError::UnknownLanguage(_) => "languages",
            ProfileError::TooManyShifts => "shifts",
            ProfileError::Shift(ShiftError::BadTimeZone(_)) => "timezone",
            ProfileError::Shift(_) => "shifts",
            ProfileError::Id(_) => "id",
            ProfileError::RingWithoutPhone(_) => "phone",
        }
    }
}

impl InterpreterProfile {
    /// Checks everything a university can get wrong; `served` is the configured language list.
    pub fn validate(&self, served: &[Language]) -> Result<(), ProfileError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(ProfileError::Name);
        }
        super::check_display_text(name)?;
        if self.languages.is_empty() || self.languages.len() > MAX_LANGUAGES {
            return Err(ProfileError::Languages);
        }
        for (i, skill) in self.languages.iter().enumerate() {
            if !served.contains(&skill.language) {
                return Err(ProfileError::UnknownLanguage(skill.language));
            }
            if self.languages[..i]
                .iter()
                .any(|s| s.language == skill.language)
            {
                return Err(ProfileError::Languages);
            }
        }
        if self.schedule.shifts.len() > MAX_SHIFTS {
            return Err(ProfileError::TooManyShifts);
        }
        self.schedule.validate()?;
        if self.ring.uses_phone() && self.phone.is_none() {
            return Err(ProfileError::RingWithoutPhone(self.ring.as_str()));
        }
        Ok(())
    }

    pub fn level_in(&self, language: Language) -> Option<Level> {
        self.languages
            .iter()
            .find(|s| s.language == language)
            .map(|s| s.level)
    }
}

#[cfg(test)]
impl InterpreterProfile {
    /// Tests: a valid profile (a native Portuguese speaker on shift Mondays 09-17 in Lisbon),
    /// to change field by field.
    pub(crate) fn sample() -> InterpreterProfile {
        use crate::domain::{Day, Shift, TimeOfDay, TimeZoneName};
        InterpreterProfile {
            id: InterpreterId::parse("u-pt-1").expect("id"),
            university: UniversityId::parse("u").expect("id"),
            name: "Ana".into(),
            languages: vec![LanguageSkill {
                language: Language::parse("pt").expect("lang"),
                level: Level::Native,
            }],
            schedule: WeeklySchedule {
                timezone: TimeZoneName::parse("Europe/Lisbon").expect("tz"),
                shifts: vec![Shift {
                    day: Day::Mon,
                    start: TimeOfDay::parse("09:00").expect("t"),
                    end: TimeOfDay::parse("17:00").expect("t"),
                }],
            },
            token_sha256: None,
            phone: None,
            ring: RingPreference::App,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> InterpreterProfile {
        InterpreterProfile::sample()
    }

    fn served() -> Vec<Language> {
        ["pt", "en"]
            .iter()
            .filter_map(|s| Language::parse(s).ok())
            .collect()
    }

    #[test]
    fn a_good_profile_validates() {
        assert_eq!(profile().validate(&served()), Ok(()));
    }

    #[test]
    fn errors_name_the_field() {
        let mut p = profile();
        p.name = "  ".into();
        assert_eq!(p.validate(&served()).map_err(|e| e.field()), Err("name"));

        let mut p = profile();
        p.languages[0].language = Language::parse("xx").expect("lang");
        assert_eq!(
            p.validate(&served()).map_err(|e| e.field()),
            Err("languages")
        );

        let mut p = profile();
        p.languages.push(p.languages[0]);
        assert_eq!(p.validate(&served()), Err(ProfileError::Languages));
    }

    #[test]
    fn ringing_a_phone_needs_a_number() {
        let mut p = profile();
        p.ring = RingPreference::Phone;
        assert_eq!(p.validate(&served()).map_err(|e| e.field()), Err("phone"));
        p.phone = Some(PhoneNumber::parse("+351912345678").expect("number"));
        assert_eq!(p.validate(&served()), Ok(()));
        // A number alone is fine: the interpreter is still rung in the app.
        p.ring = RingPreference::App;
        assert_eq!(p.validate(&served()), Ok(()));
    }

    #[test]
    fn a_profile_stored_before_phones_reads_as_app_without_a_number() {
        let mut json = serde_json::to_value(profile()).expect("json");
        let obj = json.as_object_mut().expect("object");
        assert!(!obj.contains_key("phone") && !obj.contains_key("ring"));
        obj.remove("token_sha256");
        let p: InterpreterProfile = serde_json::from_value(json).expect("old profile");
        assert_eq!((p.phone, p.ring), (None, RingPreference::App));
    }

    #[test]
    fn a_phone_profile_round_trips() {
        let mut p = profile();
        p.phone = Some(PhoneNumber::parse("+351912345678").expect("number"));
        p.ring = RingPreference::AppThenPhone;
        let json = serde_json::to_string(&p).expect("json");
        assert!(json.contains("\"phone\":\"+351912345678\""), "{json}");
        assert!(json.contains("\"ring\":\"app_then_phone\""), "{json}");
        let back: InterpreterProfile = serde_json::from_str(&json).expect("back");
        assert_eq!(back, p);
        // Debug (what a log could print) never shows the whole number.
        assert!(!format!("{p:?}").contains("912345678"));
    }

    #[test]
    fn native_outranks_professional_outranks_student() {
        assert!(Level::Native.rank() < Level::Professional.rank());
        assert!(Level::Professional.rank() < Level::Student.rank());
    }
}
