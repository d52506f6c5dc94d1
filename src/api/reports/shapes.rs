//! The reports' answers: each a JSON shape and the same figures as a CSV table. Shares are 0..=1,
//! times in ms, interpreter minutes to two decimals.

use super::{label, Asked};
use crate::api::csv::{opt, share, Table};
use crate::api::state::AppState;
use crate::domain::report::{
    hour_label, DemandRow, Grouping, MinutesRow, Shortfall, StarsRow, WaitingRow,
};
use crate::domain::{Millis, UniversityId};
use serde::Serialize;
use std::collections::BTreeMap;

/// The range and clock every report states.
#[derive(Serialize)]
pub struct Range {
    /// First and last day, local dates.
    pub from: String,
    pub to: String,
    pub time_zone: String,
}

impl Range {
    fn of(state: &AppState, a: &Asked) -> Self {
        Self {
            from: a.first_day.to_string(),
            to: a.last_day.to_string(),
            time_zone: state.settings.dashboard.time_zone.clone(),
        }
    }
}

fn university_name(state: &AppState, id: &str) -> String {
    UniversityId::parse(id)
        .ok()
        .and_then(|u| state.university_names.get(&u).cloned())
        .unwrap_or_else(|| id.to_owned())
}

#[derive(Serialize)]
pub struct WaitingView {
    #[serde(flatten)]
    range: Range,
    by: &'static str,
    rows: Vec<WaitingLine>,
}

#[derive(Serialize)]
struct WaitingLine {
    /// The group: a language, university or interpreter id, an hour of the week (0 = Monday
    /// 00:00) or a month; empty for calls without one.
    key: String,
    label: String,
    #[serde(flatten)]
    counts: WaitingRow,
    service_level_20s: Option<f64>,
    service_level_30s: Option<f64>,
    abandoned_waiting_for_operator_rate: Option<f64>,
    abandoned_waiting_for_interpreter_rate: Option<f64>,
}

impl WaitingView {
    pub fn new(state: &AppState, a: &Asked, by: Grouping, rows: Vec<WaitingRow>) -> Self {
        let rows = rows
            .into_iter()
            .map(|r| WaitingLine {
                key: r.key.clone(),
                label: match by {
                    Grouping::University if !r.key.is_empty() => university_name(state, &r.key),
                    _ => label(by, &r.key),
                },
                service_level_20s: r.service_level_20s(),
                service_level_30s: r.service_level_30s(),
                abandoned_waiting_for_operator_rate: r.abandoned_waiting_for_operator_rate(),
                abandoned_waiting_for_interpreter_rate: r.abandoned_waiting_for_interpreter_rate(),
                counts: r,
            })
            .collect();
        Self {
            range: Range::of(state, a),
            by: by.as_str(),
            rows,
        }
    }

    pub fn table(&self) -> Table {
        let mut t = Table::new(vec![
            self.by,
            "label",
            "calls",
            "abandoned_waiting_for_operator",
            "abandoned_waiting_for_operator_rate",
            "asked_for_interpreter",
            "interpreter_joined",
            "within_20s",
            "service_level_20s",
            "within_30s",
            "service_level_30s",
            "abandoned_waiting_for_interpreter",
            "abandoned_waiting_for_interpreter_rate",
            "time_to_interpreter_median_ms",
            "time_to_interpreter_p90_ms",
        ]);
        for l in &self.rows {
            let c = &l.counts;
            t.rows.push(vec![
                l.key.clone(),
                l.label.clone(),
                c.calls.to_string(),
                c.abandoned_waiting_for_operator.to_string(),
                share(l.abandoned_waiting_for_operator_rate),
                c.asked_for_interpreter.to_string(),
                c.interpreter_joined.to_string(),
                c.within_20s.to_string(),
                share(l.service_level_20s),
                c.within_30s.to_string(),
                share(l.service_level_30s),
                c.abandoned_waiting_for_interpreter.to_string(),
                share(l.abandoned_waiting_for_interpreter_rate),
                opt(c.time_to_interpreter_median_ms),
                opt(c.time_to_interpreter_p90_ms),
            ]);
        }
        t
    }
}

#[derive(Serialize)]
pub struct SatisfactionView {
    #[serde(flatten)]
    range: Range,
    rows: Vec<SatisfactionLine>,
}

#[derive(Serialize)]
struct SatisfactionLine {
    language: String,
    stars_1: u64,
    stars_2: u64,
    stars_3: u64,
    stars_4: u64,
    stars_5: u64,
    ratings: u64,
    mean_stars: Option<f64>,
    /// Share of ratings with 4 or 5 stars.
    satisfied: Option<f64>,
}

impl SatisfactionView {
    pub fn new(state: &AppState, a: &Asked, rows: Vec<StarsRow>) -> Self {
        let rows = rows
            .into_iter()
            .map(|r| {
                let [s1, s2, s3, s4, s5] = r.stars;
                let ratings = s1 + s2 + s3 + s4 + s5;
                let sum = s1 + 2 * s2 + 3 * s3 + 4 * s4 + 5 * s5;
                SatisfactionLine {
                    language: r.language,
                    stars_1: s1,
                    stars_2: s2,
                    stars_3: s3,
                    stars_4: s4,
                    stars_5: s5,
                    ratings,
                    mean_stars: (ratings > 0).then(|| sum as f64 / ratings as f64),
                    satisfied: crate::domain::report::share(s4 + s5, ratings),
                }
            })
            .collect();
        Self {
            range: Range::of(state, a),
            rows,
        }
    }

