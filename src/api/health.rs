//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the pool is reachable
//! and the node is not draining for shutdown; it also shows this node's id and when its lease
//! in the pool runs out).

use crate::api::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `{id, lease_expires_at}` of this node (`null` before the first renewal).
fn node(state: &AppState) -> Value {
    json!({
        "id": state.lease.node().to_string(),
        "lease_expires_at": state.lease.expires_at(),
    })
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    // First thing a drain changes: load balancers stop sending new callers here.
    if let Some(d) = state.lifecycle.draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "status": "draining",
                "pool": state.pool_kind,
                "node": node(&state),
                "drain_deadline": d.deadline,
                "error": {
                    "code": "draining",
                    "message": "this node is shutting down: it takes no new calls; calls in \
                                progress go on until they end or the drain time passes"
                }
            })),
        );
    }
    match state.pool.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "status": "ready", "pool": state.pool_kind, "node": node(&state) })),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: pool unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({
                    "status": "unavailable",
                    "pool": state.pool_kind,
                    "node": node(&state),
                    "error": { "code": "pool_unreachable", "message": e.to_string() }
                })),
            )
        }
    }
}
