//! The pages' icons: `/favicon.ico` is a real icon (browsers ask for it whatever the page says,
//! so it must not be a 404), the SVG icon and the app manifest are served with the right types,
//! every icon the manifest names exists, and the staff pages and the index link them.
use crate::common;

use common::{spawn_app, test_settings};
use hotline_bridge::app::AppState;
use serde_json::Value;

async fn get(app: &common::TestApp, path: &str) -> (u16, String, Vec<u8>) {
    let r = reqwest::get(app.url(path)).await.expect("get");
    let status = r.status().as_u16();
    let kind = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, kind, r.bytes().await.expect("body").to_vec())
}

#[tokio::test]
async fn the_favicon_app_icons_and_manifest_are_served_and_linked() {
    let app = spawn_app(AppState::in_memory(test_settings())).await;

    let (status, kind, body) = get(&app, "/favicon.ico").await;
    assert_eq!(status, 200, "/favicon.ico");
    assert_eq!(kind, "image/x-icon");
    assert_eq!(&body[..4], &[0, 0, 1, 0], "an ICO file");

    let (status, kind, body) = get(&app, "/icon.svg").await;
    assert_eq!((status, kind.as_str()), (200, "image/svg+xml"));
    assert!(String::from_utf8_lossy(&body).contains("<svg"));

    let (status, _, body) = get(&app, "/manifest.webmanifest").await;
    assert_eq!(status, 200);
    let manifest: Value = serde_json::from_slice(&body).expect("manifest is JSON");
    let icons = manifest["icons"].as_array().expect("icons");
    assert!(icons.len() >= 2);
    for icon in icons {
        let src = icon["src"].as_str().expect("src");
        let (status, kind, _) = get(&app, src).await;
        assert_eq!(status, 200, "{src}");
        assert_eq!(Some(kind.as_str()), icon["type"].as_str(), "{src}");
    }

    for page in ["/", "/operator", "/interpreter", "/university"] {
        let (_, _, body) = get(&app, page).await;
        let html = String::from_utf8_lossy(&body);
        for link in [
            r#"<link rel="icon" href="/favicon.ico""#,
            r#"<link rel="icon" href="/icon.svg" type="image/svg+xml">"#,
            r#"<link rel="apple-touch-icon" href="/icon-180.png">"#,
            r#"<link rel="manifest" href="/manifest.webmanifest">"#,
        ] {
            assert!(html.contains(link), "{page} lacks {link}");
        }
    }
}
