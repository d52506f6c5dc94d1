//! The big screen's figures: what is going on now per language (calls, interpreters) and what
//! happened today (service level, time to interpreter, satisfaction) with a 24-hour chart, all
//! computed here from plain inputs (the record's `CallDigest`s, counts from the node and the
//! pool) at a given `now`. No clock, no I/O.
//!
//! Definitions (the README repeats them):
//! - A call *asked for an interpreter* when the record holds an offer for it or an interpreter's
//!   leg; only those count for the service level and the time to interpreter.
//! - The *language was known* when the call was created if the caller's page or the phone menu
//!   gave it, and when the operator answered if the operator set it (the record has no finer
//!   time for that).
//! - *Time to interpreter*: from the language known to the first interpreter joining.
//!   *Service level at 20 s / 30 s*: the share of calls that asked for an interpreter whose
//!   interpreter joined within 20 s / 30 s of that (one that never joined counts as missed).
//! - *Satisfaction*: the share of today's ratings with 4 or 5 stars, beside the mean.

use super::{CallOutcome, Language, Millis};
use chrono::{TimeZone, Timelike};
use serde::Serialize;

/// The service-level thresholds the hotline reports, in ms.
pub const SERVICE_LEVEL_MS: [Millis; 2] = [20_000, 30_000];
/// Hours on the chart, the current one last.
pub const CHART_HOURS: usize = 24;
const HOUR_MS: Millis = 3_600_000;

/// One call of the record as the figures need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallDigest {
    pub language: Option<Language>,
    /// How the language was determined (the wire name: chosen, browser, text, combined,
    /// operator, unknown).
    pub language_source: String,
    pub outcome: CallOutcome,
    pub created_at: Millis,
    pub answered_at: Option<Millis>,
    pub ended_at: Millis,
    /// When the first interpreter joined, if one did.
    pub interpreter_joined_at: Option<Millis>,
    /// Offers made to interpreters for it.
    pub offers: u32,
    pub stars: Option<u8>,
}

impl CallDigest {
    /// Whether the call asked for an interpreter (an offer was made, or one joined).
    pub fn asked_for_interpreter(&self) -> bool {
        self.offers > 0 || self.interpreter_joined_at.is_some()
    }

    /// When the language was known (see the module's definitions).
    pub fn language_known_at(&self) -> Millis {
        language_known_at(&self.language_source, self.created_at, self.answered_at)
    }

    /// From the language known to the first interpreter joining.
    pub fn time_to_interpreter(&self) -> Option<Millis> {
        self.interpreter_joined_at
            .map(|j| j.saturating_sub(self.language_known_at()))
    }
}

/// When a call's language was known, from how it was determined (see the module's definitions).
pub fn language_known_at(source: &str, created_at: Millis, answered_at: Option<Millis>) -> Millis {
    match source {
        "operator" | "unknown" => answered_at.unwrap_or(created_at),
        _ => created_at,
    }
}

/// Today's figures, from midnight in the hotline's time zone to `now`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Today {
    /// Calls that ended today (created since midnight), by how.
    pub calls: u32,
    pub answered: u32,
    pub abandoned: u32,
    pub interpreted: u32,
    /// Calls that asked for an interpreter.
    pub asked_for_interpreter: u32,
    /// Share (0..=1) within 20 s and 30 s; `None` when no call asked.
    pub service_level_20s: Option<f64>,
    pub service_level_30s: Option<f64>,
    /// Median and 90th percentile time to interpreter, in ms.
    pub time_to_interpreter_median_ms: Option<Millis>,
    pub time_to_interpreter_p90_ms: Option<Millis>,
    pub ratings: u32,
    pub mean_stars: Option<f64>,
    /// Share (0..=1) of ratings with 4 or 5 stars.
    pub satisfaction: Option<f64>,
    /// Share of today's cases resolved; `None` until the record keeps cases.
    pub resolution: Option<f64>,
    /// Cases opened today; `None` until the record keeps cases.
    pub cases: Option<u32>,
}

/// One hour of the chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HourBucket {
    /// The hour's start, Unix ms.
    pub start: Millis,
    /// The local hour (0-23) in the hotline's time zone.
    pub hour: u32,
    /// Calls created in the hour (that have ended), those interpreted and those abandoned.
    pub calls: u32,
    pub interpreted: u32,
    pub abandoned: u32,
}

/// Where the record's query starts: the earlier of today's midnight and the chart's first hour.
pub fn window_start<Tz: TimeZone>(now: Millis, tz: &Tz) -> Millis {
    midnight(now, tz).min(chart_start(now))
}

/// Today's midnight in `tz`, Unix ms.
pub fn midnight<Tz: TimeZone>(now: Millis, tz: &Tz) -> Millis {
    let Some(local) = tz.timestamp_millis_opt(now as i64).single() else {
        return now - now % (24 * HOUR_MS);
    };
    let into_day = u64::from(local.num_seconds_from_midnight()) * 1000 + now % 1000;
    now.saturating_sub(into_day)
}

