//! `Prompts`: the phone prompts shipped with the service. Synthesized once by scripts/prompts.sh
//! from the one table of their texts (prompts/texts.tsv) into prompts/<language>/<name>.wav,
//! embedded in the binary and decoded at start into 8 kHz mono PCM. Every caller language and
//! Chinese has each prompt; a prompt missing in a language falls back to English (warned once).
//! Plays nothing itself: the SIP edge and the dispatcher hand the audio to `MediaHandle::play`.

mod wav;

use crate::domain::Language;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// Silence between the parts `Prompts::concat` joins (ms).
pub const PAUSE_MS: usize = 400;
/// Samples per millisecond of the prompts' audio (8 kHz).
const PER_MS: usize = 8;

/// prompts/: the WAVs and the table of texts (nothing else lives there).
#[derive(rust_embed::RustEmbed)]
#[folder = "prompts/"]
struct Shipped;

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("unreadable WAV: {0}")]
    Wav(String),
    #[error("prompts/{path}: {source}")]
    File {
        path: String,
        #[source]
        source: Box<PromptError>,
    },
}

/// What a prompt says; the language it is said in is given beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prompt {
    /// "Welcome to the 12345 citizen hotline."
    Welcome,
    /// "For English, press 1." Always spoken in `language` itself, whatever language is asked
    /// for: each choice of the menu names its language in that language.
    MenuChoice { language: Language, digit: u8 },
    /// "We are connecting you to an operator and an interpreter. Please stay on the line."
    Connecting,
    /// "Please note: this call is recorded." (when `records.recording` is on).
    Recorded,
    /// "You are number n in the queue." (1..=9; above 9 "more than nine callers are ahead of you").
    QueuePosition(u32),
    /// "Thank you for waiting. You will be connected shortly."
    StillWaiting,
    /// "Hotline 12345: a call in <call_language>. Press 1 to accept, 2 to decline." Chinese and
    /// English name every caller language; every other language names itself only (an offer
    /// spoken in French for a Japanese call falls back to English).
    InterpreterOffer { call_language: Language },
    /// "Thank you. Connecting you to the call."
    OfferAccepted,
    /// "Thank you for calling. Goodbye."
    Goodbye,
    /// "To be called back at the number you are calling from, press the star key. Or stay on
    /// the line." (a long wait, on a hotline that keeps a record).
    CallbackOffer,
    /// "Thank you. We will call you back at this number. Goodbye."
    CallbackTaken,
    /// "To be called back, press the star key, then enter your phone number. Or stay on the
    /// line." (the offer to a caller whose number did not come with the call).
    CallbackKeyedOffer,
    /// "Please enter your phone number, starting with the country code, then press the hash
    /// key."
    CallbackEnter,
    /// "You entered", before the keyed number's digits.
    CallbackRead,
    /// "If this is right, press the star key. To enter it again, press the hash key."
    CallbackConfirm,
    /// "Your case number is", before its digits (`case_number`).
    CaseNumberIs,
    /// One digit, 0-9, said alone.
    Digit(u8),
}

impl Prompt {
    /// The file name (without `.wav`) under prompts/<language>/.
    pub fn name(&self) -> String {
        match self {
            Prompt::Welcome => "welcome".into(),
            Prompt::MenuChoice { digit, .. } => format!("menu_{}", digit % 10),
            Prompt::Connecting => "connecting".into(),
            Prompt::Recorded => "recorded".into(),
            Prompt::QueuePosition(n @ 1..=9) => format!("queue_{n}"),
            Prompt::QueuePosition(0) => "queue_1".into(),
            Prompt::QueuePosition(_) => "queue_many".into(),
            Prompt::StillWaiting => "still_waiting".into(),
            Prompt::InterpreterOffer { call_language } => format!("offer_{call_language}"),
            Prompt::OfferAccepted => "offer_accepted".into(),
            Prompt::Goodbye => "goodbye".into(),
            Prompt::CallbackOffer => "callback_offer".into(),
            Prompt::CallbackTaken => "callback_taken".into(),
            Prompt::CallbackKeyedOffer => "callback_keyed_offer".into(),
            Prompt::CallbackEnter => "callback_enter".into(),
            Prompt::CallbackRead => "callback_read".into(),
            Prompt::CallbackConfirm => "callback_confirm".into(),
            Prompt::CaseNumberIs => "case_number".into(),
            Prompt::Digit(d) => format!("digit_{}", d % 10),
        }
    }

