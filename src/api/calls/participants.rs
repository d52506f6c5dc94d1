//! An operator asks for one interpreter by name (through the dispatcher, never around it) or
//! takes a participant out of the call.

use super::{call_id, live_call};
use crate::api::operator::Operator;
use crate::api::state::AppState;
use crate::api::{ApiError, JsonBody};
use crate::domain::{InterpreterId, Language, ParticipantId};
use crate::pool::Status;
use crate::protocol::CallView;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Invite {
    #[schema(value_type = String, example = "bfsu-pt-01")]
    interpreter_id: InterpreterId,
    /// The language to interpret; default: the call's.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "pt")]
    language: Option<Language>,
}

/// Operator: ask for one interpreter by name. The dispatcher rings them first (on shift or
/// not); they join when they accept, and if they decline or do not answer the search goes on
/// as for "Add interpreter". Progress reaches the operator's console as usual.
#[utoipa::path(post, path = "/api/calls/{id}/participants", tag = "calls",
    params(("id" = String, Path, description = "Call id")),
    request_body = Invite,
    security(("operator_session" = [])),
    responses(
        (status = 202, body = CallView, description = "ringing them through the dispatcher"),
        (status = 401, description = "not logged in as an operator"),
        (status = 404, description = "no such live call or interpreter"),
        (status = 409, description = "the call has ended or already has an interpreter search, or the interpreter is on a call or being rung (interpreter_engaged)"),
        (status = 422, description = "invalid interpreter id, or no language known for the call"),
        (status = 503, description = "this node is shutting down (draining)"),
    ))]
pub async fn invite(
    op: Operator,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<Invite>,
) -> Result<(StatusCode, Json<CallView>), ApiError> {
    let id = call_id(&id)?;
    let call = live_call(&state, &id)?;
    if state.pool.profile(&req.interpreter_id).await?.is_none() {
        return Err(
            ApiError::not_found(format!("no interpreter {}", req.interpreter_id))
                .with_field("interpreter_id"),
        );
    }
    // An interpreter the dispatcher has booked (ringing or in a call) is never pulled away.
    let now = crate::drivers::clock::now_ms();
    if let Some(s) = state.pool.state(&req.interpreter_id, now).await? {
        if matches!(s.status, Status::Offered | Status::Busy) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "interpreter_engaged",
                format!(
                    "interpreter {} is on a call or being rung for one; add an interpreter \
                     through the dispatcher instead",
                    req.interpreter_id
                ),
            )
            .with_field("interpreter_id"));
        }
    }
    let view = call.view().await.map_err(ApiError::from)?;
    let language = req.language.or(view.language.code).ok_or_else(|| {
        ApiError::invalid(
            "language",
            "the call's language is not known yet: set it, or give `language`",
        )
    })?;
    state
        .dispatch
        .request_preferring(id.clone(), language, req.interpreter_id.clone())
        .await?;
    tracing::info!(call_id = %id, operator = %op.name, interpreter_id = %req.interpreter_id, "interpreter asked for by name");
    Ok((
        StatusCode::ACCEPTED,
        Json(call.view().await.map_err(ApiError::from)?),
    ))
}

/// Operator: takes a participant out of the call (the caller: the call ends).
#[utoipa::path(delete, path = "/api/calls/{id}/participants/{participant}", tag = "calls",
    params(("id" = String, Path, description = "Call id"),
           ("participant" = String, Path, description = "Participant id, e.g. int-bfsu-pt-01")),
    security(("operator_session" = [])),
    responses(
        (status = 204, description = "removed"),
        (status = 401, description = "not logged in as an operator"),
        (status = 404, description = "no such live call or participant"),
    ))]
pub async fn remove(
    op: Operator,
    State(state): State<AppState>,
    Path((id, participant)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = call_id(&id)?;
    let call = live_call(&state, &id)?;
    let p = ParticipantId::parse(&participant)
        .map_err(|_| ApiError::not_found(format!("no participant {participant:.64}")))?;
    call.remove_participant(p.clone())
        .await
        .map_err(ApiError::from)?;
    tracing::info!(call_id = %id, operator = %op.name, participant = %p, "participant removed");
    Ok(StatusCode::NO_CONTENT)
}
