//! The public catalog: `/api/languages` lists core, extended and operator languages with their own
//! names; `/api/coverage` counts the pool's scheduled interpreters per language and UTC hour of
//! the week with the gaps, and one university's own coverage needs that university's key.
use crate::common;

use common::fixtures::interpreter;
use common::{spawn_app, test_settings, universities};
use hotline_bridge::app::{self, AppState};
use hotline_bridge::domain::{Day, InterpreterProfile, Level};
use serde_json::Value;

/// Wednesday of the week that starts Monday 2026-11-30.
const AT: &str = "2026-12-02T12:00:00Z";

/// Two Korean interpreters of two universities whose Tuesday shifts overlap by an hour.
fn korean_interpreters() -> [InterpreterProfile; 2] {
    [
        interpreter("bfsu-ko-01")
            .speaks("ko", Level::Native)
            .shift(Day::Tue, "03:00", "05:00")
            .build(),
        interpreter("sisu-ko-01")
            .university("sisu")
            .speaks("ko", Level::Native)
            .shift(Day::Tue, "04:00", "06:00")
            .build(),
    ]
}

fn counts(body: &Value, lang: &str) -> Vec<u64> {
    body["languages"]
        .as_array()
        .expect("languages")
        .iter()
        .find(|l| l["language"] == lang)
        .unwrap_or_else(|| panic!("no {lang}"))["counts"]
        .as_array()
        .expect("counts")
        .iter()
        .map(|c| c.as_u64().expect("count"))
        .collect()
}

async fn get(url: String, key: Option<&str>) -> (u16, Value) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.expect("json body"))
}

#[tokio::test]
async fn languages_lists_core_extended_and_operator_with_their_own_names() {
    let app = spawn_app(AppState::in_memory(test_settings())).await;
    let (status, body) = get(app.url("/api/languages"), None).await;
    assert_eq!(status, 200);
    let core: Vec<&str> = body["core"]
        .as_array()
        .expect("core")
        .iter()
        .map(|l| l["code"].as_str().expect("code"))
        .collect();
    assert_eq!(core, ["en", "fr", "de", "es", "ru", "ja", "ko", "ar"]);
    let pt = &body["extended"][0];
    assert_eq!(
        (pt["code"].as_str(), pt["native_name"].as_str()),
        (Some("pt"), Some("Português"))
    );
    assert_eq!(body["core"][7]["rtl"], true);
    assert_eq!(body["operator"]["native_name"], "中文");
}

#[tokio::test]
async fn an_empty_pool_has_a_gap_all_week_in_every_core_language() {
    let app = spawn_app(AppState::in_memory(test_settings())).await;
    let (status, body) = get(app.url(&format!("/api/coverage?at={AT}")), None).await;
    assert_eq!(status, 200);
    assert_eq!(body["scope"], "all");
    assert_eq!(body["week_start"], "2026-11-30T00:00:00Z");
    assert_eq!(body["covered"], false);
    assert_eq!(body["languages"].as_array().expect("languages").len(), 10);
    assert_eq!(counts(&body, "ko"), vec![0; 168]);
    let gaps = body["gaps"].as_array().expect("gaps");
    assert_eq!(gaps.len(), 8);
    assert_eq!(
        gaps[0]["text"],
        "en: Mon 00:00–Sun 24:00 UTC has 0, needs 1"
    );
}

#[tokio::test]
async fn coverage_counts_the_pools_interpreters_by_utc_hour() {
    let state = AppState::in_memory(test_settings());
    for p in korean_interpreters() {
        state.pool.upsert(&p).await.expect("upsert");
    }
    let app = spawn_app(state).await;
    let (_, body) = get(app.url(&format!("/api/coverage?at={AT}")), None).await;
    let ko = counts(&body, "ko");
    assert_eq!(&ko[24 + 2..24 + 7], &[0, 1, 2, 1, 0]);
    assert_eq!(ko.iter().sum::<u64>(), 4);
    let texts: Vec<&str> = body["gaps"]
        .as_array()
        .expect("gaps")
        .iter()
        .filter_map(|g| g["text"].as_str())
        .filter(|t| t.starts_with("ko:"))
        .collect();
    assert_eq!(
        texts,
        [
            "ko: Mon 00:00–Tue 03:00 UTC has 0, needs 1",
            "ko: Tue 06:00–Sun 24:00 UTC has 0, needs 1"
        ]
    );
}

#[tokio::test]
async fn one_universitys_own_coverage_needs_its_key() {
    let mut settings = test_settings();
    let keys = universities::with_keys(&mut settings, &["bfsu", "sisu"]);
    let state = AppState::in_memory(settings);
    for p in korean_interpreters() {
        state.pool.upsert(&p).await.expect("upsert");
    }
    let app = spawn_app(state).await;
    let url = app.url(&format!("/api/coverage?university=bfsu&at={AT}"));

    let (status, body) = get(url.clone(), None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (status, _) = get(url.clone(), Some("not-a-key")).await;
    assert_eq!(status, 401);
    let (status, body) = get(url.clone(), Some(&keys["sisu"])).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );

    let (status, body) = get(url, Some(&keys["bfsu"])).await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["scope"].as_str(), body["university"].as_str()),
        (Some("university"), Some("bfsu"))
    );
    assert_eq!(&counts(&body, "ko")[24 + 2..24 + 7], &[0, 1, 1, 0, 0]);
}

#[tokio::test]
async fn a_bad_instant_is_a_422_naming_the_parameter() {
    let app = spawn_app(AppState::in_memory(test_settings())).await;
    let (status, body) = get(app.url("/api/coverage?at=yesterday"), None).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["field"], "at");
}

#[tokio::test]
async fn the_seeded_pool_covers_every_core_language() {
    let mut settings = test_settings();
    settings.roster.file = concat!(env!("CARGO_MANIFEST_DIR"), "/interpreters.toml").into();
    let app = spawn_app(app::build_state(settings).await.expect("state")).await;
    let (status, body) = get(app.url("/api/coverage"), None).await;
    assert_eq!(status, 200);
    assert_eq!(body["covered"], true, "{}", body["gaps"]);
    assert!(counts(&body, "en").iter().all(|c| *c >= 2));
}