/// The first chart hour's start: 23 whole hours before the current hour's.
fn chart_start(now: Millis) -> Millis {
    (now - now % HOUR_MS).saturating_sub((CHART_HOURS as u64 - 1) * HOUR_MS)
}

/// Today's figures from the record's calls (any may lie outside today: they are skipped).
pub fn today<Tz: TimeZone>(calls: &[CallDigest], now: Millis, tz: &Tz) -> Today {
    let from = midnight(now, tz);
    let day: Vec<&CallDigest> = calls
        .iter()
        .filter(|c| c.created_at >= from && c.created_at <= now)
        .collect();
    let mut t = Today {
        calls: day.len() as u32,
        ..Today::default()
    };
    let mut waits = Vec::new();
    let mut within = [0u32; 2];
    let mut stars = Vec::new();
    for c in &day {
        t.answered += u32::from(c.answered_at.is_some());
        t.abandoned += u32::from(c.outcome == CallOutcome::Abandoned);
        t.interpreted += u32::from(c.interpreter_joined_at.is_some());
        if let Some(s) = c.stars {
            stars.push(s);
        }
        if !c.asked_for_interpreter() {
            continue;
        }
        t.asked_for_interpreter += 1;
        if let Some(w) = c.time_to_interpreter() {
            waits.push(w);
            for (n, limit) in within.iter_mut().zip(SERVICE_LEVEL_MS) {
                *n += u32::from(w <= limit);
            }
        }
    }
    let share = |n: u32, of: u32| (of > 0).then(|| f64::from(n) / f64::from(of));
    t.service_level_20s = share(within[0], t.asked_for_interpreter);
    t.service_level_30s = share(within[1], t.asked_for_interpreter);
    waits.sort_unstable();
    t.time_to_interpreter_median_ms = percentile(&waits, 50);
    t.time_to_interpreter_p90_ms = percentile(&waits, 90);
    t.ratings = stars.len() as u32;
    if !stars.is_empty() {
        let sum: u32 = stars.iter().map(|&s| u32::from(s)).sum();
        t.mean_stars = Some(f64::from(sum) / stars.len() as f64);
        let happy = stars.iter().filter(|&&s| s >= 4).count() as u32;
        t.satisfaction = share(happy, t.ratings);
    }
    t
}

/// The `p`th percentile of sorted `v` (nearest rank), `None` when empty.
fn percentile(v: &[Millis], p: usize) -> Option<Millis> {
    if v.is_empty() {
        return None;
    }
    let rank = (p * v.len()).div_ceil(100).max(1);
    v.get(rank - 1).copied()
}

/// The last 24 hours, one bucket an hour, the current hour last.
pub fn hours<Tz: TimeZone>(calls: &[CallDigest], now: Millis, tz: &Tz) -> Vec<HourBucket> {
    let first = chart_start(now);
    let mut buckets: Vec<HourBucket> = (0..CHART_HOURS as u64)
        .map(|i| {
            let start = first + i * HOUR_MS;
            HourBucket {
                start,
                hour: tz
                    .timestamp_millis_opt(start as i64)
                    .single()
                    .map_or(0, |t| t.hour()),
                calls: 0,
                interpreted: 0,
                abandoned: 0,
            }
        })
        .collect();
    for c in calls {
        if c.created_at < first || c.created_at > now {
            continue;
        }
        let i = ((c.created_at - first) / HOUR_MS) as usize;
        if let Some(b) = buckets.get_mut(i) {
            b.calls += 1;
            b.interpreted += u32::from(c.interpreter_joined_at.is_some());
            b.abandoned += u32::from(c.outcome == CallOutcome::Abandoned);
        }
    }
    buckets
}

