//! Start-up seeds the pool from `roster.file`: the shipped roster is loaded with university names,
//! and a missing or invalid file stops start-up with an error naming it, writing nothing.
use crate::common;

use common::test_settings;
use hotline_bridge::app::{self, AppState};
use hotline_bridge::domain::UniversityId;

fn shipped() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/interpreters.toml").to_owned()
}

#[tokio::test]
async fn the_shipped_roster_is_loaded_at_start_up() {
    let mut s = test_settings();
    s.roster.file = shipped();
    let state = app::build_state(s).await.expect("start-up");
    let profiles = state.pool.profiles().await.expect("profiles");
    assert_eq!(profiles.len(), common::shipped_roster_size());
    let bfsu = UniversityId::parse("bfsu").expect("id");
    assert!(state.university_names[&bfsu].starts_with("Beijing Foreign Studies University"));
}

#[tokio::test]
async fn a_missing_roster_file_stops_start_up_with_a_clear_error() {
    let mut s = test_settings();
    s.roster.file = "/nonexistent/interpreters.toml".into();
    let err = app::build_state(s).await.err().expect("must fail");
    let msg = format!("{err:#}");
    assert!(msg.contains("roster.file"), "{msg}");
    assert!(msg.contains("/nonexistent/interpreters.toml"), "{msg}");
    assert!(msg.contains("no such file"), "{msg}");
}

#[tokio::test]
async fn an_invalid_roster_is_refused_whole_naming_the_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(shipped()).expect("read");
    // Only the last interpreter is wrong (an unknown university); nothing at all is imported.
    let at = text.rfind("university = \"").expect("an interpreter");
    let line_end = at + text[at..].find('\n').expect("end of line");
    let id_at = text[..at].rfind("id = \"").expect("its id") + "id = \"".len();
    let last_id = &text[id_at..id_at + text[id_at..].find('"').expect("closing quote")];
    let broken = format!(
        "{}university = \"nowhere\"{}",
        &text[..at],
        &text[line_end..]
    );
    let path = dir.path().join("interpreters.toml");
    std::fs::write(&path, broken).expect("write");
    let mut s = test_settings();
    s.roster.file = path.display().to_string();
    let mut state = AppState::in_memory(s);
    let err = app::seed_roster(&mut state).await.expect_err("must fail");
    let msg = format!("{err:#}");
    assert!(
        msg.contains(&format!("interpreter \"{last_id}\""))
            && msg.contains("university: unknown university \"nowhere\""),
        "{msg}"
    );
    assert!(state.pool.profiles().await.expect("profiles").is_empty());
}
