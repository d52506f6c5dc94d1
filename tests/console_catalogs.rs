//! The staff pages' catalogs (operator, interpreter, university, dashboard, supervisor, reports): every
//! language has every key with the same `{placeholders}` as English, every key a page names (its
//! HTML's `data-i18n*` attributes, its scripts' `t("key")` calls) exists, the operator,
//! university, dashboard, supervisor and reports pages speak Chinese and English and the interpreter
//! console the core eight and Chinese. Run in Node.js (tests/js/console_catalogs.mjs), as the
//! pages import the catalogs: plain ES modules.

use serde_json::{json, Value};

#[tokio::test]
async fn every_console_catalog_has_every_key_the_pages_use() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js/console_catalogs.mjs");
    let out = tokio::process::Command::new("node")
        .arg(script)
        .output()
        .await
        .expect("node is needed for this test (Debian/NodeSource package nodejs)");
    assert!(
        out.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    for page in [
        "operator",
        "interpreter",
        "university",
        "dashboard",
        "supervisor",
        "reports",
    ] {
        assert_eq!(v[page]["problems"], json!([]), "{page}: {}", v[page]);
        assert!(
            v[page]["used"].as_u64().unwrap_or(0) > 30,
            "{page}: the check found the keys the page uses: {}",
            v[page]
        );
    }
    assert_eq!(v["operator"]["languages"], json!(["en", "zh"]));
    assert_eq!(v["university"]["languages"], json!(["en", "zh"]));
    assert_eq!(v["dashboard"]["languages"], json!(["en", "zh"]));
    assert_eq!(v["supervisor"]["languages"], json!(["en", "zh"]));
    assert_eq!(v["reports"]["languages"], json!(["en", "zh"]));
    assert_eq!(
        v["interpreter"]["languages"],
        json!(["ar", "de", "en", "es", "fr", "ja", "ko", "ru", "zh"])
    );
}
