//! `POST /api/detect` over real HTTP: a Portuguese caller is recognised as pt with the text and
//! browser named as sources; oversized text, too many browser entries, an unconfigured pick,
//! malformed JSON and unknown fields each get a 4xx with our JSON error body.
use crate::common;

use common::{spawn_app, test_settings};
use hotline_bridge::app::AppState;
use serde_json::{json, Value};

async fn post(app: &common::TestApp, body: String) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(app.url("/api/detect"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json body"))
}

#[tokio::test]
async fn portuguese_text_and_browser_decide_portuguese() {
    let app = spawn_app(AppState::in_memory(test_settings())).await;
    let (status, body) = post(
        &app,
        json!({
            "text": "Olá, perdi o meu passaporte e não sei onde fica a embaixada",
            "browser_languages": ["pt-BR", "en;q=0.8"],
            "chosen": null
        })
        .to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["decided"], "pt", "{body}");
    let top = &body["candidates"][0];
    assert_eq!(top["language"], "pt");
    assert!(top["confidence"].as_f64().expect("number") >= 0.8, "{body}");
    assert_eq!(top["sources"], json!(["text", "browser"]));
    let languages: Vec<&str> = body["candidates"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|c| c["language"].as_str())
        .collect();
    assert!(
        languages.contains(&"en"),
        "browser's second language listed: {body}"
    );
}

#[tokio::test]
async fn browser_languages_alone_suggest_but_do_not_decide() {
    let app = spawn_app(AppState::in_memory(test_settings())).await;
    let (status, body) = post(&app, json!({ "browser_languages": ["ko-KR"] }).to_string()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["candidates"][0]["language"], "ko");
    assert_eq!(body["candidates"][0]["sources"], json!(["browser"]));
    assert_eq!(body["decided"], Value::Null);
}

#[tokio::test]
async fn the_callers_pick_decides_even_against_the_browser() {
    let app = spawn_app(AppState::in_memory(test_settings())).await;
    let (status, body) = post(
        &app,
        json!({ "browser_languages": ["en-US"], "chosen": "ar-EG" }).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["decided"], "ar");
    assert_eq!(body["candidates"][0]["sources"], json!(["chosen"]));
}

#[tokio::test]
async fn oversized_text_is_refused_with_413() {
    let settings = test_settings();
    let max = settings.detect.max_text_bytes;
    let app = spawn_app(AppState::in_memory(settings)).await;
    let (status, body) = post(&app, json!({ "text": "a".repeat(max + 1) }).to_string()).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "too_large");
    assert_eq!(body["error"]["field"], "text");
    let (status, _) = post(&app, json!({ "text": "a ".repeat(max / 2) }).to_string()).await;
    assert_eq!(status, 200, "text of exactly the limit is accepted");
}

#[tokio::test]
async fn invalid_fields_are_refused_with_422_naming_the_field() {
    let app = spawn_app(AppState::in_memory(test_settings())).await;
    let (status, body) = post(&app, json!({ "chosen": "uk" }).to_string()).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["field"], "chosen");
    let many: Vec<String> = (0..40).map(|_| "en".to_owned()).collect();
    let (status, body) = post(&app, json!({ "browser_languages": many }).to_string()).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["field"], "browser_languages");
    let (status, body) = post(&app, json!({ "text": 42 }).to_string()).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "invalid");
}

#[tokio::test]
async fn unknown_fields_are_refused() {
    let app = spawn_app(AppState::in_memory(test_settings())).await;
    let (status, body) = post(&app, json!({ "txt": "hello there" }).to_string()).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("txt"),
        "{body}"
    );
}

#[tokio::test]
async fn malformed_json_is_refused_with_400() {
    let app = spawn_app(AppState::in_memory(test_settings())).await;
    let (status, body) = post(&app, "{\"text\": \"Olá".to_owned()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "bad_request");
}

#[tokio::test]
async fn the_openapi_document_describes_detect() {
    let app = spawn_app(AppState::in_memory(test_settings())).await;
    let doc: Value = reqwest::get(app.url("/api/openapi.json"))
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    let op = &doc["paths"]["/api/detect"]["post"];
    assert!(op.is_object(), "no POST /api/detect in the document");
    assert!(op["responses"]["413"].is_object());
}
