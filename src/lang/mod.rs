//! The caller's language: signals in, ranked candidates with a confidence and a decision out.
//! Pure (no I/O, no clock): detector models are compiled into the binary.
//!
//! # Use
//! ```
//! use hotline_bridge::config::Settings;
//! use hotline_bridge::lang::{self, Signals};
//! let settings = Settings::load_with_env(None, Vec::<(String, String)>::new()).unwrap();
//! let signals = Signals {
//!     text: "Olá, perdi o meu passaporte e preciso de ajuda".into(),
//!     browser_languages: vec!["pt-BR".into(), "en;q=0.8".into()],
//!     ..Signals::default()
//! };
//! let a = lang::assess(&signals, &settings);
//! assert_eq!(a.decided.map(|l| l.to_string()), Some("pt".into()));
//! ```
//! Call creation validates its input with [`Signals::validate`] (and [`parse_chosen`] for the
//! caller's pick), then stores the [`Assessment`]; pre-dispatch uses only `decided`.
//!
//! # Rules
//! Only configured languages (`settings.languages`: served and the operators') are candidates;
//! detectors are restricted to them.
//! - **Operator** confirmation or change: final. That language gets confidence 1 and is decided.
//! - **Chosen** by the caller on the page: the strongest caller signal, 0.97 alone (more when the
//!   text or browser agree); every other candidate is cut to a fifth of its confidence.
//! - **Text** (everything the caller typed, joined: one detection on all of it beats one per
//!   message): script rules first (Hangul → ko; kana → ja; Han without kana → zh favoured but
//!   ambiguous with ja; letters Russian or Arabic do not use lower ru or ar), then lingua over
//!   the configured languages, then a ceiling by length (one word ≤ 0.5, three ≤ 0.7, four
//!   ≤ 0.85, eight and more ≤ 0.98), so a short, ambiguous text never decides alone.
//! - **Browser** languages (`navigator.languages` or an `Accept-Language` value, with q-values):
//!   the first listed language is worth 0.6, each further one 0.6 of the one before, times its q.
//!   Alone it never reaches the default threshold. Tags map to a configured language only when
//!   that is sound: pt-BR → pt, en-GB → en, zh-Hant → zh; uk is not ru, gl is not pt.
//! - Text and browser agreeing add up as independent evidence (`1 − (1 − t)(1 − b)`); a source
//!   preferring another language dents a candidate (text by half, browser by a fifth of the
//!   difference), so disagreement means asking the caller rather than guessing.
//! - `decided` is the top candidate when its confidence reaches `settings.detect.threshold`,
//!   except that Han-only text alone never decides (it cannot tell Chinese from Japanese).
//!
//! # Layout
//! - `assess.rs`: the combination rules above.
//! - `text.rs`: text → scores (script rules, lingua, whatlang, length ceiling).
//! - `script.rs`: script census and word count.
//! - `tag.rs`: browser language tags, q-values and the mapping to configured languages.

mod assess;
mod script;
mod tag;
mod text;

pub use assess::assess_with;
pub use script::word_count;
pub use tag::{nearest_configured, parse_preferences, primary_language, Preference};
pub use text::{Engine, TextDetector, TextEvidence};

use crate::config::Settings;
use crate::domain::Language;
use serde::{Deserialize, Serialize};

/// Most browser language entries accepted (browsers send a handful).
pub const MAX_BROWSER_LANGUAGES: usize = 32;
/// Longest browser language entry accepted, in bytes.
pub const MAX_TAG_BYTES: usize = 64;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LangError {
    #[error("text is {len} bytes; at most {max} are accepted")]
    TextTooLong { len: usize, max: usize },
    #[error("at most {max} browser languages are accepted")]
    TooManyBrowserLanguages { max: usize },
    #[error("a browser language entry is longer than {max} bytes")]
    BrowserLanguageTooLong { max: usize },
    #[error("{0:?} is not one of the configured languages")]
    NotConfigured(String),
}

/// Everything known about the caller's language.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Signals {
    /// All the text the caller typed, joined.
    #[serde(default)]
    pub text: String,
    /// `navigator.languages` entries or `Accept-Language` values, q-values allowed.
    #[serde(default)]
    pub browser_languages: Vec<String>,
    /// The language the caller picked on the page.
    #[serde(default)]
    pub chosen: Option<Language>,
    /// The language the operator confirmed or set.
    #[serde(default)]
    pub operator: Option<Language>,
}

/// Where a candidate's support came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Operator,
    Chosen,
    Text,
    Browser,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub language: Language,
    /// 0–1, rounded to three decimals.
    pub confidence: f64,
    pub sources: Vec<Source>,
}

/// Candidates best first, and the language decided if the best is sure enough.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub candidates: Vec<Candidate>,
    pub decided: Option<Language>,
}

impl Signals {
    /// Checks sizes against the settings and that picks are configured languages.
    pub fn validate(&self, settings: &Settings) -> Result<(), LangError> {
        let max = settings.detect.max_text_bytes;
        if self.text.len() > max {
            return Err(LangError::TextTooLong {
                len: self.text.len(),
                max,
            });
        }
        if self.browser_languages.len() > MAX_BROWSER_LANGUAGES {
            return Err(LangError::TooManyBrowserLanguages {
                max: MAX_BROWSER_LANGUAGES,
            });
        }
        if self
            .browser_languages
            .iter()
            .any(|t| t.len() > MAX_TAG_BYTES)
        {
            return Err(LangError::BrowserLanguageTooLong { max: MAX_TAG_BYTES });
        }
        let all = settings.languages.all();
        for l in self.chosen.iter().chain(&self.operator) {
            if !all.contains(l) {
                return Err(LangError::NotConfigured(l.to_string()));
            }
        }
        Ok(())
    }
}

/// The caller's pick, given as a tag (`pt`, `pt-BR`), as a configured language.
pub fn parse_chosen(tag: &str, settings: &Settings) -> Result<Language, LangError> {
    nearest_configured(tag, &settings.languages.all())
        .ok_or_else(|| LangError::NotConfigured(tag.chars().take(MAX_TAG_BYTES).collect()))
}

/// Ranks the configured languages for `signals` by the rules in this module's documentation.
/// Signals are taken as given: validate them first ([`Signals::validate`]) if they come from
/// outside. Detection time grows with the text, about 0.1–1 ms for texts up to 2 kB.
pub fn assess(signals: &Signals, settings: &Settings) -> Assessment {
    let configured = settings.languages.all();
    let detector = TextDetector::new(&configured);
    assess_with(signals, &configured, settings.detect.threshold, &detector)
}
