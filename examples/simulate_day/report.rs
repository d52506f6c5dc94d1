//! What the day simulation measures and prints: per-language time to interpreter, service
//! levels, failures, utilization and fairness, then one `key=value` line over the core eight.

use hotline_bridge::domain::{InterpreterId, Language, Level, Millis};
use std::collections::{BTreeMap, HashMap};

/// Groups of equally eligible interpreters with fewer calls per member than this on average are
/// left out of the fairness figure: with two or three calls a max/min ratio says nothing.
pub const FAIRNESS_MIN_MEAN_CALLS: f64 = 5.0;

#[derive(Default)]
pub struct LanguageStats {
    pub requests: u32,
    /// Time to interpreter of every accepted request.
    pub tti_ms: Vec<Millis>,
    pub failed: u32,
    pub abandoned: u32,
    pub escalated: u32,
    pub relayed: u32,
    pub busy_ms: Millis,
    /// Per hour of the simulated day: requests, and those answered within 30 s.
    pub by_hour: [(u32, u32); 24],
}

#[derive(Default)]
pub struct Report {
    pub languages: BTreeMap<Language, LanguageStats>,
    pub calls: HashMap<InterpreterId, u32>,
    pub logged_in_ms: HashMap<InterpreterId, Millis>,
}

/// Same skills and same shifts: equally eligible for the same calls.
type EligibilityKey = (Vec<(Language, Level)>, Vec<(Millis, Millis)>);

/// One interpreter as fairness and utilization see it.
pub struct Member {
    pub id: InterpreterId,
    pub skills: Vec<(Language, Level)>,
    /// On-shift intervals of the simulated day: equal skills and equal intervals = equally eligible.
    pub shifts: Vec<(Millis, Millis)>,
}

fn percentile(sorted: &[Millis], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1] as f64 / 1000.0)
}

fn pct(n: usize, of: u32) -> f64 {
    if of == 0 {
        100.0
    } else {
        100.0 * n as f64 / f64::from(of)
    }
}

fn show(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |v| format!("{v:.1}"))
}

impl Report {
    pub fn stats(&mut self, l: Language) -> &mut LanguageStats {
        self.languages.entry(l).or_default()
    }

    /// Worst max/min calls over groups of equally eligible interpreters who speak `only` (or any
    /// language when `None`).
    fn fairness(&self, members: &[Member], only: Option<&[Language]>) -> Option<f64> {
        let mut groups: HashMap<EligibilityKey, Vec<u32>> = HashMap::new();
        for m in members {
            if let Some(langs) = only {
                if !m.skills.iter().any(|s| langs.contains(&s.0)) {
                    continue;
                }
            }
            if m.shifts.is_empty() {
                continue;
            }
            let mut skills = m.skills.clone();
            skills.sort();
            groups
                .entry((skills, m.shifts.clone()))
                .or_default()
                .push(self.calls.get(&m.id).copied().unwrap_or(0));
        }
        groups
            .values()
            .filter(|g| g.len() >= 2)
            .filter(|g| {
                f64::from(g.iter().sum::<u32>()) / g.len() as f64 >= FAIRNESS_MIN_MEAN_CALLS
            })
            .map(|g| {
                let max = g.iter().copied().max().unwrap_or(0);
                let min = g.iter().copied().min().unwrap_or(0);
                if min == 0 {
                    f64::INFINITY
                } else {
                    f64::from(max) / f64::from(min)
                }
            })
            .fold(None, |acc: Option<f64>, r| {
                Some(acc.map_or(r, |a| a.max(r)))
            })
    }

    fn utilization(&self, l: Language, members: &[Member]) -> Option<f64> {
        let staffed: Millis = members
            .iter()
            .filter(|m| m.skills.iter().any(|s| s.0 == l))
            .map(|m| self.logged_in_ms.get(&m.id).copied().unwrap_or(0))
            .sum();
        let busy = self.languages.get(&l).map_or(0, |s| s.busy_ms);
        (staffed > 0).then(|| 100.0 * busy as f64 / staffed as f64)
    }

    /// Hours where a language's service level within 30 s fell below `target_pct`.
    pub fn print_short_hours(&self, target_pct: f64) {
        let mut any = false;
        for (l, s) in &self.languages {
            for (h, (n, ok)) in s.by_hour.iter().enumerate() {
                let sl = pct(*ok as usize, *n);
                if *n > 0 && sl < target_pct {
                    if !any {
                        println!("hours below {target_pct}% within 30 s (hour of the simulated day, Beijing time):");
                        any = true;
                    }
                    println!("  {l} {h:02}:00  requests={n} sl30_pct={sl:.0}");
                }
            }
        }
    }

    pub fn print(&self, members: &[Member], core: &[Language]) {
        println!(
            "{:<5} {:>8} {:>10} {:>8} {:>7} {:>7} {:>8} {:>9} {:>9} {:>7} {:>9}",
            "lang",
            "requests",
            "median_s",
            "p90_s",
            "sl20%",
            "sl30%",
            "failures",
            "abandoned",
            "escalated",
            "util%",
            "fairness"
        );
        let mut all = LanguageStats::default();
        for (l, s) in &self.languages {
            let mut t = s.tti_ms.clone();
            t.sort_unstable();
            let within = |ms: Millis| t.iter().filter(|x| **x <= ms).count();
            println!(
                "{:<5} {:>8} {:>10} {:>8} {:>7.1} {:>7.1} {:>8} {:>9} {:>9} {:>7} {:>9}",
                format!("{l}{}", if core.contains(l) { "" } else { "*" }),
                s.requests,
                show(percentile(&t, 0.5)),
                show(percentile(&t, 0.9)),
                pct(within(20_000), s.requests),
                pct(within(30_000), s.requests),
                s.failed + s.abandoned,
                s.abandoned,
                s.escalated,
                show(self.utilization(*l, members)),
                show(self.fairness(members, Some(&[*l])))
            );
            if core.contains(l) {
                all.requests += s.requests;
                all.tti_ms.extend(&s.tti_ms);
                all.failed += s.failed;
                all.abandoned += s.abandoned;
            }
        }
        all.tti_ms.sort_unstable();
        let within = |ms: Millis| all.tti_ms.iter().filter(|x| **x <= ms).count();
        let fairness = self
            .fairness(members, Some(core))
            .map_or_else(|| "-".into(), |f| format!("{f:.2}"));
        println!(
            "requests={} sl20_pct={:.1} sl30_pct={:.1} median_tti_s={} p90_tti_s={} failures={} fairness_max_min={}",
            all.requests,
            pct(within(20_000), all.requests),
            pct(within(30_000), all.requests),
            show(percentile(&all.tti_ms, 0.5)),
            show(percentile(&all.tti_ms, 0.9)),
            all.failed + all.abandoned,
            fairness
        );
    }
}
