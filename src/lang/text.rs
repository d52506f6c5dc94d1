//! Text → scores over the configured languages. Script rules come first (Hangul → ko, kana → ja,
//! Han-only → zh or ja, letters foreign to Russian or Arabic lower the score), then lingua
//! restricted to the configured languages (whatlang when lingua lacks a configured language's
//! model), then a ceiling by length so a few words never sound surer than they are.
//! Pure: models are compiled in; nothing is read from disk or network.

use super::script::{word_count, Census, Dominant};
use crate::domain::Language;
use std::str::FromStr;

/// The most a text of `n` words may score alone, whatever the detector says (index = words, the
/// last entry for anything longer). Measured with `examples/lang_eval.rs` on the UDHR corpus:
/// at 1–3 words even the best detector is wrong on about one text in ten, at 4–6 on one in a
/// hundred; with these ceilings no text-only decision there was wrong.
const LENGTH_CEILING: [f64; 9] = [0.0, 0.5, 0.6, 0.7, 0.85, 0.9, 0.95, 0.95, 0.98];
/// Share of Han-only text's score that goes to Chinese (the rest to Japanese): Japanese sentences
/// almost always carry kana, but names, places and headlines need not.
const HAN_ONLY_ZH_SHARE: f64 = 0.75;
/// Han-only text never scores above this alone, however long: it cannot tell zh from ja.
const HAN_ONLY_MAX: f64 = 0.7;
/// Factor applied to the Russian or Arabic score when the text holds letters that language does
/// not use (Ukrainian і, Persian پ): likely a language we do not serve.
const FOREIGN_MARKS_FACTOR: f64 = 0.4;

/// How much letters foreign to a language lower its score: one in a long text is a name or a
/// typo; one in fifty letters is another language (Russian keyboards do not even have і or ї).
fn foreign_marks_factor(marks: usize, letters: usize) -> f64 {
    if marks == 0 {
        1.0
    } else if marks * 50 >= letters {
        FOREIGN_MARKS_FACTOR
    } else {
        0.8
    }
}

/// Which detector answers; the evaluation harness compares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// whatlang restricted to the configured languages, nothing else.
    Whatlang,
    /// lingua restricted to the configured languages, nothing else.
    Lingua,
    /// What the service uses: script rules, then lingua (or whatlang), then the length ceiling.
    Shipped,
}

/// What the text says, for `assess`.
#[derive(Debug, Clone, PartialEq)]
pub struct TextEvidence {
    /// Calibrated scores, highest first; empty when the text has no letters.
    pub scores: Vec<(Language, f64)>,
    pub words: usize,
    /// The text is Han ideographs without kana: zh or ja cannot be told apart from it.
    pub han_only: bool,
}

impl TextEvidence {
    pub fn top(&self) -> Option<Language> {
        self.scores.first().map(|(l, _)| *l)
    }

    pub fn score(&self, language: Language) -> f64 {
        self.scores
            .iter()
            .find(|(l, _)| *l == language)
            .map_or(0.0, |(_, s)| *s)
    }
}

/// Detectors restricted to a set of languages; cheap to build (models are loaded once per process,
/// on first use, and shared).
pub struct TextDetector {
    languages: Vec<Language>,
    lingua: Option<(lingua::LanguageDetector, Vec<(lingua::Language, Language)>)>,
    whatlang: Option<(whatlang::Detector, Vec<(whatlang::Lang, Language)>)>,
}

impl TextDetector {
    /// Detects among `languages` only (the configured ones).
    pub fn new(languages: &[Language]) -> Self {
        let lingua_map: Vec<_> = languages
            .iter()
            .filter_map(|&l| {
                let iso = lingua::IsoCode639_1::from_str(l.as_str()).ok()?;
                Some((lingua::Language::from_iso_code_639_1(&iso), l))
            })
            .collect();
        // lingua only when it knows every configured language it could be asked about: a language
        // it lacks would otherwise be silently scored as its nearest neighbour.
        let lingua = (!lingua_map.is_empty()
            && languages
                .iter()
                .all(|l| lingua_map.iter().any(|(_, m)| m == l) || whatlang_lang(*l).is_none()))
        .then(|| {
            let set: Vec<_> = lingua_map.iter().map(|(g, _)| *g).collect();
            let detector = lingua::LanguageDetectorBuilder::from_languages(&set).build();
            (detector, lingua_map)
        });
        let whatlang_map: Vec<_> = languages
            .iter()
            .filter_map(|&l| Some((whatlang_lang(l)?, l)))
            .collect();
        let whatlang = (!whatlang_map.is_empty()).then(|| {
            let allow = whatlang_map.iter().map(|(w, _)| *w).collect();
            (whatlang::Detector::with_allowlist(allow), whatlang_map)
        });
        Self {
            languages: languages.to_vec(),
            lingua,
            whatlang,
        }
    }

    /// The single most likely language, by one engine (for the evaluation harness).
    pub fn top(&self, text: &str, engine: Engine) -> Option<Language> {
        match engine {
            Engine::Whatlang => self.whatlang_scores(text).first().map(|(l, _)| *l),
            Engine::Lingua => self.lingua_scores(text)?.first().map(|(l, _)| *l),
            Engine::Shipped => self.evidence(text).top(),
        }
    }

