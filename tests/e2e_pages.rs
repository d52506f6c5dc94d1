//! Every page loads in a real headless Chromium without script errors, and is captured as a
//! screenshot under target/e2e/ for review.
use crate::common;

use common::browser::Browser;
use common::{spawn_app, test_settings};
use hotline_bridge::app::AppState;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_page_renders_in_chromium() {
    let app = spawn_app(AppState::in_memory(test_settings())).await;
    let browser = Browser::launch("en-US,en", None).await;
    browser.client.goto(&app.url("/")).await.expect("goto /");
    let title = browser.client.title().await.expect("title");
    assert_eq!(title, "hotline-bridge");
    let links = browser
        .eval("return [...document.querySelectorAll('nav a')].map(a => a.getAttribute('href'));")
        .await;
    assert_eq!(
        links,
        serde_json::json!([
            "/call",
            "/operator",
            "/interpreter",
            "/university",
            "/dashboard"
        ])
    );
    browser.screenshot("index").await;
    browser.close().await;
}
