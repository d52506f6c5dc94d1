//! `/ws`: the WebSocket upgrade. Checks the Origin (same host as the request, or one of
//! `server.allowed_origins`), caps frame sizes, and hands the socket to `session::run`, where the
//! token in the first message decides the role.

use super::admission::Full;
use super::limit::ClientAddr;
use super::session::{self, MAX_MESSAGE_BYTES};
use super::ApiError;
use crate::api::state::AppState;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures::StreamExt;

/// Transport limit: frames beyond it are dropped by the WebSocket layer without a reason. Between
/// `MAX_MESSAGE_BYTES` and this, the session answers `too_large` and closes with 1009.
pub const TRANSPORT_MAX_BYTES: usize = 16 * MAX_MESSAGE_BYTES;

pub fn routes() -> Router<AppState> {
    Router::new().route("/ws", get(upgrade))
}

async fn upgrade(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&headers, &state.settings.server.allowed_origins) {
        let origin = headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("?");
        tracing::warn!(origin = %origin.chars().take(100).collect::<String>(), "websocket from a foreign origin refused");
        return ApiError::forbidden("this page's origin may not open the signalling socket")
            .into_response();
    }
    // Held until the session ends: limits.ws_sessions_per_address and limits.ws_sessions.
    let slot =
        match state.limits.ws_sessions.enter(addr) {
            Ok(slot) => slot,
            Err(Full::Address) => return ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_sessions",
                "too many signalling sessions open from your address; close a page and try again",
            )
            .into_response(),
            Err(Full::Node) => {
                return ApiError::unavailable(
                    "the server has too many signalling sessions open; try again shortly",
                )
                .into_response()
            }
        };
    ws.max_message_size(TRANSPORT_MAX_BYTES)
        .max_frame_size(TRANSPORT_MAX_BYTES)
        .on_upgrade(move |socket| {
            // Tracked, so the node awaits its sessions' ends (they close at its root token).
            let tracker = state.lifecycle.tracker().clone();
            tracker.track_future(async move {
                let (write, read) = socket.split();
                session::run(state, write, read).await;
                drop(slot);
            })
        })
}

/// Browsers always send Origin; a cross-site page must not ride on a caller's or operator's
/// session. Clients without Origin (bots, tests) are not browsers and carry their own token.
pub fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/'));
    matches!((host, origin_host), (Some(h), Some(o)) if h.eq_ignore_ascii_case(o))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).expect("host"));
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(o).expect("origin"));
        }
        h
    }

    #[test]
    fn same_host_and_listed_origins_pass_others_do_not() {
        let none: Vec<String> = vec![];
        assert!(origin_allowed(
            &headers(Some("http://hb.example:8080"), "hb.example:8080"),
            &none
        ));
        assert!(origin_allowed(&headers(None, "hb.example"), &none));
        assert!(!origin_allowed(
            &headers(Some("https://evil.example"), "hb.example"),
            &none
        ));
        assert!(!origin_allowed(&headers(Some("null"), "hb.example"), &none));
        let listed = vec!["https://portal.example".to_string()];
        assert!(origin_allowed(
            &headers(Some("https://portal.example"), "hb.example"),
            &listed
        ));
    }
}
