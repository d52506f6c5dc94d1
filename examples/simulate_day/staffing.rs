//! Capacity check beside the simulation: for each language and Beijing hour, the offered load
//! from the same curve, mix and call lengths, the fewest dedicated interpreters that Erlang C says
//! reach the service-level target, and how many the roster has on shift. Tells the roster owner
//! exactly where capacity is short, which the simulated figures alone do not.

use hotline_bridge::domain::{InterpreterProfile, Language, Millis};
use std::collections::BTreeMap;

/// Largest staff Erlang C is asked about; a need beyond it is printed as this number.
const MAX_AGENTS: u32 = 60;

/// Probability that a call waits at all with `n` agents and `a` Erlangs (Erlang C).
fn erlang_c(n: u32, a: f64) -> f64 {
    if f64::from(n) <= a {
        return 1.0;
    }
    // Erlang B by recursion, then C from B.
    let mut b = 1.0;
    for k in 1..=n {
        b = a * b / (f64::from(k) + a * b);
    }
    let rho = a / f64::from(n);
    b / (1.0 - rho + rho * b)
}

/// Fewest agents so that P(wait ≤ t) ≥ target, for load `a` and handling time `aht_s`.
pub fn agents_needed(a: f64, aht_s: f64, t_s: f64, target: f64) -> u32 {
    if a <= 0.0 {
        return 0;
    }
    (1..=MAX_AGENTS)
        .find(|&n| {
            let sl = 1.0 - erlang_c(n, a) * (-(f64::from(n) - a) * t_s / aht_s).exp();
            sl >= target
        })
        .unwrap_or(MAX_AGENTS)
}

pub struct Load<'a> {
    pub per_day: f64,
    pub curve: &'a [f64],
    pub mix: &'a [(Language, f64)],
    /// Mean handling time per call: talk plus wrap-up, seconds.
    pub aht_s: f64,
    /// Time left to answer within the target after the interpreter's own answer delay, seconds.
    pub wait_s: f64,
    pub target: f64,
}

/// Prints `need/have` per language and Beijing hour, `!` where the roster has fewer on shift than
/// needed. `have` counts each interpreter once, in the first language listed for them: someone who
/// speaks ko and en cannot take a Korean and an English call at the same time.
pub fn print(load: &Load<'_>, profiles: &[InterpreterProfile], start: Millis) {
    let curve_sum: f64 = load.curve.iter().sum();
    let mix_sum: f64 = load.mix.iter().map(|m| m.1).sum();
    let mut short: BTreeMap<Language, Vec<String>> = BTreeMap::new();
    println!(
        "capacity (Erlang C, {:.0}% within {:.0} s, handling {:.0} s): need/have interpreters on shift per Beijing hour (have: by first language)",
        load.target * 100.0,
        load.wait_s,
        load.aht_s
    );
    print!("lang ");
    for h in 0..24 {
        print!(" {h:>5}");
    }
    println!();
    for (l, w) in load.mix {
        print!("{l:<5}");
        for h in 0..24 {
            let calls = load.per_day * load.curve[h] / curve_sum * w / mix_sum;
            let need = agents_needed(
                calls * load.aht_s / 3600.0,
                load.aht_s,
                load.wait_s,
                load.target,
            );
            let mid = i64::try_from(start + h as u64 * 3_600_000 + 1_800_000)
                .ok()
                .and_then(chrono::DateTime::from_timestamp_millis);
            let have = profiles
                .iter()
                .filter(|p| p.languages.first().is_some_and(|s| s.language == *l))
                .filter(|p| mid.is_some_and(|at| p.schedule.on_shift(at)))
                .count() as u32;
            let mark = if have < need { "!" } else { " " };
            print!(" {:>4}{mark}", format!("{need}/{have}"));
            if have < need {
                short
                    .entry(*l)
                    .or_default()
                    .push(format!("{h:02}h +{}", need - have));
            }
        }
        println!();
    }
    for (l, hours) in short {
        println!("  short {l}: {}", hours.join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_c_matches_the_textbook_example() {
        // 10 Erlangs on 11 agents: P(wait) ≈ 0.682 (standard table value).
        assert!((erlang_c(11, 10.0) - 0.682).abs() < 0.01);
        assert_eq!(agents_needed(0.0, 400.0, 25.0, 0.95), 0);
    }
}