/// What is going on now for one language (`None`: calls whose language is not known yet).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LanguageNow {
    pub language: Option<Language>,
    /// Calls waiting for an operator.
    pub waiting: u32,
    /// Calls answered and not yet ended.
    pub live: u32,
    /// Interpreters present and available.
    pub available: u32,
    /// Interpreters ringing, in a call or in wrap-up.
    pub busy: u32,
    /// Interpreters whose weekly schedule has them on shift now.
    pub on_shift: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: Millis = HOUR_MS;
    const S: Millis = 1000;
    /// 2026-12-04 00:00 in Beijing (UTC+8) = 2026-12-03 16:00 UTC.
    const MIDNIGHT: Millis = 1_796_313_600_000;

    fn tz() -> chrono_tz::Tz {
        chrono_tz::Asia::Shanghai
    }

    fn pt() -> Option<Language> {
        Language::parse("pt").ok()
    }

    /// A call created at `at`, answered 10 s later, ended 5 minutes later, in Portuguese chosen by
    /// the caller.
    fn call(at: Millis) -> CallDigest {
        CallDigest {
            language: pt(),
            language_source: "chosen".into(),
            outcome: CallOutcome::Ended,
            created_at: at,
            answered_at: Some(at + 10 * S),
            ended_at: at + 300 * S,
            interpreter_joined_at: None,
            offers: 0,
            stars: None,
        }
    }

    fn interpreted(at: Millis, after: Millis) -> CallDigest {
        CallDigest {
            interpreter_joined_at: Some(at + after),
            offers: 1,
            ..call(at)
        }
    }

    #[test]
    fn midnight_is_the_hotlines_own() {
        assert_eq!(midnight(MIDNIGHT + 5 * H + 123, &tz()), MIDNIGHT);
        assert_eq!(midnight(MIDNIGHT - 1, &tz()), MIDNIGHT - 24 * H);
        assert_eq!(
            midnight(MIDNIGHT + 10 * H, &chrono_tz::UTC),
            MIDNIGHT + 8 * H
        );
    }

    #[test]
    fn service_level_time_to_interpreter_and_satisfaction_of_a_small_day() {
        let now = MIDNIGHT + 10 * H;
        let mut calls = vec![
            // Yesterday: not today's.
            interpreted(MIDNIGHT - H, 5 * S),
            // Interpreter joined 12 s, 25 s and 40 s after the language was known.
            interpreted(MIDNIGHT + H, 12 * S),
            interpreted(MIDNIGHT + 2 * H, 25 * S),
            interpreted(MIDNIGHT + 3 * H, 40 * S),
            // Asked (an offer was made) but nobody joined: a miss.
            CallDigest {
                offers: 2,
                ..call(MIDNIGHT + 4 * H)
            },
            // The operator set the language on answering (10 s in); joined 15 s after that.
            CallDigest {
                language_source: "operator".into(),
                ..interpreted(MIDNIGHT + 5 * H, 25 * S)
            },
            // No interpreter asked for (a Chinese call, say).
            call(MIDNIGHT + 6 * H),
            // Abandoned before an operator answered.
            CallDigest {
                outcome: CallOutcome::Abandoned,
                answered_at: None,
                ..call(MIDNIGHT + 7 * H)
            },
        ];
        for (i, stars) in [(1, 5), (2, 4), (3, 2), (6, 5)] {
            calls[i].stars = Some(stars);
        }
        let t = today(&calls, now, &tz());
        assert_eq!(t.calls, 7);
        assert_eq!(t.answered, 6);
        assert_eq!(t.abandoned, 1);
        assert_eq!(t.interpreted, 4);
        assert_eq!(t.asked_for_interpreter, 5);
        // Waits 12, 25, 40, 15 s and one miss: 2 of 5 within 20 s, 3 of 5 within 30 s.
        assert_eq!(t.service_level_20s, Some(0.4));
        assert_eq!(t.service_level_30s, Some(0.6));
        // Sorted 12, 15, 25, 40: the median by nearest rank is the 2nd, p90 the 4th.
        assert_eq!(t.time_to_interpreter_median_ms, Some(15 * S));
        assert_eq!(t.time_to_interpreter_p90_ms, Some(40 * S));
        // Stars 5, 4, 2, 5: mean 4, three of four satisfied.
        assert_eq!(t.ratings, 4);
        assert_eq!(t.mean_stars, Some(4.0));
        assert_eq!(t.satisfaction, Some(0.75));
        assert_eq!((t.resolution, t.cases), (None, None));
    }

    #[test]
    fn an_empty_day_has_counts_of_zero_and_no_shares() {
        let t = today(&[], MIDNIGHT + H, &tz());
        assert_eq!(t, Today::default());
    }

    #[test]
    fn the_chart_has_the_last_24_hours_the_current_one_last() {
        let now = MIDNIGHT + 2 * H + 30 * 60 * S;
        let calls = vec![
            // 25 hours ago: off the chart.
            call(now - 25 * H),
            // The chart's first hour (23 whole hours before the current one).
            call(MIDNIGHT + 2 * H - 23 * H),
            interpreted(MIDNIGHT + 2 * H + 60 * S, 10 * S),
            CallDigest {
                outcome: CallOutcome::Abandoned,
                ..call(MIDNIGHT + 2 * H + 120 * S)
            },
        ];
        let h = hours(&calls, now, &tz());
        assert_eq!(h.len(), CHART_HOURS);
        assert_eq!(h[23].start, MIDNIGHT + 2 * H);
        assert_eq!(h[23].hour, 2, "02:00 in Beijing");
        assert_eq!(h[0].hour, 3, "yesterday 03:00");
        assert_eq!((h[0].calls, h[0].interpreted), (1, 0));
        assert_eq!((h[23].calls, h[23].interpreted, h[23].abandoned), (2, 1, 1));
        assert_eq!(h.iter().map(|b| b.calls).sum::<u32>(), 3);
        assert_eq!(window_start(now, &tz()), h[0].start);
    }
}
