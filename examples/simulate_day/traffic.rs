//! The day's traffic and people: call arrivals from an hourly curve and a language mix, call
//! lengths, and how interpreters answer offers. All drawn from one seeded RNG.

use anyhow::{bail, Context};
use hotline_bridge::domain::{Language, Millis};
use rand::distributions::{Distribution, WeightedIndex};
use rand::rngs::StdRng;
use rand::Rng;
use rand_distr::{LogNormal, Poisson};

pub const HOUR_MS: Millis = 3_600_000;

/// Relative foreign-language call volume per Beijing hour 00..23: quiet at night, a morning rise,
/// peaks late morning and mid-afternoon, tailing off through the evening.
pub const DEFAULT_CURVE: &str =
    "1.0,0.6,0.4,0.3,0.3,0.4,0.8,1.6,3.0,4.5,5.2,5.4,5.0,4.8,5.2,5.4,5.2,4.8,4.2,3.8,3.4,2.8,2.0,1.4";

/// Share of calls per language (the core eight plus pt): English dominates foreign calls to
/// Beijing 12345, then the neighbours' languages and Russian.
pub const DEFAULT_MIX: &str = "en=40,ko=11,ja=10,ru=9,fr=7,de=6,es=6,ar=6,pt=5";

pub struct Arrival {
    pub at: Millis,
    pub language: Language,
}

pub fn parse_curve(s: &str) -> anyhow::Result<Vec<f64>> {
    let w: Vec<f64> = s
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .context("--curve: 24 comma-separated non-negative numbers")?;
    if w.len() != 24 || w.iter().any(|x| !x.is_finite() || *x < 0.0) || w.iter().sum::<f64>() <= 0.0
    {
        bail!("--curve: 24 comma-separated non-negative numbers, not all zero");
    }
    Ok(w)
}

pub fn parse_mix(s: &str) -> anyhow::Result<Vec<(Language, f64)>> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let (l, w) = part
            .split_once('=')
            .with_context(|| format!("--mix: {part:?} is not lang=weight"))?;
        let language = Language::parse(l)?;
        let weight: f64 = w
            .trim()
            .parse()
            .with_context(|| format!("--mix: weight of {l}"))?;
        if !weight.is_finite() || weight < 0.0 {
            bail!("--mix: weight of {l} must be non-negative");
        }
        out.push((language, weight));
    }
    if out.iter().map(|x| x.1).sum::<f64>() <= 0.0 {
        bail!("--mix: weights must not all be zero");
    }
    Ok(out)
}

/// Poisson arrivals over 24 hours from `start`, `per_day` expected, shaped by `curve`.
pub fn arrivals(
    rng: &mut StdRng,
    start: Millis,
    per_day: f64,
    curve: &[f64],
    mix: &[(Language, f64)],
) -> anyhow::Result<Vec<Arrival>> {
    let total: f64 = curve.iter().sum();
    let pick = WeightedIndex::new(mix.iter().map(|m| m.1))?;
    let mut out = Vec::new();
    for (h, w) in curve.iter().enumerate() {
        let mean = per_day * w / total;
        if mean <= 0.0 {
            continue;
        }
        let n = Poisson::new(mean)?.sample(rng) as u64;
        for _ in 0..n {
            out.push(Arrival {
                at: start + h as u64 * HOUR_MS + rng.gen_range(0..HOUR_MS),
                language: mix[pick.sample(rng)].0,
            });
        }
    }
    out.sort_by_key(|a| a.at);
    Ok(out)
}

/// A log-normal distribution given by its median and shape, sampled in milliseconds.
pub struct Lengths(LogNormal<f64>);

impl Lengths {
    pub fn new(median_s: f64, sigma: f64) -> anyhow::Result<Self> {
        if median_s <= 0.0 {
            bail!("medians must be above 0");
        }
        Ok(Self(LogNormal::new(median_s.ln(), sigma)?))
    }

    pub fn sample_ms(&self, rng: &mut StdRng) -> Millis {
        (self.0.sample(rng) * 1000.0).round().max(1.0) as Millis
    }
}

/// How an interpreter reacts to a ringing offer.
pub enum Reaction {
    /// Never answers: the offer times out.
    Ignore,
    Answer {
        after_ms: Millis,
        accept: bool,
    },
}

pub struct Answering {
    pub delay: Lengths,
    pub accept_prob: f64,
    pub no_answer_prob: f64,
}

impl Answering {
    pub fn react(&self, rng: &mut StdRng) -> Reaction {
        if rng.gen_bool(self.no_answer_prob) {
            return Reaction::Ignore;
        }
        Reaction::Answer {
            after_ms: self.delay.sample_ms(rng),
            accept: rng.gen_bool(self.accept_prob),
        }
    }
}
