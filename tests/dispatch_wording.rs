//! The operator console's dispatch panel words every progress event as what happened, with the
//! interpreter's name where one is involved ("Li Na left the call", not "cancelled"), in English
//! and Chinese. Runs the page's own `progressText` and catalogs in Node.js
//! (tests/js/dispatch_wording.mjs).

use serde_json::Value;

/// Events about one interpreter: their line must name them.
const NAMED: &[(&str, &str)] = &[
    ("ringing", "Li Na"),
    ("declined", "Li Na"),
    ("timed_out", "Li Na"),
    ("timed_out_paused", "Li Na"),
    ("accepted", "Li Na"),
    ("withdrawn", "Wang Fang"),
    ("left", "Li Na"),
    ("removed", "Li Na"),
    ("lost_disconnected", "Li Na"),
    ("lost_media_silent", "Li Na"),
    ("lost_replaced", "Li Na"),
];

#[tokio::test]
async fn every_dispatch_event_says_what_happened_with_names_in_zh_and_en() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js/dispatch_wording.mjs");
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
    for lang in ["en", "zh"] {
        let lines = v[lang].as_object().expect("lines per event");
        assert_eq!(lines.len(), 18, "{lang}: every event was worded: {lines:?}");
        let mut seen = std::collections::HashSet::new();
        for (event, line) in lines {
            let line = line.as_str().unwrap_or_default();
            assert!(
                line.chars().count() > 6
                    && !line.contains("undefined")
                    && !line.contains("<missing")
                    && !line.contains('{')
                    && !line.contains("i-li")
                    && !line.contains("i-wang")
                    && line != event,
                "{lang}.{event} is not a sentence about what happened: {line:?}"
            );
            assert!(
                seen.insert(line),
                "{lang}.{event} words like another event: {line:?}"
            );
        }
        for (event, name) in NAMED {
            let line = lines[*event].as_str().unwrap_or_default();
            assert!(line.contains(name), "{lang}.{event} names {name}: {line:?}");
        }
        for event in ["waiting", "failed"] {
            let line = lines[event].as_str().unwrap_or_default();
            let language = if lang == "en" {
                "Portuguese"
            } else {
                "葡萄牙语"
            };
            assert!(
                line.contains(language),
                "{lang}.{event} names the language: {line:?}"
            );
        }
    }
    let en = &v["en"];
    assert_eq!(en["left"], "Li Na left the call");
    assert_eq!(en["removed"], "Li Na was removed from the call");
    assert!(
        !en["cancelled"]
            .as_str()
            .unwrap_or_default()
            .contains("cancelled"),
        "a stopped search says what happened, not 'cancelled': {}",
        en["cancelled"]
    );
    assert_eq!(v["zh"]["left"], "Li Na 已离开通话");
}
