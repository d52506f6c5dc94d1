//! The service answers liveness and readiness, serves its pages, and gives unknown paths a JSON 404.
use crate::common;

use common::{spawn_app, test_settings};
use hotline_bridge::app::AppState;

#[tokio::test]
async fn healthz_and_readyz_answer_on_the_in_memory_pool() {
    let app = spawn_app(AppState::in_memory(test_settings())).await;
    let h = reqwest::get(app.url("/healthz")).await.expect("healthz");
    assert_eq!(h.status(), 200);
    let r = reqwest::get(app.url("/readyz")).await.expect("readyz");
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["pool"], "memory");
    // This node's id and its lease, taken at start-up (memory pool too).
    let node = body["node"]["id"].as_str().expect("node id");
    assert_eq!(node, app.state.lease.node().to_string());
}

#[tokio::test]
async fn index_page_is_served_and_unknown_paths_get_a_json_404() {
    let app = spawn_app(AppState::in_memory(test_settings())).await;
    let page = reqwest::get(app.url("/")).await.expect("index");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("text").contains("hotline-bridge"));
    let css = reqwest::get(app.url("/css/app.css")).await.expect("css");
    assert_eq!(
        css.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/css")
    );
    let missing = reqwest::get(app.url("/nope")).await.expect("404");
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.expect("json");
    assert_eq!(body["error"]["code"], "not_found");
}
