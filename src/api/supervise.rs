//! Supervisors in calls: the live calls they may listen to (`GET /api/supervisor/calls`). Entering
//! one, and listening, whispering or barging in, go over the signalling socket (`join_call`,
//! `supervise`), like every other participant's controls.

use super::supervisor::Supervisor;
use crate::api::state::AppState;
use crate::protocol::CallView;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/supervisor/calls", get(live_calls))
}

#[derive(Serialize, ToSchema)]
pub struct LiveCalls {
    /// The calls this node holds that have not ended, oldest first, as their operators see them.
    pub calls: Vec<CallView>,
}

/// The live calls on this node, for a supervisor to listen to.
#[utoipa::path(get, path = "/api/supervisor/calls", tag = "supervisor",
    security(("supervisor_session" = [])),
    responses(
        (status = 200, body = LiveCalls),
        (status = 401, description = "not logged in as a supervisor"),
        (status = 403, description = "an operator's session"),
    ))]
pub async fn live_calls(sup: Supervisor, State(state): State<AppState>) -> Json<LiveCalls> {
    let mut calls = Vec::new();
    for call in state.calls.live() {
        // A call that ends meanwhile answers no more: it is simply not listed.
        if let Ok(view) = call.view().await {
            if !view.state.is_final() {
                calls.push(view);
            }
        }
    }
    calls.sort_by_key(|v| v.created_at);
    tracing::debug!(supervisor = %sup.name, calls = calls.len(), "live calls listed");
    Json(LiveCalls { calls })
}
