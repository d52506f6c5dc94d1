//! Coverage: for each language and each of the 168 hours of a UTC week (Monday 00:00 UTC first),
//! how many interpreters are scheduled, and the core-language hours below the minimum (gaps).
//! Pure: profiles and the week are passed in; no clock, no pool.

use crate::domain::{week_start, InterpreterProfile, Language, HOURS_PER_WEEK};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fmt;
use utoipa::ToSchema;

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Scheduled interpreters per hour for one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LanguageCoverage {
    #[schema(value_type = String, example = "en")]
    pub language: Language,
    /// A core language must be covered around the clock; others are best effort.
    pub core: bool,
    /// 168 counts, Monday 00:00 UTC first.
    pub counts: Vec<u32>,
}

/// A run of hours of one core language with the same too-small count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Gap {
    #[schema(value_type = String, example = "ko")]
    pub language: Language,
    /// First hour of the week (0 = Monday 00:00 UTC).
    pub start_hour: usize,
    /// Hour after the last one (exclusive), up to 168.
    pub end_hour: usize,
    pub count: u32,
    pub needs: u32,
}

/// A gap and its sentence, e.g. `ko: Tue 03:00–05:00 UTC has 0, needs 1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct GapReport {
    #[serde(flatten)]
    pub gap: Gap,
    pub text: String,
}

/// Coverage, whether the core languages are covered, and the gaps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CoverageReport {
    #[serde(flatten)]
    pub coverage: Coverage,
    pub covered: bool,
    pub gaps: Vec<GapReport>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Coverage {
    /// Monday 00:00 UTC of the week shown.
    #[schema(value_type = String, format = DateTime)]
    pub week_start: DateTime<Utc>,
    pub min_interpreters: u32,
    pub languages: Vec<LanguageCoverage>,
}

impl Coverage {
    /// Coverage of `core` then `extended` languages in the week containing `at`.
    pub fn compute(
        profiles: &[InterpreterProfile],
        core: &[Language],
        extended: &[Language],
        min_interpreters: u32,
        at: DateTime<Utc>,
    ) -> Coverage {
        let start = week_start(at);
        let mut languages: Vec<LanguageCoverage> = core
            .iter()
            .map(|l| (l, true))
            .chain(extended.iter().map(|l| (l, false)))
            .map(|(l, core)| LanguageCoverage {
                language: *l,
                core,
                counts: vec![0; HOURS_PER_WEEK],
            })
            .collect();
        for p in profiles {
            let covered = p.schedule.hours_covered(start);
            for lc in languages
                .iter_mut()
                .filter(|lc| p.level_in(lc.language).is_some())
            {
                for (count, on) in lc.counts.iter_mut().zip(covered) {
                    *count += u32::from(on);
                }
            }
        }
        Coverage {
            week_start: start,
            min_interpreters,
            languages,
        }
    }

    /// Core-language hours below the minimum, grouped into runs of equal count.
    pub fn gaps(&self) -> Vec<Gap> {
        let mut out = Vec::new();
        for lc in self.languages.iter().filter(|lc| lc.core) {
            let mut h = 0;
            while h < lc.counts.len() {
                let count = lc.counts[h];
                if count >= self.min_interpreters {
                    h += 1;
                    continue;
                }
                let start = h;
                while h < lc.counts.len() && lc.counts[h] == count {
                    h += 1;
                }
                out.push(Gap {
                    language: lc.language,
                    start_hour: start,
                    end_hour: h,
                    count,
                    needs: self.min_interpreters,
                });
            }
        }
        out
    }

    pub fn is_covered(&self) -> bool {
        self.gaps().is_empty()
    }

    /// The coverage with its gaps spelled out, as the CLI's `--json` and the HTTP API return it.
    pub fn report(self) -> CoverageReport {
        let gaps: Vec<GapReport> = self
            .gaps()
            .into_iter()
            .map(|gap| GapReport {
                text: gap.to_string(),
                gap,
            })
            .collect();
        CoverageReport {
            covered: gaps.is_empty(),
            coverage: self,
            gaps,
        }
    }

