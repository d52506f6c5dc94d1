//! The callback requests API, for operators only (session token): list the requests callers left
//! instead of waiting longer (open ones by default, oldest first: the caller who asked first is
//! called first) and mark one done once called back. Operators see the number in full; logs see
//! it masked. The work is the store's; this file authorizes, validates and translates.

use super::operator::Operator;
use super::record;
use super::{ApiError, JsonBody};
use crate::api::state::AppState;
use crate::domain::{CallId, CallbackRequest, CallbackStatus, EventKind};
use crate::drivers::cases::CaseDesk;
use crate::drivers::clock::now_ms;
use crate::pool::PoolEvent;
use crate::store::StoreError;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::{get, patch};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// Requests one list gives when the request names no limit.
const LIST_DEFAULT: u32 = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/callbacks", get(list))
        .route("/api/callbacks/{call_id}", patch(mark))
}

/// The case desk (which keeps call-back requests too), ready.
fn desk_or_404(state: &AppState) -> Result<CaseDesk, ApiError> {
    super::cases::ready_desk(state, "callback requests")
}

fn store_error(e: StoreError) -> ApiError {
    record::failed("the callback requests")(e)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// open (the default), done or all.
    status: Option<String>,
    /// At most this many (default 100, at most 500).
    limit: Option<u32>,
}

/// Operator: callback requests, oldest first.
#[utoipa::path(get, path = "/api/callbacks", tag = "callbacks", params(ListQuery),
    security(("operator_session" = [])),
    responses(
        (status = 200, description = "`[{call_id, number, language, description, status, requested_at, done_at, done_by}]`"),
        (status = 400, description = "a malformed query"),
        (status = 401, description = "not logged in as an operator"),
        (status = 403, description = "a supervisor's session (operators only)"),
        (status = 404, description = "no record kept (no_record)"),
        (status = 422, description = "unknown status"),
        (status = 503, description = "the record's database is unreachable"),
    ))]
pub async fn list(
    _operator: Operator,
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Vec<CallbackRequest>>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let status = match q.status.as_deref() {
        None => Some(CallbackStatus::Open),
        Some("all") => None,
        Some(s) => Some(
            CallbackStatus::parse(s)
                .ok_or_else(|| ApiError::invalid("status", "status is open, done or all"))?,
        ),
    };
    let desk = desk_or_404(&state)?;
    let list = desk
        .store()
        .callbacks(status, q.limit.unwrap_or(LIST_DEFAULT))
        .await
        .map_err(store_error)?;
    Ok(Json(list))
}

/// What an operator changes in a callback request: only its status, to done.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackChange {
    /// done (a request is called back once).
    #[schema(value_type = String, example = "done")]
    status: CallbackStatus,
}

/// Operator: marks a callback request done (again: nothing changes, the first stays).
#[utoipa::path(patch, path = "/api/callbacks/{call_id}", tag = "callbacks",
    params(("call_id" = String, Path, description = "The call the request was left on")),
    request_body = CallbackChange,
    security(("operator_session" = [])),
    responses(
        (status = 200, description = "the request, `status` done"),
        (status = 400, description = "malformed JSON, or a status other than done"),
        (status = 401, description = "not logged in as an operator"),
        (status = 403, description = "a supervisor's session (operators only)"),
        (status = 404, description = "no such request, or no record kept (no_record)"),
        (status = 503, description = "the record's database is unreachable"),
    ))]
pub async fn mark(
    operator: Operator,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    JsonBody(change): JsonBody<CallbackChange>,
) -> Result<Json<CallbackRequest>, ApiError> {
    let not_found = || ApiError::not_found(format!("no callback request for call {raw:.64}"));
    let call = CallId::parse(&raw).map_err(|_| not_found())?;
    if change.status != CallbackStatus::Done {
        return Err(ApiError::bad_request(
            "a callback request can only be marked done",
        ));
    }
    let desk = desk_or_404(&state)?;
    let now = now_ms();
    let done = desk
        .store()
        .callback_done(&call, &operator.name, now)
        .await
        .map_err(store_error)?
        .ok_or_else(not_found)?;
    if done.done_at == Some(now) && done.done_by.as_deref() == Some(operator.name.as_str()) {
        tracing::info!(call_id = %call, operator = %operator.name, number = %done.number.masked(), "callback request done");
        let event = PoolEvent {
            kind: EventKind::CallbackDone,
            at: now,
            call_id: Some(call.clone()),
            interpreter: None,
            language: done.language,
            offer_id: None,
            detail: format!("by={}", operator.name),
        };
        crate::metrics::event(&event);
        if let Err(e) = state.pool.record(&event).await {
            tracing::warn!(call_id = %call, error = %e, "callback event not recorded");
        }
    }
    Ok(Json(done))
}
