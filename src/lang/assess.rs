//! The combination rules: the caller's signals in, a ranked list of candidates and the decision
//! out. The rules and their weights are stated in `lang/mod.rs`; this file only applies them.

use super::tag::parse_preferences;
use super::text::{TextDetector, TextEvidence};
use super::{Assessment, Candidate, Signals, Source};
use crate::domain::Language;

/// Confidence of the caller's own pick on the page: the strongest signal short of the operator.
const CHOSEN_CONFIDENCE: f64 = 0.97;
/// What the browser's first language is worth alone: below any sensible threshold, because
/// travellers' phones are often set to English or to the country they are in.
const BROWSER_FIRST: f64 = 0.6;
/// Each further browser language is worth this much of the one before it (then times its q).
const BROWSER_DECAY: f64 = 0.6;
/// How much a source that prefers another language dents a candidate, per point of difference
/// between its favourite's score and the candidate's.
const TEXT_DISSENT: f64 = 0.5;
const BROWSER_DISSENT: f64 = 0.2;
/// Confidence left to the other candidates when the caller or the operator picked a language.
const OVERRULED_FACTOR: f64 = 0.2;
/// A text score below this is noise, not a source the console should name.
const TEXT_SOURCE_MIN: f64 = 0.05;
/// Candidates reported at most; the rest are too weak to show.
const MAX_CANDIDATES: usize = 5;
/// Candidates below this confidence are not reported.
const MIN_CONFIDENCE: f64 = 0.01;

/// See `lang::assess`; this variant takes a detector built once (the harness, hot paths).
pub fn assess_with(
    signals: &Signals,
    configured: &[Language],
    threshold: f64,
    detector: &TextDetector,
) -> Assessment {
    let text = if signals.text.trim().is_empty() {
        TextEvidence {
            scores: Vec::new(),
            words: 0,
            han_only: false,
        }
    } else {
        detector.evidence(&signals.text)
    };
    let browser = browser_scores(&signals.browser_languages, configured);
    let browser_top = browser.first().map(|&(l, s)| (l, s));
    let browser_score = |l: Language| {
        browser
            .iter()
            .find(|(b, _)| *b == l)
            .map_or(0.0, |(_, s)| *s)
    };
    let text_top = text.scores.first().copied();

    let mut languages: Vec<Language> = Vec::new();
    for l in text
        .scores
        .iter()
        .map(|(l, _)| *l)
        .chain(browser.iter().map(|(l, _)| *l))
        .chain(signals.chosen)
        .chain(signals.operator)
    {
        if configured.contains(&l) && !languages.contains(&l) {
            languages.push(l);
        }
    }

    let mut candidates: Vec<Candidate> = languages
        .into_iter()
        .map(|l| {
            let t = text.score(l);
            let b = browser_score(l);
            let mut c = 1.0 - (1.0 - t) * (1.0 - b);
            if let Some((m, s)) = text_top {
                if m != l {
                    c *= 1.0 - TEXT_DISSENT * (s - t).max(0.0);
                }
            }
            if let Some((m, s)) = browser_top {
                if m != l {
                    c *= 1.0 - BROWSER_DISSENT * (s - b).max(0.0);
                }
            }
            let mut sources = Vec::new();
            if signals.operator == Some(l) {
                sources.push(Source::Operator);
            }
            if signals.chosen == Some(l) {
                sources.push(Source::Chosen);
                c = 1.0 - (1.0 - CHOSEN_CONFIDENCE) * (1.0 - t) * (1.0 - b);
            }
            if t >= TEXT_SOURCE_MIN || text_top.is_some_and(|(m, _)| m == l) {
                sources.push(Source::Text);
            }
            if b > 0.0 {
                sources.push(Source::Browser);
            }
            Candidate {
                language: l,
                confidence: c,
                sources,
            }
        })
        .collect();

    // The operator's word is final (confidence 1); the caller's explicit pick beats the rest.
    let overruling: Option<(Language, Option<f64>)> = match (signals.operator, signals.chosen) {
        (Some(o), _) if configured.contains(&o) => Some((o, Some(1.0))),
        (_, Some(c)) if configured.contains(&c) => Some((c, None)),
        _ => None,
    };
    if let Some((winner, fixed)) = overruling {
        for c in &mut candidates {
            if c.language != winner {
                c.confidence *= OVERRULED_FACTOR;
            } else if let Some(f) = fixed {
                c.confidence = f;
            }
        }
    }

    for c in &mut candidates {
        c.confidence = (c.confidence.clamp(0.0, 1.0) * 1000.0).round() / 1000.0;
    }
    candidates.retain(|c| c.confidence >= MIN_CONFIDENCE || Some(c.language) == signals.operator);
    candidates.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then(b.sources.len().cmp(&a.sources.len()))
            .then(a.language.cmp(&b.language))
    });
    if let Some((winner, _)) = overruling {
        // Ties after rounding must not let another language sit above the caller's own choice.
        if let Some(i) = candidates.iter().position(|c| c.language == winner) {
            let c = candidates.remove(i);
            candidates.insert(0, c);
        }
    }
    candidates.truncate(MAX_CANDIDATES);

    let decided = candidates
        .first()
        .filter(|c| c.confidence >= threshold)
        .filter(|c| !(text.han_only && c.sources == [Source::Text]))
        .map(|c| c.language);
    Assessment {
        candidates,
        decided,
    }
}

