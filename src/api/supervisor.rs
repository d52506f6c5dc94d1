//! Supervisor accounts: login against `settings.supervisors` (argon2, as operators'), a session of
//! their own (a separate book from the operators', so neither token opens the other's doors), and
//! the `Supervisor` extractor every supervisor endpoint (the dashboard) goes through.

use super::limit::ClientAddr;
use super::operator::{password_matches, MAX_CREDENTIAL_CHARS};
use super::{ApiError, JsonBody};
use crate::api::state::AppState;
use crate::domain::Millis;
use crate::drivers::clock::now_ms;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/supervisor/login", post(login))
        .route("/api/supervisor/logout", post(logout))
        .route("/api/supervisor/me", get(me))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupervisorLogin {
    name: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
pub struct SupervisorLoginReply {
    /// The session token, sent as `Authorization: Bearer <token>`.
    token: String,
    name: String,
    expires_at: Millis,
}

/// Logs a supervisor in (accounts in the settings, argon2); limited per client address like the
/// operators' login (the same `limits.login_per_minute` bucket).
#[utoipa::path(post, path = "/api/supervisor/login", tag = "supervisor",
    request_body = SupervisorLogin,
    responses(
        (status = 200, body = SupervisorLoginReply),
        (status = 401, description = "wrong name or password"),
        (status = 429, description = "too many attempts from this address; see Retry-After"),
        (status = 503, description = "too many sign-ins at once (limits.password_checks); try again"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    JsonBody(req): JsonBody<SupervisorLogin>,
) -> Result<Json<SupervisorLoginReply>, Response> {
    state
        .limits
        .login
        .check(addr)
        .map_err(IntoResponse::into_response)?;
    verify(&state, req)
        .await
        .map_err(IntoResponse::into_response)
}

async fn verify(
    state: &AppState,
    req: SupervisorLogin,
) -> Result<Json<SupervisorLoginReply>, ApiError> {
    if req.name.chars().count() > MAX_CREDENTIAL_CHARS
        || req.password.chars().count() > MAX_CREDENTIAL_CHARS
    {
        return Err(ApiError::invalid("password", "name or password too long"));
    }
    let account = state.settings.supervisors.get(&req.name);
    let phc = account.map(|a| a.password_argon2.as_str());
    if !password_matches(state, phc, req.password).await? {
        tracing::info!(supervisor = %req.name.chars().take(40).collect::<String>(), "supervisor login refused");
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "wrong name or password",
        ));
    }
    let (token, expires_at) = state.supervisors.open(&req.name, now_ms());
    tracing::info!(supervisor = %req.name, "supervisor logged in");
    Ok(Json(SupervisorLoginReply {
        token,
        name: req.name,
        expires_at,
    }))
}

#[utoipa::path(post, path = "/api/supervisor/logout", tag = "supervisor",
    security(("supervisor_session" = [])),
    responses((status = 204, description = "logged out"), (status = 401, description = "not logged in")))]
pub async fn logout(sup: Supervisor, State(state): State<AppState>) -> StatusCode {
    state.supervisors.close(&sup.token);
    tracing::info!(supervisor = %sup.name, "supervisor logged out");
    StatusCode::NO_CONTENT
}

/// The logged-in supervisor's name and session expiry.
#[utoipa::path(get, path = "/api/supervisor/me", tag = "supervisor",
    security(("supervisor_session" = [])),
    responses(
        (status = 200, description = "{name, expires_at}"),
        (status = 401, description = "not logged in"),
        (status = 403, description = "an operator's session"),
    ))]
pub async fn me(sup: Supervisor) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "name": sup.name, "expires_at": sup.expires_at }))
}

/// A logged-in supervisor (from `Authorization: Bearer <session token>`): 401 without a live
/// session, 403 with an operator's.
pub struct Supervisor {
    pub name: String,
    pub expires_at: Millis,
    /// Cancelled when this session logs out (live streams opened with it end).
    pub ended: CancellationToken,
    token: String,
}

impl axum::extract::FromRequestParts<AppState> for Supervisor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let token = crate::auth::bearer(header).ok_or_else(ApiError::unauthorized)?;
        let now = now_ms();
        let Some((name, expires_at)) = state.supervisors.check(token, now) else {
            if state.operators.check(token, now).is_some() {
                return Err(ApiError::forbidden("only supervisors may see this"));
            }
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "not logged in as a supervisor, or the session has expired",
            ));
        };
        let ended = state.supervisors.ended(token).unwrap_or_default();
        Ok(Supervisor {
            name,
            expires_at,
            ended,
            token: token.to_owned(),
        })
    }
}
