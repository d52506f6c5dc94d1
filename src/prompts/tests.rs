//! The shipped prompts against the table they were made from and the configured languages:
//! every prompt in every caller language and Chinese, real speech in each, English as fallback.

use super::*;
use crate::config::Settings;

fn lang(s: &str) -> Language {
    Language::parse(s).expect("language")
}

/// The configured caller languages (core then extended) and the operators' language.
fn languages() -> (Vec<Language>, Language) {
    let s = Settings::load_with_env(None, Vec::new()).expect("default settings");
    (s.languages.served(), s.languages.operator)
}

fn loaded() -> Prompts {
    Prompts::load().expect("the shipped prompts decode")
}

#[test]
fn every_prompt_exists_in_every_caller_language_and_chinese() {
    let prompts = loaded();
    let (callers, operator) = languages();
    assert_eq!(operator, lang("zh"));
    let mut missing = Vec::new();
    for &l in callers.iter().chain([&operator]) {
        let mut all = vec![
            Prompt::Welcome,
            Prompt::Connecting,
            Prompt::Recorded,
            Prompt::StillWaiting,
            Prompt::OfferAccepted,
            Prompt::Goodbye,
            Prompt::CaseNumberIs,
            Prompt::CallbackOffer,
            Prompt::CallbackTaken,
            Prompt::CallbackKeyedOffer,
            Prompt::CallbackEnter,
            Prompt::CallbackRead,
            Prompt::CallbackConfirm,
        ];
        all.extend((0..10).map(|digit| Prompt::MenuChoice { language: l, digit }));
        all.extend((0..10).map(Prompt::Digit));
        all.extend((1..=10).map(Prompt::QueuePosition));
        // An offer names the call's language: Chinese and English name every caller language,
        // the call's own language names itself.
        let named: Vec<Language> = if l == operator || l == lang("en") {
            callers.clone()
        } else {
            vec![l]
        };
        all.extend(
            named
                .into_iter()
                .map(|call_language| Prompt::InterpreterOffer { call_language }),
        );
        missing.extend(
            all.into_iter()
                .filter(|p| !prompts.has(*p, l))
                .map(|p| format!("{l}/{}", p.name())),
        );
    }
    assert!(missing.is_empty(), "prompts missing: {missing:?}");
}

/// (language, name) of every prompt the table of texts makes, templates expanded as
/// scripts/prompts.sh expands them.
fn from_the_table() -> HashSet<(Language, String)> {
    let text = texts();
    let rows: Vec<(&str, &str)> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((f.next()?, f.next()?))
        })
        .collect();
    let mut want = HashSet::new();
    for &(l, key) in &rows {
        let names: Vec<String> = match key {
            "menu" => (0..10).map(|d| format!("menu_{d}")).collect(),
            "digit" => (0..10).map(|d| format!("digit_{d}")).collect(),
            "queue" => (1..10).map(|n| format!("queue_{n}")).collect(),
            "offer" => rows
                .iter()
                .filter(|(l2, k)| *l2 == l && k.starts_with("name_"))
                .map(|(_, k)| format!("offer_{}", &k["name_".len()..]))
                .collect(),
            k if k.starts_with("name_") => Vec::new(),
            k => vec![k.to_owned()],
        };
        want.extend(names.into_iter().map(|n| (lang(l), n)));
    }
    want
}

#[test]
fn every_row_of_the_texts_table_has_its_audio_and_nothing_else_is_shipped() {
    let prompts = loaded();
    let want = from_the_table();
    assert!(want.len() > 250, "the table: {} prompts", want.len());
    let have: HashSet<(Language, String)> = prompts.inner.audio.keys().cloned().collect();
    let mut missing: Vec<_> = want.difference(&have).collect();
    missing.sort();
    let mut stray: Vec<_> = have.difference(&want).collect();
    stray.sort();
    assert!(
        missing.is_empty() && stray.is_empty(),
        "run scripts/prompts.sh: missing {missing:?}, not in the table {stray:?}"
    );
}

#[test]
fn every_prompt_is_speech_of_a_sensible_length() {
    let prompts = loaded();
    for ((l, name), audio) in &prompts.inner.audio {
        let secs = audio.len() as f64 / 8000.0;
        // A digit said alone is one short word ("un", "èr").
        let shortest = if name.starts_with("digit_") {
            0.15
        } else {
            0.3
        };
        assert!((shortest..15.0).contains(&secs), "{l}/{name}: {secs} s");
        let rms = (audio.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / audio.len() as f64)
            .sqrt()
            / 32768.0;
        assert!(rms > 0.03, "{l}/{name} is nearly silent: rms {rms}");
    }
}

#[test]
fn a_missing_prompt_falls_back_to_english_and_is_warned_once() {
    let prompts = loaded();
    let offer = Prompt::InterpreterOffer {
        call_language: lang("ja"),
    };
    assert!(!prompts.has(offer, lang("fr")), "French names only French");
    let got = prompts.get(offer, lang("fr"));
    assert_eq!(got, prompts.get(offer, lang("en")), "the English offer");
    assert!(!got.is_empty());
    let _ = prompts.get(offer, lang("fr"));
    let warned = prompts.inner.warned.lock().expect("lock").clone();
    assert_eq!(
        warned,
        HashSet::from([(lang("fr"), "offer_ja".to_owned())]),
        "one warning, for the fallback only"
    );
}

#[test]
fn menu_choices_speak_their_own_language_and_concat_pauses_between_parts() {
    let prompts = loaded();
    let fr = Prompt::MenuChoice {
        language: lang("fr"),
        digit: 2,
    };
    assert_eq!(prompts.get(fr, lang("en")), prompts.get(fr, lang("fr")));
    let en = Prompt::MenuChoice {
        language: lang("en"),
        digit: 1,
    };
    let menu = prompts.concat(&[(en, lang("en")), (fr, lang("fr"))]);
    let (a, b) = (prompts.get(en, lang("en")), prompts.get(fr, lang("fr")));
    assert_eq!(menu.len(), a.len() + PAUSE_MS * PER_MS + b.len());
    assert_eq!(&menu[..a.len()], &a[..]);
    assert_ne!(a, b);
}

#[test]
fn a_case_number_is_read_as_its_words_then_each_digit() {
    let pt = lang("pt");
    let parts = case_number("261204-0017", pt);
    let digits: Vec<Prompt> = "2612040017"
        .chars()
        .map(|c| Prompt::Digit(c.to_digit(10).expect("digit") as u8))
        .collect();
    assert_eq!(parts[0], (Prompt::CaseNumberIs, pt));
    assert_eq!(
        parts[1..].iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        digits
    );
    assert!(parts.iter().all(|(_, l)| *l == pt), "all in Portuguese");
    // Real speech for each part, and the digits differ from one another.
    let prompts = loaded();
    assert_ne!(
        prompts.get(Prompt::Digit(1), pt),
        prompts.get(Prompt::Digit(2), pt)
    );
    assert!(
        prompts.concat(&parts).len() > 10 * 8 * 150,
        "longer than ten short words"
    );
}
