//! Weekly shifts in an interpreter's own IANA time zone, and the questions asked of them: is this
//! interpreter on shift at an instant, and which hours of a given UTC week does the schedule cover.

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::fmt;

pub const HOURS_PER_WEEK: usize = 168;
const MINUTES_PER_DAY: u32 = 24 * 60;
const MINUTES_PER_WEEK: u32 = 7 * MINUTES_PER_DAY;
/// An hour counts as covered when the interpreter is on shift at each of these minutes of it.
const COVERAGE_SAMPLE_MINUTES: [i64; 4] = [0, 15, 30, 45];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShiftError {
    #[error("time must be HH:MM between 00:00 and 24:00 (got {0:?})")]
    BadTime(String),
    #[error("unknown IANA time zone {0:?} (e.g. \"Asia/Shanghai\", \"Europe/Lisbon\")")]
    BadTimeZone(String),
    #[error("shift {0} is empty: start and end are the same time")]
    Empty(String),
    #[error("shifts {0} and {1} overlap")]
    Overlap(String, String),
}

/// A day of the week, written `mon` … `sun`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Day {
    pub const ALL: [Day; 7] = [
        Day::Mon,
        Day::Tue,
        Day::Wed,
        Day::Thu,
        Day::Fri,
        Day::Sat,
        Day::Sun,
    ];

    pub fn index(self) -> u32 {
        self as u32
    }

    pub fn from_chrono(d: chrono::Weekday) -> Self {
        Day::ALL[d.num_days_from_monday() as usize]
    }
}

/// Minutes after local midnight, 0..=1440, written `HH:MM` (`24:00` ends a day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay(u16);

impl TimeOfDay {
    pub fn parse(s: &str) -> Result<Self, ShiftError> {
        let bad = || ShiftError::BadTime(s.chars().take(20).collect());
        let (h, m) = s.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let h: u16 = h.parse().map_err(|_| bad())?;
        let m: u16 = m.parse().map_err(|_| bad())?;
        if m >= 60 || h > 24 || (h == 24 && m != 0) {
            return Err(bad());
        }
        Ok(Self(h * 60 + m))
    }

    pub fn minutes(self) -> u32 {
        u32::from(self.0)
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl Serialize for TimeOfDay {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TimeOfDay {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        TimeOfDay::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// One weekly shift in local time. An end at or before the start runs past midnight into the next
/// day (`sat 22:00–06:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shift {
    pub day: Day,
    pub start: TimeOfDay,
    pub end: TimeOfDay,
}

impl Shift {
    /// Start and length in minutes of the week (Monday 00:00 local = 0).
    fn span(&self) -> (u32, u32) {
        let start = self.day.index() * MINUTES_PER_DAY + self.start.minutes();
        let len = if self.end > self.start {
            self.end.minutes() - self.start.minutes()
        } else {
            MINUTES_PER_DAY - self.start.minutes() + self.end.minutes()
        };
        (start, len)
    }

    fn contains(&self, minute_of_week: u32) -> bool {
        let (start, len) = self.span();
        (minute_of_week + MINUTES_PER_WEEK - start) % MINUTES_PER_WEEK < len
    }
}

impl fmt::Display for Shift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let day = serde_json::to_value(self.day)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        write!(f, "{day} {}-{}", self.start, self.end)
    }
}

/// An IANA time zone name that is known to be valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZoneName(pub Tz);

impl TimeZoneName {
    pub fn parse(s: &str) -> Result<Self, ShiftError> {
        s.parse::<Tz>()
            .map(Self)
            .map_err(|_| ShiftError::BadTimeZone(s.chars().take(60).collect()))
    }
}

impl Serialize for TimeZoneName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.name())
    }
}

impl<'de> Deserialize<'de> for TimeZoneName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        TimeZoneName::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An interpreter's week: shifts in one time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklySchedule {
    pub timezone: TimeZoneName,
    #[serde(default)]
    pub shifts: Vec<Shift>,
}

impl WeeklySchedule {
    /// Rejects zero-length and overlapping shifts. No shifts at all is valid (not scheduled).
    pub fn validate(&self) -> Result<(), ShiftError> {
        if let Some(s) = self.shifts.iter().find(|s| s.start == s.end) {
            return Err(ShiftError::Empty(s.to_string()));
        }
        for (i, a) in self.shifts.iter().enumerate() {
            for b in &self.shifts[i + 1..] {
                let (sa, la) = a.span();
                let (sb, lb) = b.span();
                let overlaps = (sb + MINUTES_PER_WEEK - sa) % MINUTES_PER_WEEK < la
                    || (sa + MINUTES_PER_WEEK - sb) % MINUTES_PER_WEEK < lb;
                if overlaps {
                    return Err(ShiftError::Overlap(a.to_string(), b.to_string()));
                }
            }
        }
        Ok(())
    }

