//! Tests of the roster parser, its error messages, the shipped `interpreters.toml` and `import`.

use super::*;
use crate::config::Settings;
use crate::coverage::Coverage;
use crate::domain::Level;
use crate::pool::MemoryPool;
use chrono::{DateTime, Utc};

const SHIPPED: &str = include_str!("../../interpreters.toml");

fn settings() -> Settings {
    Settings::load_with_env(None, Vec::new()).expect("default settings")
}

fn served() -> Vec<Language> {
    settings().languages.served()
}

fn parse(text: &str) -> Result<Roster, RosterError> {
    Roster::parse(text, "interpreters.toml", &served())
}

fn problems(text: &str) -> Vec<String> {
    match parse(text) {
        Err(RosterError::Invalid { problems }) => problems,
        other => panic!("expected invalid roster, got {other:?}"),
    }
}

const UNIS: &str = r#"
[[universities]]
id = "bfsu"
name = "Beijing Foreign Studies University"
"#;

fn one(id: &str, extra: &str) -> String {
    format!(
        r#"{UNIS}
[[interpreters]]
id = "{id}"
university = "bfsu"
name = "Ana Lima"
timezone = "America/Sao_Paulo"
languages = {{ pt = "native", en = "professional" }}
{extra}
"#
    )
}

#[test]
fn the_shipped_roster_covers_every_core_language_twice_in_every_hour_all_year() {
    let roster = parse(SHIPPED).unwrap_or_else(|e| panic!("{e}"));
    assert!(roster.universities.len() >= 3);
    assert!(roster.interpreters.len() >= 24);
    let s = settings();
    for extended in &s.languages.extended {
        assert!(
            roster
                .interpreters
                .iter()
                .any(|p| p.level_in(*extended).is_some()),
            "nobody speaks {extended}"
        );
    }
    // Winter, summer, and the weeks around the European and North American clock changes.
    for at in [
        "2026-01-07T12:00:00Z",
        "2026-03-11T12:00:00Z",
        "2026-03-29T12:00:00Z",
        "2026-07-01T12:00:00Z",
        "2026-10-25T12:00:00Z",
        "2026-11-01T12:00:00Z",
    ] {
        let at: DateTime<Utc> = at.parse().expect("instant");
        let c = Coverage::compute(
            &roster.interpreters,
            &s.languages.core,
            &s.languages.extended,
            2,
            at,
        );
        let gaps: Vec<String> = c.gaps().iter().map(ToString::to_string).collect();
        assert!(gaps.is_empty(), "week of {at}: {gaps:#?}");
    }
}

#[test]
fn a_valid_entry_becomes_a_profile_with_languages_in_the_order_written() {
    let r = parse(&one(
        "bfsu-pt-01",
        r#"shifts = [{ day = "mon", start = "09:00", end = "17:00" }]"#,
    ))
    .expect("valid");
    assert_eq!(r.universities[0].name, "Beijing Foreign Studies University");
    let p = &r.interpreters[0];
    let langs: Vec<&str> = p.languages.iter().map(|s| s.language.as_str()).collect();
    assert_eq!(langs, ["pt", "en"]);
    assert_eq!(p.languages[0].level, Level::Native);
    assert_eq!(p.schedule.shifts.len(), 1);
}

#[test]
fn overlapping_shifts_are_reported_with_file_entry_and_field() {
    let p = problems(&one(
        "bfsu-pt-01",
        r#"shifts = [
  { day = "mon", start = "09:00", end = "17:00" },
  { day = "mon", start = "16:00", end = "20:00" },
]"#,
    ));
    assert_eq!(
        p,
        [
            "interpreters.toml: interpreter \"bfsu-pt-01\": shifts: shifts mon 09:00-17:00 and mon 16:00-20:00 overlap"
        ]
    );
}

#[test]
fn every_problem_is_reported_at_once_naming_its_entry() {
    let entries = [
        ("Bad Id", "bfsu", "UTC", "en = \"native\""),
        ("bfsu-en-01", "nowhere", "UTC", "en = \"native\""),
        ("bfsu-en-02", "bfsu", "Mars/Base", "en = \"native\""),
        ("bfsu-en-02", "bfsu", "UTC", "en = \"native\""),
        ("other-en-01", "bfsu", "UTC", "en = \"native\""),
        ("bfsu-zh-01", "bfsu", "UTC", "zh = \"native\""),
        ("bfsu-en-03", "bfsu", "UTC", "en = \"fluent\""),
    ];
    let mut text = format!("{UNIS}\n[[universities]]\nid = \"bfsu\"\nname = \"again\"\n");
    for (id, university, timezone, languages) in entries {
        text.push_str(&format!(
            "\n[[interpreters]]\nid = \"{id}\"\nuniversity = \"{university}\"\nname = \"x\"\n\
             timezone = \"{timezone}\"\nlanguages = {{ {languages} }}\n"
        ));
    }
    let p = problems(&text);
    let expect = [
        "interpreters.toml: university \"bfsu\": id: listed twice",
        "interpreters.toml: interpreter #1: id: interpreter id must be",
        "interpreters.toml: interpreter \"bfsu-en-01\": university: unknown university \"nowhere\"",
        "interpreters.toml: interpreter \"bfsu-en-02\": timezone: unknown IANA time zone \"Mars/Base\"",
        "interpreters.toml: interpreter \"bfsu-en-02\": id: listed twice (entries #3 and #4)",
        "interpreters.toml: interpreter \"other-en-01\": id: must start with the university id",
        "interpreters.toml: interpreter \"bfsu-zh-01\": languages: zh is not a language this hotline serves",
        "interpreters.toml: interpreter \"bfsu-en-03\": languages: en: level must be native, professional or student",
    ];
    assert_eq!(p.len(), expect.len(), "{p:#?}");
    for (got, want) in p.iter().zip(expect) {
        assert!(
            got.starts_with(want),
            "{got:?} does not start with {want:?}"
        );
    }
}

