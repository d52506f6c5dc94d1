//! Every response carries the security headers (Content-Security-Policy without inline script,
//! frame-ancestors and X-Frame-Options, nosniff, Referrer-Policy), and every page runs under that
//! policy in a real Chromium without a single violation: the only report the service receives is
//! the one a deliberately inline probe script provokes on each page.
use crate::common;

use common::browser::Browser;
use common::{spawn_app, test_settings};
use hotline_bridge::app::AppState;
use std::time::Duration;

const PAGES: [&str; 5] = ["/", "/call", "/operator", "/interpreter", "/university"];

#[tokio::test]
async fn pages_assets_api_and_errors_carry_the_security_headers() {
    let app = spawn_app(AppState::in_memory(test_settings())).await;
    let paths = PAGES.iter().copied().chain([
        "/js/call.js",
        "/css/app.css",
        "/api/languages",
        "/no-such-page",
        "/api/openapi.json",
    ]);
    for path in paths {
        let r = reqwest::get(app.url(path)).await.expect("get");
        let h = r.headers();
        let header = |name: &str| {
            h.get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("{path}: no {name}"))
                .to_owned()
        };
        let csp = header("content-security-policy");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
    }
}

/// `hotline_csp_reports_total` from the service's /metrics (0 before the first report).
async fn csp_reports(app: &common::TestApp) -> u64 {
    let text = reqwest::get(app.url("/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .find_map(|l| l.strip_prefix("hotline_csp_reports_total "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_runs_under_the_policy_without_a_violation() {
    let app = spawn_app(AppState::in_memory(test_settings())).await;
    let browser = Browser::launch("en-US,en", None).await;
    let before = csp_reports(&app).await;
    for (i, page) in PAGES.iter().enumerate() {
        browser.client.goto(&app.url(page)).await.expect("goto");
        browser
            .wait_for(
                &format!("{page} loaded"),
                "document.readyState === 'complete'",
                Duration::from_secs(20),
            )
            .await;
        // The probe: an inline script, which the policy must block and report. Reports are sent
        // in order, so once the probe's has arrived, any violation by the page itself (loading,
        // its modules, their first requests) would have been counted before it.
        browser
            .eval(
                "const s = document.createElement('script');
                 s.textContent = 'window.__inline_ran = true';
                 document.body.appendChild(s);
                 return true;",
            )
            .await;
        let ran = browser.eval("return window.__inline_ran === true;").await;
        assert_eq!(ran, serde_json::json!(false), "{page}: inline script ran");
        let want = before + i as u64 + 1;
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let mut got = csp_reports(&app).await;
        while got < want && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
            got = csp_reports(&app).await;
        }
        assert_eq!(
            got, want,
            "{page}: expected only the probe's report (see the service log for the reports)"
        );
    }
    browser.close().await;
}
