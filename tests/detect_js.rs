//! The caller page's helper `web/js/lang.js`, run in Node.js against the real server: names in
//! their own script, RTL for Arabic, the debounced suggestion ("Português?") that drops superseded
//! keystrokes, and the server's error code surfaced on refusal.
use crate::common;

use common::{spawn_app, test_settings};
use hotline_bridge::app::AppState;
use serde_json::Value;

#[tokio::test]
async fn lang_js_suggests_portuguese_in_portuguese() {
    let app = spawn_app(AppState::in_memory(test_settings())).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js/lang_client.mjs");
    let out = tokio::process::Command::new("node")
        .arg(script)
        .arg(app.url(""))
        .output()
        .await
        .expect("node is needed for this test (Debian/NodeSource package nodejs)");
    assert!(
        out.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["names"]["pt"], "Português");
    assert_eq!(v["names"]["ja"], "日本語");
    assert_eq!(v["names"]["ko"], "한국어");
    assert_eq!(v["names"]["ar"], "العربية");
    assert_eq!(v["names"]["ru"], "Русский");
    assert_eq!(v["names"]["zh"], "中文");
    assert_eq!(v["questions"]["pt"], "Português?");
    assert_eq!(v["questions"]["ar"], "العربية؟");
    assert_eq!(v["dirs"]["ar"], "rtl");
    assert_eq!(v["dirs"]["ar-EG"], "rtl");
    assert_eq!(v["dirs"]["pt"], "ltr");
    assert_eq!(v["superseded"], serde_json::json!([null, null]));
    let s = &v["suggestion"];
    assert_eq!(s["language"], "pt", "{v}");
    assert_eq!(s["decided"], "pt", "{v}");
    assert_eq!(s["question"], "Português?");
    assert_eq!(s["dir"], "ltr");
    assert_eq!(v["oversize"]["status"], 413, "{v}");
    assert_eq!(v["oversize"]["code"], "too_large");
}