    /// The language it is spoken in when `spoken_in` is asked for.
    fn spoken(&self, spoken_in: Language) -> Language {
        match self {
            Prompt::MenuChoice { language, .. } => *language,
            _ => spoken_in,
        }
    }
}

/// The shipped prompts, decoded. Cheap to clone.
#[derive(Clone)]
pub struct Prompts {
    inner: Arc<Inner>,
}

struct Inner {
    audio: HashMap<(Language, String), Arc<[i16]>>,
    /// Fallbacks already warned about (language, name), so the log says each once.
    warned: Mutex<HashSet<(Language, String)>>,
}

impl Prompts {
    /// Decodes every shipped prompt (at start: a broken file is an error then, not during a call).
    pub fn load() -> Result<Self, PromptError> {
        let mut audio = HashMap::new();
        for path in Shipped::iter() {
            let Some((lang, file)) = path.split_once('/') else {
                continue;
            };
            let (Ok(language), Some(name)) = (Language::parse(lang), file.strip_suffix(".wav"))
            else {
                continue;
            };
            let Some(bytes) = Shipped::get(&path) else {
                continue;
            };
            let pcm = wav::decode(&bytes.data).map_err(|e| PromptError::File {
                path: path.to_string(),
                source: Box::new(e),
            })?;
            audio.insert((language, name.to_owned()), Arc::from(pcm));
        }
        tracing::info!(prompts = audio.len(), "phone prompts loaded");
        Ok(Self {
            inner: Arc::new(Inner {
                audio,
                warned: Mutex::new(HashSet::new()),
            }),
        })
    }

    /// `prompt` spoken in `spoken_in`, 8 kHz mono; in English if that language lacks it (logged
    /// once per prompt and language), empty if English lacks it too.
    pub fn get(&self, prompt: Prompt, spoken_in: Language) -> Arc<[i16]> {
        let language = prompt.spoken(spoken_in);
        let name = prompt.name();
        if let Some(a) = self.inner.audio.get(&(language, name.clone())) {
            return a.clone();
        }
        let english = Language::parse("en").ok();
        let fallback = english.and_then(|en| self.inner.audio.get(&(en, name.clone())));
        let first = self
            .inner
            .warned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((language, name.clone()));
        if first {
            tracing::warn!(prompt = %name, %language, english = fallback.is_some(), "prompt missing; English used");
        }
        fallback.cloned().unwrap_or_else(|| Arc::from(Vec::new()))
    }

    /// The parts one after another, with `PAUSE_MS` of silence between them.
    pub fn concat(&self, parts: &[(Prompt, Language)]) -> Arc<[i16]> {
        let mut out = Vec::new();
        for (i, (prompt, language)) in parts.iter().enumerate() {
            if i > 0 {
                out.resize(out.len() + PAUSE_MS * PER_MS, 0);
            }
            out.extend_from_slice(&self.get(*prompt, *language));
        }
        out.into()
    }

    /// Whether `prompt` exists in `language` itself (no fallback needed).
    pub fn has(&self, prompt: Prompt, language: Language) -> bool {
        let key = (prompt.spoken(language), prompt.name());
        self.inner.audio.contains_key(&key)
    }
}

/// "Your case number is 2 6 1 2 0 4 0 0 1 7" in `language`: the words, then each digit of
/// `number` (`YYMMDD-NNNN`; the dash is not said), with `concat`'s pause between them, slow
/// enough for the caller to write it down.
pub fn case_number(number: &str, language: Language) -> Vec<(Prompt, Language)> {
    let mut parts = vec![(Prompt::CaseNumberIs, language)];
    for c in number.chars() {
        if let Some(d) = c.to_digit(10) {
            parts.push((Prompt::Digit(d as u8), language));
        }
    }
    parts
}

/// The table of texts the prompts were made from (prompts/texts.tsv), as shipped.
pub fn texts() -> String {
    Shipped::get("texts.tsv")
        .map(|f| String::from_utf8_lossy(&f.data).into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
