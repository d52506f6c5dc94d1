//! `[records]`: where the call record is kept, and how many records may wait for it.

use super::{invalid, ConfigError};
use crate::domain::TimeZoneName;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordSettings {
    /// `sqlite://<file>` (made with its folder if missing) or `postgres://user[:password]@host[:port]/db`;
    /// empty: no record is kept.
    pub database: String,
    /// Records waiting for the database at most; past this, new ones are dropped (and counted).
    pub queue: usize,
    /// The hotline's time zone: the day a case number starts with (YYMMDD) is its date.
    #[serde(default = "default_case_time_zone")]
    pub case_time_zone: TimeZoneName,
    /// Every leg of every call is recorded (callers are told at the start); needs `database`.
    #[serde(default)]
    pub recording: bool,
    /// Where recordings are written, one folder per call (made when needed).
    #[serde(default = "default_recording_dir")]
    pub recording_dir: String,
    /// Recordings older than this many days are deleted, file and row; 0 keeps them forever.
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
}

fn default_recording_dir() -> String {
    "data/recordings".into()
}

fn default_retention_days() -> u32 {
    90
}

fn default_case_time_zone() -> TimeZoneName {
    TimeZoneName(chrono_tz::Asia::Shanghai)
}

impl RecordSettings {
    pub fn is_set(&self) -> bool {
        !self.database.is_empty()
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let d = &self.database;
        let known = ["sqlite:", "postgres://", "postgresql://"];
        if !d.is_empty() && !known.iter().any(|k| d.starts_with(k)) {
            return Err(invalid(
                "records.database",
                "must be sqlite://<file>, postgres://<user>@<host>/<database> or empty",
            ));
        }
        if self.queue == 0 {
            return Err(invalid("records.queue", "must be at least 1"));
        }
        if self.recording && d.is_empty() {
            return Err(invalid(
                "records.recording",
                "needs records.database: recordings are listed from the record",
            ));
        }
        if self.recording && self.recording_dir.trim().is_empty() {
            return Err(invalid("records.recording_dir", "must name a folder"));
        }
        Ok(())
    }

    /// `database` with any password replaced (for logs and Debug).
    pub fn database_shown(&self) -> String {
        super::redis::masked_url(&self.database)
    }
}

impl std::fmt::Debug for RecordSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordSettings")
            .field("database", &self.database_shown())
            .field("queue", &self.queue)
            .field("case_time_zone", &self.case_time_zone.0.name())
            .field("recording", &self.recording)
            .field("recording_dir", &self.recording_dir)
            .field("retention_days", &self.retention_days)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(database: &str) -> RecordSettings {
        RecordSettings {
            database: database.into(),
            queue: 10,
            case_time_zone: default_case_time_zone(),
            recording: false,
            recording_dir: default_recording_dir(),
            retention_days: default_retention_days(),
        }
    }

    #[test]
    fn a_password_in_the_database_url_never_shows() {
        let s = with("postgres://hb:s3cr@t@db.example:5432/hotline");
        assert_eq!(
            s.database_shown(),
            "postgres://hb:***@db.example:5432/hotline"
        );
        assert!(!format!("{s:?}").contains("s3cr"));
        assert_eq!(
            with("sqlite://data/hotline.db").database_shown(),
            "sqlite://data/hotline.db"
        );
    }

    #[test]
    fn only_sqlite_postgres_or_nothing_is_accepted() {
        for ok in [
            "",
            "sqlite://data/h.db",
            "sqlite:h.db",
            "postgres://hb@db/h",
        ] {
            assert!(with(ok).validate().is_ok(), "{ok}");
        }
        assert!(with("mysql://db/h").validate().is_err());
        let mut s = with("");
        s.queue = 0;
        assert!(s.validate().is_err());
    }

    #[test]
    fn recording_is_off_by_default_and_needs_a_record_and_a_folder() {
        let mut s = with("");
        assert!(!s.recording);
        s.recording = true;
        assert!(s.validate().is_err(), "no database");
        let mut s = with("sqlite://data/h.db");
        s.recording = true;
        assert!(s.validate().is_ok());
        s.recording_dir = " ".into();
        assert!(s.validate().is_err(), "no folder");
    }
}
