//! Reports over the record: what the store's report queries return, the hotline's local clock
//! they group by (hour of the week, month), and which hours more interpreters would have helped
//! most. Plain data and arithmetic; the store computes the rows, the API shows them.
//!
//! Definitions (the README repeats them; `dashboard` defines language known and time to
//! interpreter): a call counts in the range by when it was created; *abandoned waiting for an
//! operator* is an abandoned call; *abandoned waiting for an interpreter* is a call that asked for
//! one, was answered and ended before any interpreter joined. Percentiles are nearest-rank.

use super::{InterpreterId, Millis, UniversityId};
use chrono::{Datelike, Offset, TimeZone, Utc};
use serde::Serialize;

pub const HOUR_MS: Millis = 3_600_000;
/// Hours in a week; hour 0 is Monday 00:00 on the hotline's clock.
pub const WEEK_HOURS: u32 = 168;

/// What a waiting report is grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    Language,
    /// The university of the first interpreter who joined.
    University,
    /// The first interpreter who joined.
    Interpreter,
    /// Hour of the week (0 = Monday 00:00) on the hotline's clock.
    HourOfWeek,
    /// `YYYY-MM` on the hotline's clock.
    Month,
}

impl Grouping {
    pub const ALL: [Grouping; 5] = [
        Grouping::Language,
        Grouping::University,
        Grouping::Interpreter,
        Grouping::HourOfWeek,
        Grouping::Month,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Grouping::Language => "language",
            Grouping::University => "university",
            Grouping::Interpreter => "interpreter",
            Grouping::HourOfWeek => "hour_of_week",
            Grouping::Month => "month",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

/// The hotline's clock over a range of Unix ms: its UTC offsets (a zone with summer time has
/// several) and the months the range touches. Built from a time zone once per report, so the
/// store groups by local hour and month with plain integer SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalClock {
    /// `(from, offset_ms)`, oldest first; the first applies before its `from` too.
    pub offsets: Vec<(Millis, i64)>,
    /// `(start, "YYYY-MM")` of each local month that overlaps the range, oldest first.
    pub months: Vec<(Millis, String)>,
}

impl LocalClock {
    /// The clock of `tz` over `[from, to)`.
    pub fn new<Tz: TimeZone>(tz: &Tz, from: Millis, to: Millis) -> Self {
        let offset = |t: Millis| -> i64 {
            let utc = Utc
                .timestamp_millis_opt(t as i64)
                .single()
                .unwrap_or_default();
            i64::from(
                tz.offset_from_utc_datetime(&utc.naive_utc())
                    .fix()
                    .local_minus_utc(),
            ) * 1000
        };
        let mut offsets = vec![(from, offset(from))];
        // Offsets change on whole hours (UTC) in every zone that reports are asked of.
        let mut t = from - from % HOUR_MS + HOUR_MS;
        while t < to {
            let o = offset(t);
            if offsets.last().is_some_and(|&(_, last)| last != o) {
                offsets.push((t, o));
            }
            t += HOUR_MS;
        }
        let mut months = Vec::new();
        let local = |t: Millis| tz.timestamp_millis_opt(t as i64).single();
        if let Some(first) = local(from) {
            let (mut y, mut m) = (first.year(), first.month());
            while let Some(start) = month_start(tz, y, m) {
                if start >= to && !months.is_empty() {
                    break;
                }
                months.push((start, format!("{y:04}-{m:02}")));
                (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            }
        }
        Self { offsets, months }
    }

    /// The UTC offset at `t`, in ms.
    pub fn offset_at(&self, t: Millis) -> i64 {
        self.offsets
            .iter()
            .rev()
            .find(|&&(from, _)| t >= from)
            .or(self.offsets.first())
            .map_or(0, |&(_, o)| o)
    }

    /// The hour of the week of `t` (0 = Monday 00:00 local). 1970-01-01 was a Thursday.
    pub fn hour_of_week(&self, t: Millis) -> u32 {
        let local = t as i64 + self.offset_at(t);
        ((local.div_euclid(HOUR_MS as i64) + 72).rem_euclid(i64::from(WEEK_HOURS))) as u32
    }
}

/// Local midnight of the first of month `m` of `y`, Unix ms.
fn month_start<Tz: TimeZone>(tz: &Tz, y: i32, m: u32) -> Option<Millis> {
    let day = chrono::NaiveDate::from_ymd_opt(y, m, 1)?.and_hms_opt(0, 0, 0)?;
    let t = tz.from_local_datetime(&day).earliest()?;
    Millis::try_from(t.timestamp_millis()).ok()
}

/// What every report is asked over: calls created in `[from, to)`, the hotline's clock, and
/// which university each interpreter belongs to (the roster's).
#[derive(Debug, Clone)]
pub struct ReportScope {
    pub from: Millis,
    pub to: Millis,
    pub clock: LocalClock,
    pub universities: Vec<(InterpreterId, UniversityId)>,
}

/// Waiting figures of one group; `key` is empty for calls the group has no value for (no
/// language, no interpreter joined).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WaitingRow {
    pub key: String,
    pub calls: u64,
    pub abandoned_waiting_for_operator: u64,
    pub asked_for_interpreter: u64,
    pub interpreter_joined: u64,
    /// Asked, and an interpreter joined within 20 s / 30 s of the language being known.
    pub within_20s: u64,
    pub within_30s: u64,
    pub abandoned_waiting_for_interpreter: u64,
    pub time_to_interpreter_median_ms: Option<Millis>,
    pub time_to_interpreter_p90_ms: Option<Millis>,
}

impl WaitingRow {
    pub fn service_level_20s(&self) -> Option<f64> {
        share(self.within_20s, self.asked_for_interpreter)
    }
    pub fn service_level_30s(&self) -> Option<f64> {
        share(self.within_30s, self.asked_for_interpreter)
    }
    pub fn abandoned_waiting_for_operator_rate(&self) -> Option<f64> {
        share(self.abandoned_waiting_for_operator, self.calls)
    }
    pub fn abandoned_waiting_for_interpreter_rate(&self) -> Option<f64> {
        share(
            self.abandoned_waiting_for_interpreter,
            self.asked_for_interpreter,
        )
    }
}

pub fn share(n: u64, of: u64) -> Option<f64> {
    (of > 0).then(|| n as f64 / of as f64)
}

/// Ratings of one language (`""`: not known), `stars[0]` the count of 1 star.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StarsRow {
    pub language: String,
    pub stars: [u64; 5],
}

