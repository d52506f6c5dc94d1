//! What the record holds about one call, for operators: the call with its legs, its offers and
//! its rating (`GET /api/calls/{id}/record`). Read from the store, so it answers on any node that
//! shares the record, after the call has ended too.

use super::call_id;
use crate::api::operator::Operator;
use crate::api::state::AppState;
use crate::api::ApiError;
use crate::domain::{CallId, CallSummary, OfferRecord, Rating};
use crate::store::StoreError;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

/// The answer: `call` is null until the call has ended (its offers may be recorded before).
#[derive(Debug, Serialize)]
pub struct CallRecordView {
    pub call_id: CallId,
    pub call: Option<CallSummary>,
    pub offers: Vec<OfferRecord>,
    pub rating: Option<Rating>,
}

/// Operator: the stored record of a call: language, outcome and times, each leg (role,
/// interpreter, browser or phone, joined and left), each offer and how it ended, the rating.
#[utoipa::path(get, path = "/api/calls/{id}/record", tag = "calls",
    params(("id" = String, Path, description = "Call id")),
    security(("operator_session" = [])),
    responses(
        (status = 200, description = "`{call_id, call: {language, language_source, outcome, created_at, answered_at, ended_at, legs: [{participant, role, interpreter?, media, joined_at, left_at}]} | null, offers: [{offer_id, interpreter, language, offered_at, outcome, ended_at}], rating: {stars, at} | null}` (times in Unix ms)"),
        (status = 401, description = "not logged in as an operator"),
        (status = 404, description = "nothing recorded for this call, or no record kept (no_record)"),
        (status = 503, description = "the record's database is unreachable"),
    ))]
pub async fn record(
    _operator: Operator,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CallRecordView>, ApiError> {
    let id = call_id(&id)?;
    let records = state.records.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_record",
            "this node keeps no call record (records.database is empty)",
        )
    })?;
    let history = match records.store().call(&id).await {
        Ok(Some(h)) => h,
        Ok(None) => {
            return Err(ApiError::not_found(format!(
                "nothing recorded for call {id}"
            )))
        }
        Err(StoreError::Unavailable(e)) => {
            tracing::warn!(call_id = %id, error = %e, "record not read");
            return Err(ApiError::unavailable(
                "the call record cannot be read now; try again",
            ));
        }
        Err(e) => return Err(ApiError::internal(e)),
    };
    Ok(Json(CallRecordView {
        call_id: id,
        call: history.call,
        offers: history.offers,
        rating: history.rating,
    }))
}