    pub fn language(&self, l: Language) -> Option<&LanguageCoverage> {
        self.languages.iter().find(|lc| lc.language == l)
    }

    /// A heat map per language for terminals: 7 rows (days) × 24 columns (UTC hours) of counts,
    /// gaps marked with `!`.
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "Interpreters scheduled per hour, week of {} (hours in UTC; Beijing = UTC+8).\n\
             Each cell is a count (+ = 10 or more); '!' marks a core-language gap (below {}).\n",
            self.week_start.format("%Y-%m-%d"),
            self.min_interpreters
        ));
        let header: String = (0..24).map(|h| format!("{h:>3}")).collect();
        for lc in &self.languages {
            let kind = if lc.core { "core" } else { "extended" };
            let low = lc.counts.iter().min().copied().unwrap_or(0);
            let high = lc.counts.iter().max().copied().unwrap_or(0);
            s.push_str(&format!(
                "\n{} ({kind}): {low}–{high} per hour\n     {header}\n",
                lc.language
            ));
            for (d, day) in DAY_NAMES.iter().enumerate() {
                s.push_str(&format!("  {day}"));
                for c in &lc.counts[d * 24..(d + 1) * 24] {
                    let gap = lc.core && *c < self.min_interpreters;
                    let digits = if *c >= 10 {
                        "+".to_owned()
                    } else {
                        c.to_string()
                    };
                    s.push_str(&format!(" {}{digits}", if gap { '!' } else { ' ' }));
                }
                s.push('\n');
            }
        }
        s
    }
}

/// `Mon 03:00` for an hour of the week (168 = the next Monday, written `Sun 24:00`).
fn hour_label(hour: usize) -> String {
    if hour == HOURS_PER_WEEK {
        return "Sun 24:00".into();
    }
    format!("{} {:02}:00", DAY_NAMES[hour / 24 % 7], hour % 24)
}

impl Gap {
    /// `Tue 03:00–05:00 UTC`, naming the end day only when it differs.
    pub fn range_text(&self) -> String {
        let start = hour_label(self.start_hour);
        let same_day = (self.end_hour - 1) / 24 == self.start_hour / 24;
        let end = if same_day {
            format!("{:02}:00", (self.end_hour - 1) % 24 + 1)
        } else {
            hour_label(self.end_hour)
        };
        format!("{start}–{end} UTC")
    }
}