/// One interpreter's time in calls in one local month (legs by when they joined).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MinutesRow {
    pub month: String,
    pub interpreter: String,
    /// `""` when the roster no longer names the interpreter's university.
    pub university: String,
    pub calls: u64,
    pub ms: u64,
}

/// Calls of one language in one hour of the week over the range.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DemandRow {
    pub language: String,
    pub hour_of_week: u32,
    pub calls: u64,
    pub asked_for_interpreter: u64,
    /// Time callers who asked waited for an interpreter: to the first joining, or to the call's
    /// end when none joined.
    pub waited_ms: u64,
}

/// An hour where one more interpreter would have cut waiting, by how much (an estimate).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shortfall {
    pub language: String,
    pub hour_of_week: u32,
    pub calls: u64,
    pub on_shift: u32,
    pub waited_ms: u64,
    /// `waited_ms / (on_shift + 1)`: the waiting shared by one more interpreter, as if the
    /// interpreters on shift had shared it evenly.
    pub cut_ms: u64,
}

/// The `top` hours where one more interpreter would have cut waiting the most (largest `cut_ms`
/// first, ties by language then hour); `on_shift(language, hour)` is the schedule's count.
pub fn shortfalls(
    demand: &[DemandRow],
    on_shift: impl Fn(&str, u32) -> u32,
    top: usize,
) -> Vec<Shortfall> {
    let mut out: Vec<Shortfall> = demand
        .iter()
        .filter(|d| d.waited_ms > 0 && !d.language.is_empty())
        .map(|d| {
            let n = on_shift(&d.language, d.hour_of_week);
            Shortfall {
                language: d.language.clone(),
                hour_of_week: d.hour_of_week,
                calls: d.calls,
                on_shift: n,
                waited_ms: d.waited_ms,
                cut_ms: d.waited_ms / (u64::from(n) + 1),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.cut_ms
            .cmp(&a.cut_ms)
            .then_with(|| a.language.cmp(&b.language))
            .then(a.hour_of_week.cmp(&b.hour_of_week))
    });
    out.truncate(top);
    out
}

/// `Mon 10:00`, for an hour of the week.
pub fn hour_label(h: u32) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    format!("{} {:02}:00", DAYS[(h / 24 % 7) as usize], h % 24)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-02 00:00 in Beijing (a Monday) = 2026-11-01 16:00 UTC.
    const MONDAY: Millis = 1_793_548_800_000;

    #[test]
    fn beijing_hours_of_the_week_start_monday_midnight_local() {
        let clock = LocalClock::new(&chrono_tz::Asia::Shanghai, MONDAY, MONDAY + 40 * 86_400_000);
        assert_eq!(clock.offsets, vec![(MONDAY, 8 * HOUR_MS as i64)]);
        assert_eq!(clock.hour_of_week(MONDAY), 0);
        assert_eq!(clock.hour_of_week(MONDAY - 1), 167);
        assert_eq!(clock.hour_of_week(MONDAY + 27 * HOUR_MS + 59_000), 27);
        let months: Vec<&str> = clock.months.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(months, ["2026-11", "2026-12"]);
        // 2026-12-01 00:00 Beijing = 2026-11-30 16:00 UTC.
        assert_eq!(clock.months[1].0, MONDAY + 29 * 86_400_000);
    }

    #[test]
    fn summer_time_changes_the_offset_on_the_hour_it_changes() {
        // Lisbon: 2026-10-25 01:00 UTC back from +1 to 0.
        let change: Millis = 1_792_890_000_000;
        let clock = LocalClock::new(
            &chrono_tz::Europe::Lisbon,
            change - 5 * HOUR_MS,
            change + 5 * HOUR_MS,
        );
        assert_eq!(
            clock.offsets,
            vec![(change - 5 * HOUR_MS, 3_600_000), (change, 0)]
        );
        // Sunday 01:30 local before, then 01:30 local again (an hour later): both hour 145.
        assert_eq!(clock.hour_of_week(change - HOUR_MS / 2), 6 * 24 + 1);
        assert_eq!(clock.hour_of_week(change + HOUR_MS / 2), 6 * 24 + 1);
    }

    #[test]
    fn the_hours_named_are_those_one_more_interpreter_helps_most() {
        let row = |language: &str, h, waited_ms| DemandRow {
            language: language.into(),
            hour_of_week: h,
            calls: 10,
            asked_for_interpreter: 10,
            waited_ms,
        };
        let demand = [
            row("pt", 10, 600_000), // 2 on shift: 200 s each
            row("ar", 27, 300_000), // none on shift: all 300 s
            row("pt", 11, 0),       // nobody waited
            row("", 10, 900_000),   // language never known: no one to schedule
            row("ko", 3, 200_000),  // 1 on shift: 100 s
        ];
        let on_shift = |l: &str, h: u32| match (l, h) {
            ("pt", 10) => 2,
            ("ko", 3) => 1,
            _ => 0,
        };
        let got = shortfalls(&demand, on_shift, 2);
        let named: Vec<(&str, u32, u32, u64)> = got
            .iter()
            .map(|s| (s.language.as_str(), s.hour_of_week, s.on_shift, s.cut_ms))
            .collect();
        assert_eq!(named, [("ar", 27, 0, 300_000), ("pt", 10, 2, 200_000)]);
        assert_eq!(hour_label(27), "Tue 03:00");
    }

    #[test]
    fn groupings_read_back_by_name() {
        for g in Grouping::ALL {
            assert_eq!(Grouping::parse(g.as_str()), Some(g));
        }
        assert_eq!(Grouping::parse("weekday"), None);
    }
}
