//! Security headers on every response, and the endpoint browsers report policy violations to.
//! The pages carry no inline script or style, so the Content-Security-Policy allows only this
//! origin's own files; the signalling socket may also reach the nodes named in the settings.

use crate::api::state::AppState;
use crate::config::ServerSettings;
use axum::body::Bytes;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::routing::post;
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

/// Where browsers send Content-Security-Policy violation reports.
pub const CSP_REPORT_PATH: &str = "/api/csp-report";
/// Longest part of a violation report written to the log.
const REPORT_LOGGED_BYTES: usize = 600;

pub fn routes() -> Router<AppState> {
    Router::new().route(CSP_REPORT_PATH, post(csp_report))
}

/// The Content-Security-Policy for `server`: same origin only, plus the WebSocket and HTTP
/// origins of the other nodes (`allowed_origins`, `public_url`) for calls that live on them.
pub fn content_security_policy(server: &ServerSettings) -> String {
    let mut connect = vec!["'self'".to_owned()];
    let origins = server
        .allowed_origins
        .iter()
        .map(String::as_str)
        .chain(std::iter::once(server.public_url.as_str()));
    for origin in origins {
        let origin = origin.trim().trim_end_matches('/');
        // Only plain scheme://host[:port] origins; anything else would widen or break the policy.
        if origin.is_empty() || origin.contains([' ', ';', ',', '\'', '"']) {
            continue;
        }
        let ws = if let Some(rest) = origin.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = origin.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            continue;
        };
        for o in [origin.to_owned(), ws] {
            if !connect.contains(&o) {
                connect.push(o);
            }
        }
    }
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         font-src 'self'; media-src 'self' blob:; connect-src {}; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'; report-uri {CSP_REPORT_PATH}",
        connect.join(" ")
    )
}

/// The layers that add the security headers (each only where a handler has not set it).
pub fn layers(
    server: &ServerSettings,
) -> impl Iterator<Item = SetResponseHeaderLayer<HeaderValue>> {
    let csp = HeaderValue::from_str(&content_security_policy(server)).unwrap_or_else(|e| {
        tracing::error!(error = %e, "content security policy not a header value; using the strict one");
        HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'")
    });
    let fixed: [(HeaderName, HeaderValue); 5] = [
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("microphone=(self), camera=(), geolocation=(), payment=()"),
        ),
    ];
    fixed
        .into_iter()
        .map(|(name, value)| SetResponseHeaderLayer::if_not_present(name, value))
}

/// A browser's report of a blocked resource: logged (truncated) and counted. Always 204.
async fn csp_report(body: Bytes) -> StatusCode {
    let shown = String::from_utf8_lossy(&body[..body.len().min(REPORT_LOGGED_BYTES)]).into_owned();
    tracing::warn!(report = %shown, "content security policy violation reported by a browser");
    metrics::counter!("hotline_csp_reports_total").increment(1);
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(origins: &[&str], public_url: &str) -> ServerSettings {
        let mut s = crate::config::Settings::from_toml_str("")
            .expect("defaults")
            .server;
        s.allowed_origins = origins.iter().map(|o| (*o).to_owned()).collect();
        s.public_url = public_url.to_owned();
        s
    }

    #[test]
    fn the_policy_allows_only_this_origin_by_default() {
        let csp = content_security_policy(&server(&[], ""));
        assert!(csp.contains("script-src 'self';"), "{csp}");
        assert!(csp.contains("connect-src 'self';"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
    }

    #[test]
    fn other_nodes_are_reachable_over_their_websocket_scheme() {
        let csp = content_security_policy(&server(
            &["https://node-b.example/", "http://127.0.0.1:9000"],
            "https://node-a.example",
        ));
        for o in [
            "https://node-b.example",
            "wss://node-b.example",
            "http://127.0.0.1:9000",
            "ws://127.0.0.1:9000",
            "wss://node-a.example",
        ] {
            assert!(csp.contains(&format!(" {o}")), "{o} missing from {csp}");
        }
    }

    #[test]
    fn an_origin_that_would_inject_a_directive_is_left_out() {
        let csp = content_security_policy(&server(
            &["https://x.example; script-src *", "javascript:alert(1)"],
            "",
        ));
        assert!(!csp.contains("script-src *"), "{csp}");
        assert!(!csp.contains("javascript"), "{csp}");
    }
}
