//! The calls API: a caller creates a call (no account; rate-limited per address) and gets its call
//! token; the caller or an operator reads and hangs up a call; an operator invites or removes an
//! interpreter; the caller rates the call after it ends; an operator reads its stored record. The
//! call itself is its task's (`drivers::call`); this file only authorizes and translates.

use super::{ApiError, JsonBody};
use crate::api::state::AppState;
use crate::domain::{CallId, EndedBy};
use crate::drivers::call::CallHandle;
use crate::drivers::call_registry::RatingError;
use crate::protocol::CallView;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/calls", post(create))
        .route("/api/calls/{id}", get(view))
        .route("/api/calls/{id}/hangup", post(hang_up))
        .route("/api/calls/{id}/rating", post(rate))
        .route("/api/calls/{id}/record", get(record))
        .route("/api/calls/{id}/participants", post(invite))
        .route("/api/calls/{id}/participants/{participant}", delete(remove))
}

/// Who is asking about a call: its caller (call token) or an operator (session token).
enum Party {
    Caller,
    Operator(String),
}

async fn party(headers: &HeaderMap, state: &AppState, call: &CallId) -> Result<Party, ApiError> {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let token = crate::auth::bearer(header).ok_or_else(ApiError::unauthorized)?;
    if let Some((name, _)) = state
        .operators
        .check(token, crate::drivers::clock::now_ms())
    {
        return Ok(Party::Operator(name));
    }
    match state.calls.caller_token_matches(call, token) {
        Some(true) => Ok(Party::Caller),
        Some(false) => Err(ApiError::forbidden("this token is not for this call")),
        None => Err(ApiError::not_found(format!("no call {call}"))),
    }
}

fn live_call(state: &AppState, id: &CallId) -> Result<CallHandle, ApiError> {
    state
        .calls
        .get(id)
        .ok_or_else(|| ApiError::not_found(format!("no live call {id}")))
}

fn call_id(raw: &str) -> Result<CallId, ApiError> {
    CallId::parse(raw).map_err(|_| ApiError::not_found(format!("no call {raw:.64}")))
}

/// The call as it is now (the caller with its token, or any operator).
#[utoipa::path(get, path = "/api/calls/{id}", tag = "calls",
    params(("id" = String, Path, description = "Call id")),
    security(("caller_token" = []), ("operator_session" = [])),
    responses(
        (status = 200, body = CallView),
        (status = 401, description = "no token"),
        (status = 403, description = "the token is not for this call"),
        (status = 404, description = "no such live call"),
    ))]
pub async fn view(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<CallView>, ApiError> {
    let id = call_id(&id)?;
    let who = party(&headers, &state, &id).await?;
    let call = live_call(&state, &id)?;
    let view = call.view().await.map_err(ApiError::from)?;
    Ok(Json(match who {
        Party::Caller => super::caller_view::view_for_caller(view),
        Party::Operator(_) => view,
    }))
}

/// Ends the call for everyone (its caller or an operator).
#[utoipa::path(post, path = "/api/calls/{id}/hangup", tag = "calls",
    params(("id" = String, Path, description = "Call id")),
    security(("caller_token" = []), ("operator_session" = [])),
    responses(
        (status = 204, description = "ended"),
        (status = 401, description = "no token"),
        (status = 403, description = "the token is not for this call"),
        (status = 404, description = "no such live call"),
    ))]
pub async fn hang_up(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let id = call_id(&id)?;
    let who = party(&headers, &state, &id).await?;
    let call = live_call(&state, &id)?;
    let by = match who {
        Party::Caller => EndedBy::Caller,
        Party::Operator(_) => EndedBy::Operator,
    };
    call.end(by).await.map_err(ApiError::from)?;
    match who {
        Party::Caller => tracing::info!(call_id = %id, "caller hung up"),
        Party::Operator(name) => {
            tracing::info!(call_id = %id, operator = %name, "operator hung up")
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rating {
    /// 1 (worst) to 5 (best).
    #[schema(minimum = 1, maximum = 5)]
    stars: u8,
}

/// The caller rates its call, once, after it ended (within an hour).
#[utoipa::path(post, path = "/api/calls/{id}/rating", tag = "calls",
    params(("id" = String, Path, description = "Call id")),
    request_body = Rating,
    security(("caller_token" = [])),
    responses(
        (status = 204, description = "recorded"),
        (status = 401, description = "no token"),
        (status = 403, description = "not this call's caller token"),
        (status = 404, description = "unknown call or rating window closed"),
        (status = 409, description = "the call is still going on, or was rated already"),
        (status = 422, description = "stars not 1-5"),
    ))]
pub async fn rate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(r): JsonBody<Rating>,
) -> Result<StatusCode, ApiError> {
    let id = call_id(&id)?;
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let token = crate::auth::bearer(header).ok_or_else(ApiError::unauthorized)?;
    if !(1..=5).contains(&r.stars) {
        return Err(ApiError::invalid("stars", "a rating is 1 to 5 stars"));
    }
    state
        .calls
        .rate(&id, token, r.stars)
        .await
        .map_err(|e| match e {
            RatingError::UnknownCall => ApiError::not_found(e.to_string()),
            RatingError::WrongToken => ApiError::forbidden(e.to_string()),
            // Two codes: a page that rates right after hanging up may be ahead of the call's end
            // and tries again; a second rating is final.
            RatingError::NotEnded => {
                ApiError::new(StatusCode::CONFLICT, "not_ended", e.to_string())
            }
            RatingError::AlreadyRated => {
                ApiError::new(StatusCode::CONFLICT, "already_rated", e.to_string())
            }
        })?;
    Ok(StatusCode::NO_CONTENT)
}

pub mod create;
pub mod participants;
pub mod record;

use create::create;
use participants::{invite, remove};
use record::record;