    pub fn on_shift(&self, at: DateTime<Utc>) -> bool {
        let local = self.timezone.0.from_utc_datetime(&at.naive_utc());
        let minute = Day::from_chrono(local.weekday()).index() * MINUTES_PER_DAY
            + local.hour() * 60
            + local.minute();
        self.shifts.iter().any(|s| s.contains(minute))
    }

    /// For each of the 168 hours of the UTC week starting at `week_start` (a Monday 00:00 UTC),
    /// whether this schedule covers the whole hour.
    pub fn hours_covered(&self, week_start: DateTime<Utc>) -> [bool; HOURS_PER_WEEK] {
        let mut out = [false; HOURS_PER_WEEK];
        if self.shifts.is_empty() {
            return out;
        }
        for (h, slot) in out.iter_mut().enumerate() {
            let hour = week_start + Duration::hours(h as i64);
            *slot = COVERAGE_SAMPLE_MINUTES
                .iter()
                .all(|m| self.on_shift(hour + Duration::minutes(*m)));
        }
        out
    }
}

/// Monday 00:00 UTC of the week containing `at`.
pub fn week_start(at: DateTime<Utc>) -> DateTime<Utc> {
    let days = i64::from(at.weekday().num_days_from_monday());
    let midnight = at
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|n| Utc.from_utc_datetime(&n))
        .unwrap_or(at);
    midnight - Duration::days(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> TimeOfDay {
        TimeOfDay::parse(s).expect("test time")
    }

    fn sched(tz: &str, shifts: &[(Day, &str, &str)]) -> WeeklySchedule {
        WeeklySchedule {
            timezone: TimeZoneName::parse(tz).expect("test tz"),
            shifts: shifts
                .iter()
                .map(|(day, s, e)| Shift {
                    day: *day,
                    start: t(s),
                    end: t(e),
                })
                .collect(),
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().expect("test instant")
    }

    #[test]
    fn times_parse_strictly() {
        assert_eq!(t("24:00").minutes(), 1440);
        for bad in ["9:00", "24:01", "12:60", "ab:cd", "1200", ""] {
            assert!(TimeOfDay::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn on_shift_follows_the_interpreters_time_zone() {
        // Shanghai is UTC+8 all year: Mon 09:00-17:00 local is Mon 01:00-09:00 UTC.
        let s = sched("Asia/Shanghai", &[(Day::Mon, "09:00", "17:00")]);
        assert!(s.on_shift(utc("2026-11-30T01:00:00Z")));
        assert!(s.on_shift(utc("2026-11-30T08:59:00Z")));
        assert!(!s.on_shift(utc("2026-11-30T09:00:00Z")));
        assert!(!s.on_shift(utc("2026-11-30T00:59:00Z")));
    }

    #[test]
    fn overnight_shift_runs_into_the_next_day_and_sunday_wraps_to_monday() {
        let s = sched("UTC", &[(Day::Sun, "22:00", "06:00")]);
        assert!(s.on_shift(utc("2026-11-29T23:00:00Z"))); // Sunday
        assert!(s.on_shift(utc("2026-11-30T05:59:00Z"))); // Monday
        assert!(!s.on_shift(utc("2026-11-30T06:00:00Z")));
    }

    #[test]
    fn empty_and_overlapping_shifts_are_rejected() {
        let empty = sched("UTC", &[(Day::Mon, "09:00", "09:00")]);
        assert!(matches!(empty.validate(), Err(ShiftError::Empty(_))));
        let overlap = sched(
            "UTC",
            &[(Day::Mon, "09:00", "17:00"), (Day::Mon, "16:00", "20:00")],
        );
        assert!(matches!(overlap.validate(), Err(ShiftError::Overlap(_, _))));
        let wrap = sched(
            "UTC",
            &[(Day::Sun, "22:00", "06:00"), (Day::Mon, "05:00", "07:00")],
        );
        assert!(matches!(wrap.validate(), Err(ShiftError::Overlap(_, _))));
        let adjacent = sched(
            "UTC",
            &[(Day::Mon, "00:00", "12:00"), (Day::Mon, "12:00", "24:00")],
        );
        assert_eq!(adjacent.validate(), Ok(()));
    }

    #[test]
    fn unknown_time_zone_is_rejected() {
        assert!(matches!(
            TimeZoneName::parse("Mars/Olympus"),
            Err(ShiftError::BadTimeZone(_))
        ));
    }

    #[test]
    fn hours_covered_counts_whole_utc_hours() {
        let s = sched("Europe/Lisbon", &[(Day::Mon, "09:00", "11:30")]);
        // Lisbon in winter is UTC+0: hours 9 and 10 are whole, 11 is only half covered.
        let week = week_start(utc("2026-12-02T12:00:00Z"));
        assert_eq!(week, utc("2026-11-30T00:00:00Z"));
        let covered = s.hours_covered(week);
        let hours: Vec<usize> = (0..HOURS_PER_WEEK).filter(|h| covered[*h]).collect();
        assert_eq!(hours, vec![9, 10]);
    }
}
