//! The HTTP edge: the router (built by a function so tests drive it without a server), health
//! checks, the JSON APIs, WebSocket signalling and the embedded pages.

mod admin;
pub mod admission;
pub mod callbacks;
mod caller_view;
pub mod calls;
pub mod cases;
mod catalog;
mod csv;
mod dashboard;
mod detect;
mod error;
mod error_doc;
mod headers;
mod health;
pub mod limit;
/// The wire protocol, under the name the edges have always used.
pub use crate::protocol as messages;
mod metrics;
mod openapi;
pub mod operator;
pub mod operator_sessions;
mod pages;
mod record;
pub mod recordings;
mod reports;
pub mod server;
pub mod session;
mod session_limits;
pub mod state;
pub mod supervise;
pub mod supervisor;
pub mod tls;
mod university;
pub mod ws;

pub use error::{ApiError, JsonBody};
pub use openapi::ApiDoc;

use crate::api::state::AppState;
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

pub fn router(state: AppState) -> Router {
    let limit = state.settings.server.max_body_bytes;
    let security_headers = headers::layers(&state.settings.server);
    let router = Router::new()
        .merge(health::routes())
        .merge(metrics::routes())
        .merge(calls::routes())
        .merge(cases::routes())
        .merge(callbacks::routes())
        .merge(operator::routes())
        .merge(supervisor::routes())
        .merge(supervise::routes())
        .merge(recordings::routes())
        .merge(dashboard::routes())
        .merge(reports::routes())
        .merge(ws::routes())
        .merge(catalog::routes())
        .merge(university::routes())
        .merge(admin::routes())
        .merge(openapi::routes())
        .merge(detect::routes())
        .merge(pages::routes())
        .merge(headers::routes())
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(axum::middleware::map_response(
            error::payload_too_large_as_json,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state);
    security_headers.fold(router, |r, layer| r.layer(layer))
}