    pub fn table(&self) -> Table {
        let mut t = Table::new(vec![
            "language",
            "stars_1",
            "stars_2",
            "stars_3",
            "stars_4",
            "stars_5",
            "ratings",
            "mean_stars",
            "satisfied",
        ]);
        for l in &self.rows {
            t.rows.push(vec![
                l.language.clone(),
                l.stars_1.to_string(),
                l.stars_2.to_string(),
                l.stars_3.to_string(),
                l.stars_4.to_string(),
                l.stars_5.to_string(),
                l.ratings.to_string(),
                l.mean_stars.map(|m| format!("{m:.2}")).unwrap_or_default(),
                share(l.satisfied),
            ]);
        }
        t
    }
}

/// Minutes to two decimals.
fn minutes(ms: Millis) -> f64 {
    (ms as f64 / 600.0).round() / 100.0
}

#[derive(Serialize)]
pub struct MinutesView {
    #[serde(flatten)]
    range: Range,
    /// Set when this is one university's own statement.
    #[serde(skip_serializing_if = "Option::is_none")]
    university: Option<String>,
    interpreters: Vec<MinutesLine>,
    universities: Vec<MinutesLine>,
}

#[derive(Serialize)]
struct MinutesLine {
    month: String,
    /// Empty when the roster no longer names the interpreter's university.
    university: String,
    university_name: String,
    /// Absent on a university's total.
    #[serde(skip_serializing_if = "Option::is_none")]
    interpreter: Option<String>,
    /// Calls the interpreter joined (a university's: its interpreters' summed).
    calls: u64,
    ms: Millis,
    minutes: f64,
}

impl MinutesView {
    pub fn new(state: &AppState, a: &Asked, rows: Vec<MinutesRow>, only: Option<&str>) -> Self {
        let rows: Vec<MinutesRow> = rows
            .into_iter()
            .filter(|r| only.is_none_or(|u| r.university == u))
            .collect();
        let mut totals: BTreeMap<(String, String), (u64, Millis)> = BTreeMap::new();
        for r in &rows {
            let t = totals
                .entry((r.month.clone(), r.university.clone()))
                .or_default();
            t.0 += r.calls;
            t.1 += r.ms;
        }
        let line = |month: String, university: String, interpreter, calls, ms| MinutesLine {
            university_name: if university.is_empty() {
                String::new()
            } else {
                university_name(state, &university)
            },
            month,
            university,
            interpreter,
            calls,
            ms,
            minutes: minutes(ms),
        };
        Self {
            range: Range::of(state, a),
            university: only.map(str::to_owned),
            interpreters: rows
                .into_iter()
                .map(|r| line(r.month, r.university, Some(r.interpreter), r.calls, r.ms))
                .collect(),
            universities: totals
                .into_iter()
                .map(|((m, u), (calls, ms))| line(m, u, None, calls, ms))
                .collect(),
        }
    }

    pub fn table(&self) -> Table {
        let mut t = Table::new(vec![
            "month",
            "university",
            "university_name",
            "interpreter",
            "calls",
            "minutes",
        ]);
        for l in &self.interpreters {
            t.rows.push(vec![
                l.month.clone(),
                l.university.clone(),
                l.university_name.clone(),
                l.interpreter.clone().unwrap_or_default(),
                l.calls.to_string(),
                format!("{:.2}", l.minutes),
            ]);
        }
        t
    }
}

#[derive(Serialize)]
pub struct DemandView {
    #[serde(flatten)]
    range: Range,
    rows: Vec<DemandLine>,
    /// The hours where one more interpreter would have cut waiting the most, most first.
    shortfalls: Vec<ShortfallLine>,
}

#[derive(Serialize)]
struct DemandLine {
    #[serde(flatten)]
    row: DemandRow,
    label: String,
    /// Interpreters of the language the schedule has on shift in that hour of the week now.
    on_shift: u32,
}

#[derive(Serialize)]
struct ShortfallLine {
    #[serde(flatten)]
    shortfall: Shortfall,
    label: String,
}

impl DemandView {
    pub fn new(
        state: &AppState,
        a: &Asked,
        rows: &[DemandRow],
        on_shift: impl Fn(&str, u32) -> u32,
        named: Vec<Shortfall>,
    ) -> Self {
        Self {
            range: Range::of(state, a),
            rows: rows
                .iter()
                .map(|r| DemandLine {
                    label: hour_label(r.hour_of_week),
                    on_shift: on_shift(&r.language, r.hour_of_week),
                    row: r.clone(),
                })
                .collect(),
            shortfalls: named
                .into_iter()
                .map(|s| ShortfallLine {
                    label: hour_label(s.hour_of_week),
                    shortfall: s,
                })
                .collect(),
        }
    }

    pub fn table(&self) -> Table {
        let mut t = Table::new(vec![
            "language",
            "hour_of_week",
            "label",
            "calls",
            "asked_for_interpreter",
            "waited_ms",
            "on_shift",
        ]);
        for l in &self.rows {
            t.rows.push(vec![
                l.row.language.clone(),
                l.row.hour_of_week.to_string(),
                l.label.clone(),
                l.row.calls.to_string(),
                l.row.asked_for_interpreter.to_string(),
                l.row.waited_ms.to_string(),
                l.on_shift.to_string(),
            ]);
        }
        t
    }
}