#[test]
fn syntax_and_shape_errors_name_the_file_and_line() {
    let err = parse("[[interpreters]]\nid = \"bfsu-en-01\"\nname = 3\n")
        .expect_err("bad")
        .to_string();
    assert!(err.starts_with("interpreters.toml: "), "{err}");
    assert!(err.contains("line 3"), "{err}");
    let err = parse("[[universities]\n").expect_err("bad").to_string();
    assert!(err.starts_with("interpreters.toml: "), "{err}");
    let err = parse(&one("bfsu-pt-01", "shift = []"))
        .expect_err("bad")
        .to_string();
    assert!(err.contains("shift"), "{err}");
}

#[test]
fn a_missing_file_names_it() {
    let err = Roster::load(Path::new("/nonexistent/interpreters.toml"), &served())
        .expect_err("missing")
        .to_string();
    assert!(err.starts_with("/nonexistent/interpreters.toml: "), "{err}");
}

#[tokio::test]
async fn import_is_idempotent_and_keeps_issued_tokens() {
    let pool = MemoryPool::new();
    let roster = parse(SHIPPED).expect("shipped roster");
    let n = roster.interpreters.len();
    let first = import(&pool, &roster).await.expect("import");
    assert_eq!(
        first,
        ImportSummary {
            created: n,
            updated: 0,
            unchanged: 0
        }
    );
    assert_eq!(pool.profiles().await.expect("profiles").len(), n);

    // A university issued a token to one interpreter; a re-import keeps it.
    let mut with_token = roster.interpreters[0].clone();
    with_token.token_sha256 = Some(crate::auth::sha256_hex("secret"));
    pool.upsert(&with_token).await.expect("upsert");
    let again = import(&pool, &roster).await.expect("import again");
    assert_eq!(again.unchanged, n);
    let stored = pool
        .profile(&with_token.id)
        .await
        .expect("profile")
        .expect("present");
    assert_eq!(stored.token_sha256, with_token.token_sha256);

    let mut edited = roster.clone();
    edited.interpreters[1].name = "Renamed".into();
    let s = import(&pool, &edited).await.expect("import edited");
    assert_eq!((s.created, s.updated, s.unchanged), (0, 1, n - 1));
}

#[test]
fn an_entry_may_carry_a_phone_number_and_a_ring_preference() {
    let r = parse(&one(
        "bfsu-pt-09",
        "phone = \"+55 11 91234-5678\"\nring = \"app_then_phone\"",
    ))
    .expect("valid");
    let p = &r.interpreters[0];
    assert_eq!(p.phone.as_ref().map(|n| n.as_str()), Some("+5511912345678"));
    assert_eq!(p.ring, crate::domain::RingPreference::AppThenPhone);
    let bad = problems(&one("bfsu-pt-09", "phone = \"91234-5678\""));
    assert!(
        bad[0].contains("interpreter \"bfsu-pt-09\": phone:"),
        "{bad:?}"
    );
}

#[test]
fn ringing_by_phone_without_an_outbound_trunk_is_refused_but_a_number_alone_is_not() {
    let why = settings().sip.why_no_phones();
    assert!(why.is_some(), "no outbound trunk by default");
    let number_only = parse(&one("bfsu-pt-09", "phone = \"+5511912345678\"")).expect("valid");
    assert!(number_only.check_ringing("interpreters.toml", why).is_ok());
    let phone = parse(&one(
        "bfsu-pt-09",
        "phone = \"+5511912345678\"\nring = \"phone\"",
    ))
    .expect("valid");
    let e = phone
        .check_ringing("interpreters.toml", why)
        .expect_err("refused")
        .to_string();
    assert!(
        e.contains("interpreters.toml: interpreter \"bfsu-pt-09\": ring:")
            && e.contains("sip.outbound_trunk"),
        "{e}"
    );
    assert!(phone.check_ringing("interpreters.toml", None).is_ok());
}