impl fmt::Display for Gap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} has {}, needs {}",
            self.language,
            self.range_text(),
            self.count,
            self.needs
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        Day, InterpreterId, LanguageSkill, Level, Shift, TimeOfDay, TimeZoneName, UniversityId,
        WeeklySchedule,
    };

    fn lang(s: &str) -> Language {
        Language::parse(s).expect("lang")
    }

    fn profile(
        id: &str,
        langs: &[&str],
        tz: &str,
        shifts: &[(Day, &str, &str)],
    ) -> InterpreterProfile {
        InterpreterProfile {
            id: InterpreterId::parse(id).expect("id"),
            university: UniversityId::parse("u").expect("uid"),
            name: id.into(),
            languages: langs
                .iter()
                .map(|l| LanguageSkill {
                    language: lang(l),
                    level: Level::Professional,
                })
                .collect(),
            schedule: WeeklySchedule {
                timezone: TimeZoneName::parse(tz).expect("tz"),
                shifts: shifts
                    .iter()
                    .map(|(day, s, e)| Shift {
                        day: *day,
                        start: TimeOfDay::parse(s).expect("t"),
                        end: TimeOfDay::parse(e).expect("t"),
                    })
                    .collect(),
            },
            token_sha256: None,
            phone: None,
            ring: Default::default(),
        }
    }

    fn at() -> DateTime<Utc> {
        "2026-12-02T12:00:00Z".parse().expect("instant")
    }

    #[test]
    fn counts_each_language_an_interpreter_speaks_in_utc_hours() {
        // Shanghai Mon 09:00-11:00 local = Mon 01:00-03:00 UTC.
        let a = profile(
            "u-a",
            &["en", "fr"],
            "Asia/Shanghai",
            &[(Day::Mon, "09:00", "11:00")],
        );
        let b = profile("u-b", &["en"], "UTC", &[(Day::Mon, "02:00", "04:00")]);
        let c = Coverage::compute(&[a, b], &[lang("en"), lang("fr")], &[lang("pt")], 1, at());
        let en = &c.language(lang("en")).expect("en").counts;
        assert_eq!(&en[0..5], &[0, 1, 2, 1, 0]);
        let fr = &c.language(lang("fr")).expect("fr").counts;
        assert_eq!(&fr[0..4], &[0, 1, 1, 0]);
        assert_eq!(
            c.language(lang("pt"))
                .expect("pt")
                .counts
                .iter()
                .sum::<u32>(),
            0
        );
        assert_eq!(
            c.week_start,
            "2026-11-30T00:00:00Z".parse::<DateTime<Utc>>().expect("t")
        );
    }

    #[test]
    fn gaps_are_core_hours_below_the_minimum_grouped_by_count() {
        // Covered all week except Tue 03:00-05:00 UTC (hours 27, 28).
        let all_but = profile(
            "u-a",
            &["ko"],
            "UTC",
            &[
                (Day::Mon, "00:00", "24:00"),
                (Day::Tue, "00:00", "03:00"),
                (Day::Tue, "05:00", "24:00"),
                (Day::Wed, "00:00", "24:00"),
                (Day::Thu, "00:00", "24:00"),
                (Day::Fri, "00:00", "24:00"),
                (Day::Sat, "00:00", "24:00"),
                (Day::Sun, "00:00", "24:00"),
            ],
        );
        let c = Coverage::compute(&[all_but], &[lang("ko")], &[lang("pt")], 1, at());
        let gaps = c.gaps();
        assert_eq!(gaps.len(), 1, "{gaps:?}");
        assert_eq!(
            gaps[0].to_string(),
            "ko: Tue 03:00–05:00 UTC has 0, needs 1"
        );
        assert!(!c.is_covered());

        // Raising the minimum to 2 makes the whole week a gap, split where the count changes.
        let c = Coverage {
            min_interpreters: 2,
            ..c
        };
        let text: Vec<String> = c.gaps().iter().map(|g| g.to_string()).collect();
        assert_eq!(
            text,
            vec![
                "ko: Mon 00:00–Tue 03:00 UTC has 1, needs 2",
                "ko: Tue 03:00–05:00 UTC has 0, needs 2",
                "ko: Tue 05:00–Sun 24:00 UTC has 1, needs 2",
            ]
        );
    }

    #[test]
    fn extended_languages_never_count_as_gaps() {
        let c = Coverage::compute(&[], &[], &[lang("pt")], 1, at());
        assert!(c.is_covered());
        let c = Coverage::compute(&[], &[lang("en")], &[], 1, at());
        assert_eq!(
            c.gaps()[0].to_string(),
            "en: Mon 00:00–Sun 24:00 UTC has 0, needs 1"
        );
    }

    #[test]
    fn a_gap_ending_at_midnight_reads_24_00() {
        let g = Gap {
            language: lang("ar"),
            start_hour: 44,
            end_hour: 48,
            count: 0,
            needs: 1,
        };
        assert_eq!(g.range_text(), "Tue 20:00–24:00 UTC");
        let g = Gap {
            language: lang("ar"),
            start_hour: 44,
            end_hour: 49,
            count: 0,
            needs: 1,
        };
        assert_eq!(g.range_text(), "Tue 20:00–Wed 01:00 UTC");
    }

    #[test]
    fn the_text_heat_map_has_a_row_per_day_and_marks_gaps() {
        let a = profile("u-a", &["en"], "UTC", &[(Day::Mon, "00:00", "02:00")]);
        let c = Coverage::compute(&[a], &[lang("en")], &[], 1, at());
        let text = c.render_text();
        let mon = text
            .lines()
            .find(|l| l.trim_start().starts_with("Mon"))
            .expect("Mon row");
        assert!(mon.starts_with("  Mon  1  1 !0"), "{mon:?}");
        assert_eq!(
            text.lines()
                .filter(|l| l.trim_start().starts_with("Sun"))
                .count(),
            1
        );
    }
}
