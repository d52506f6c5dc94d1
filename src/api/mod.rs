//! The HTTP edge: the router (built by a function so tests drive it without a server), health
//! checks, the JSON APIs, WebSocket signalling and the embedded pages.

pub mod calls;
mod error;
mod health;
pub mod limit;
pub mod messages;
pub mod operator;
mod pages;
pub mod session;
pub mod ws;

pub use error::{ApiError, JsonBody};

use crate::app::AppState;
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

pub fn router(state: AppState) -> Router {
    let limit = state.settings.server.max_body_bytes;
    Router::new()
        .merge(health::routes())
        .merge(calls::routes())
        .merge(operator::routes())
        .merge(ws::routes())
        .merge(pages::routes())
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