/// Browser preference scores over the configured languages: the first listed language (any,
/// configured or not) is worth `BROWSER_FIRST`, each further one `BROWSER_DECAY` of the one
/// before, each times its q.
fn browser_scores<S: AsRef<str>>(entries: &[S], configured: &[Language]) -> Vec<(Language, f64)> {
    parse_preferences(entries)
        .into_iter()
        .enumerate()
        .filter(|(_, p)| configured.contains(&p.language))
        .map(|(rank, p)| {
            let decay = BROWSER_DECAY.powi(i32::try_from(rank).unwrap_or(i32::MAX));
            (p.language, BROWSER_FIRST * decay * p.q)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn settings() -> Settings {
        Settings::load_with_env(None, Vec::<(String, String)>::new()).expect("defaults")
    }

    fn lang(s: &str) -> Language {
        Language::parse(s).expect("code")
    }

    fn assess(signals: Signals) -> Assessment {
        let s = settings();
        let configured = s.languages.all();
        assess_with(
            &signals,
            &configured,
            s.detect.threshold,
            &TextDetector::new(&configured),
        )
    }

    fn text(t: &str) -> Signals {
        Signals {
            text: t.into(),
            ..Signals::default()
        }
    }

    fn browser(tags: &[&str]) -> Vec<String> {
        tags.iter().map(|t| t.to_string()).collect()
    }

    fn top(a: &Assessment) -> (String, f64) {
        let c = a.candidates.first().expect("a candidate");
        (c.language.to_string(), c.confidence)
    }

    #[test]
    fn explicit_choice_wins_over_text_and_browser() {
        let a = assess(Signals {
            text: "Guten Tag, ich habe meinen Reisepass im Taxi verloren".into(),
            browser_languages: browser(&["de-DE"]),
            chosen: Some(lang("fr")),
            operator: None,
        });
        assert_eq!(top(&a).0, "fr");
        assert_eq!(a.candidates[0].sources, vec![Source::Chosen]);
        assert_eq!(a.decided, Some(lang("fr")));
        assert!(a.candidates[1].confidence < 0.3, "{a:?}");
    }

    #[test]
    fn browser_only_gives_a_moderate_confidence_below_the_threshold() {
        let a = assess(Signals {
            browser_languages: browser(&["es-ES"]),
            ..Signals::default()
        });
        let (l, c) = top(&a);
        assert_eq!(l, "es");
        assert!((0.4..settings().detect.threshold).contains(&c), "{c}");
        assert_eq!(a.candidates[0].sources, vec![Source::Browser]);
        assert_eq!(a.decided, None);
    }

    #[test]
    fn short_ambiguous_text_never_reaches_the_threshold_alone() {
        let threshold = settings().detect.threshold;
        for t in [
            "Hola",
            "Obrigado",
            "Bonjour",
            "no",
            "Ciao",
            "Danke",
            "hello",
            "Gracias amigo",
            "por favor",
            "Привет",
            "مرحبا",
            "ok merci",
        ] {
            let a = assess(text(t));
            assert_eq!(a.decided, None, "{t}: {a:?}");
            assert!(
                a.candidates.iter().all(|c| c.confidence < threshold),
                "{t}: {a:?}"
            );
        }
    }

    #[test]
    fn a_sentence_of_text_decides_alone() {
        let a = assess(text(
            "Bonjour, j'ai perdu mon passeport dans le métro ce matin",
        ));
        assert_eq!(a.decided, Some(lang("fr")), "{a:?}");
        assert_eq!(a.candidates[0].sources, vec![Source::Text]);
    }

    #[test]
    fn han_only_text_is_not_decided_as_japanese_without_other_evidence() {
        for t in ["東京駅", "我的护照在北京丢失了请帮助我联系大使馆谢谢你们"]
        {
            let a = assess(text(t));
            assert_ne!(a.decided, Some(lang("ja")), "{t}: {a:?}");
            assert_eq!(
                a.decided, None,
                "{t}: Han-only text alone never decides: {a:?}"
            );
            assert!(a.candidates.iter().any(|c| c.language == lang("ja")));
        }
        // Kana is Japanese evidence on its own.
        let a = assess(text(
            "すみません、パスポートをなくしました。大使館はどこですか",
        ));
        assert_eq!(a.decided, Some(lang("ja")), "{a:?}");
    }

    #[test]
    fn han_only_text_with_a_chinese_browser_decides_chinese() {
        let a = assess(Signals {
            text: "我的护照在北京丢失了请帮助我联系大使馆".into(),
            browser_languages: browser(&["zh-CN"]),
            ..Signals::default()
        });
        assert_eq!(a.decided, Some(lang("zh")), "{a:?}");
        assert_eq!(a.candidates[0].sources, vec![Source::Text, Source::Browser]);
    }

    #[test]
    fn regional_browser_tags_map_to_their_language() {
        let a = assess(Signals {
            browser_languages: browser(&["pt-BR", "en-GB;q=0.7"]),
            ..Signals::default()
        });
        let langs: Vec<String> = a
            .candidates
            .iter()
            .map(|c| c.language.to_string())
            .collect();
        assert_eq!(langs, vec!["pt", "en"]);
    }

    #[test]
    fn q_values_order_browser_candidates() {
        let a = assess(Signals {
            browser_languages: browser(&["en;q=0.5", "it;q=0.9", "de"]),
            ..Signals::default()
        });
        let langs: Vec<String> = a
            .candidates
            .iter()
            .map(|c| c.language.to_string())
            .collect();
        assert_eq!(langs, vec!["de", "it", "en"]);
        assert!(a
            .candidates
            .windows(2)
            .all(|w| w[0].confidence > w[1].confidence));
    }

    #[test]
    fn an_unserved_browser_language_is_unknown_not_its_neighbour() {
        let a = assess(Signals {
            browser_languages: browser(&["uk-UA"]),
            ..Signals::default()
        });
        assert!(a.candidates.is_empty(), "{a:?}");
        assert_eq!(a.decided, None);
    }

    #[test]
    fn operator_confirmation_is_final() {
        let mut signals = Signals {
            text: "Olá, perdi o meu passaporte e não sei onde fica a embaixada".into(),
            browser_languages: browser(&["es-ES"]),
            chosen: Some(lang("es")),
            operator: Some(lang("pt")),
        };
        let a = assess(signals.clone());
        assert_eq!(top(&a), ("pt".into(), 1.0));
        assert_eq!(
            a.candidates[0].sources,
            vec![Source::Operator, Source::Text]
        );
        assert_eq!(a.decided, Some(lang("pt")));
        // A change to a language nothing else pointed at still wins.
        signals.operator = Some(lang("it"));
        let a = assess(signals);
        assert_eq!(top(&a), ("it".into(), 1.0));
        assert_eq!(a.decided, Some(lang("it")));
    }

    #[test]
    fn text_and_browser_agreeing_decide_where_the_text_alone_would_not() {
        let short = "Preciso de ajuda";
        assert_eq!(assess(text(short)).decided, None);
        let a = assess(Signals {
            text: short.into(),
            browser_languages: browser(&["pt-PT"]),
            ..Signals::default()
        });
        assert_eq!(a.decided, Some(lang("pt")), "{a:?}");
    }

    #[test]
    fn a_portuguese_caller_with_a_spanish_browser_is_never_decided_spanish() {
        let a = assess(Signals {
            text: "Boa tarde, não consigo encontrar o meu filho no aeroporto".into(),
            browser_languages: browser(&["es-ES", "es;q=0.9"]),
            ..Signals::default()
        });
        assert_eq!(top(&a).0, "pt", "{a:?}");
        assert_ne!(a.decided, Some(lang("es")));
    }

    #[test]
    fn no_signals_give_no_candidates() {
        let a = assess(Signals::default());
        assert!(a.candidates.is_empty());
        assert_eq!(a.decided, None);
        let a = assess(text("  123 ?? "));
        assert!(a.candidates.is_empty(), "{a:?}");
    }
}