    /// Calibrated scores of `text` (the shipped engine).
    pub fn evidence(&self, text: &str) -> TextEvidence {
        let census = Census::of(text);
        let words = word_count(text);
        let ceiling = LENGTH_CEILING[words.min(LENGTH_CEILING.len() - 1)];
        let has = |code: &str| self.languages.iter().any(|l| l.as_str() == code);
        let only = |code: &str| -> Vec<(Language, f64)> {
            Language::parse(code)
                .ok()
                .filter(|l| self.languages.contains(l))
                .map(|l| vec![(l, 1.0)])
                .unwrap_or_default()
        };
        let dominant = census.dominant();
        let mut raw = match dominant {
            Dominant::None => Vec::new(),
            Dominant::Hangul if has("ko") => only("ko"),
            Dominant::Kana if has("ja") => only("ja"),
            Dominant::HanOnly => {
                let mut v = Vec::new();
                for (code, share) in [("zh", HAN_ONLY_ZH_SHARE), ("ja", 1.0 - HAN_ONLY_ZH_SHARE)] {
                    if let Ok(l) = Language::parse(code) {
                        if self.languages.contains(&l) {
                            v.push((l, share));
                        }
                    }
                }
                // Only one of the two configured: it is the only candidate, still ambiguous.
                let total: f64 = v.iter().map(|(_, s)| s).sum();
                v.iter().map(|&(l, s)| (l, s / total.max(1.0))).collect()
            }
            _ => self
                .lingua_scores(text)
                .unwrap_or_else(|| self.whatlang_scores(text)),
        };
        let mut cap = ceiling;
        if dominant == Dominant::HanOnly {
            cap = cap.min(HAN_ONLY_MAX);
        }
        for (l, s) in raw.iter_mut() {
            let marks = match l.as_str() {
                "ru" => census.not_russian,
                "ar" => census.not_arabic,
                _ => 0,
            };
            *s = (*s * cap * foreign_marks_factor(marks, census.letters())).clamp(0.0, 1.0);
        }
        raw.retain(|(_, s)| *s > 0.0);
        raw.sort_by(|a, b| b.1.total_cmp(&a.1));
        TextEvidence {
            scores: raw,
            words,
            han_only: dominant == Dominant::HanOnly,
        }
    }

    /// lingua's confidence values over the configured languages it knows (they sum to 1), or
    /// `None` when lingua is not in use for this set.
    fn lingua_scores(&self, text: &str) -> Option<Vec<(Language, f64)>> {
        let (detector, map) = self.lingua.as_ref()?;
        Some(
            detector
                .compute_language_confidence_values(text)
                .into_iter()
                .filter(|(_, c)| *c > 0.0)
                .filter_map(|(g, c)| map.iter().find(|(m, _)| *m == g).map(|(_, l)| (*l, c)))
                .collect(),
        )
    }

    /// whatlang's top language and its confidence.
    fn whatlang_scores(&self, text: &str) -> Vec<(Language, f64)> {
        let Some((detector, map)) = self.whatlang.as_ref() else {
            return Vec::new();
        };
        detector
            .detect(text)
            .and_then(|info| {
                map.iter()
                    .find(|(w, _)| *w == info.lang())
                    .map(|(_, l)| vec![(*l, info.confidence())])
            })
            .unwrap_or_default()
    }
}

/// The whatlang language for an ISO 639-1 code. whatlang names Chinese by Mandarin (cmn) and
/// Persian by its Iranian variety (pes); otherwise its codes are ISO 639-3.
fn whatlang_lang(l: Language) -> Option<whatlang::Lang> {
    let three = match l.as_str() {
        "zh" => "cmn",
        "fa" => "pes",
        two => isolang::Language::from_639_1(two)?.to_639_3(),
    };
    whatlang::Lang::from_code(three)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn langs(codes: &[&str]) -> Vec<Language> {
        codes
            .iter()
            .map(|c| Language::parse(c).expect("code"))
            .collect()
    }

    fn configured() -> TextDetector {
        TextDetector::new(&langs(&[
            "en", "fr", "de", "es", "ru", "ja", "ko", "ar", "pt", "it", "zh",
        ]))
    }

    #[test]
    fn every_configured_language_has_a_whatlang_counterpart() {
        for l in langs(&[
            "en", "fr", "de", "es", "ru", "ja", "ko", "ar", "pt", "it", "zh", "uk",
        ]) {
            assert!(whatlang_lang(l).is_some(), "{l}");
        }
    }

    #[test]
    fn portuguese_is_recognised_as_portuguese_not_spanish() {
        let d = configured();
        let e = d.evidence("Olá, perdi o meu passaporte e não sei onde fica a embaixada");
        assert_eq!(e.top().map(|l| l.to_string()), Some("pt".into()));
        assert!(e.score(Language::parse("es").expect("es")) < 0.2);
    }

    #[test]
    fn one_word_never_scores_above_the_one_word_ceiling() {
        let e = configured().evidence("Obrigado");
        assert!(
            e.scores.iter().all(|(_, s)| *s <= LENGTH_CEILING[1]),
            "{e:?}"
        );
    }

    #[test]
    fn han_only_text_favours_chinese_but_stays_ambiguous() {
        let e = configured().evidence("我的护照在北京丢失了请帮助我联系大使馆谢谢");
        assert!(e.han_only);
        assert_eq!(e.top().map(|l| l.to_string()), Some("zh".into()));
        assert!(e.scores[0].1 <= HAN_ONLY_MAX);
    }

    #[test]
    fn ukrainian_text_scores_low_for_russian() {
        let e = configured().evidence("Добрий день, я загубив паспорт і не знаю, що робити");
        assert!(e.score(Language::parse("ru").expect("ru")) < 0.5, "{e:?}");
    }

    #[test]
    fn a_language_without_a_lingua_model_falls_back_to_whatlang() {
        let d = TextDetector::new(&langs(&["en", "uk"]));
        assert!(d.lingua.is_none());
        let e = d.evidence("Добрий день, я загубив паспорт і не знаю, що робити далі");
        assert_eq!(e.top().map(|l| l.to_string()), Some("uk".into()));
    }
}
