//! Supervisor accounts: login against `settings.supervisors` (argon2, as operators'), a session of
//! their own (a separate book from the operators', so neither token opens the other's doors), the
//! `Supervisor` extractor every supervisor endpoint (the dashboard) goes through, and the audit
//! (the pool's newest events) for supervisors to read.

use super::limit::ClientAddr;
use super::operator::{password_matches, MAX_CREDENTIAL_CHARS};
use super::{ApiError, JsonBody};
use crate::api::state::AppState;
use crate::domain::Millis;
use crate::drivers::clock::now_ms;
use crate::pool::PoolEvent;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use utoipa::{IntoParams, ToSchema};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/supervisor/login", post(login))
        .route("/api/supervisor/logout", post(logout))
        .route("/api/supervisor/me", get(me))
        .route("/api/supervisor/audit", get(audit))
}

/// Audit events a supervisor may ask for at once.
pub const MAX_AUDIT_EVENTS: usize = 1000;
const DEFAULT_AUDIT_EVENTS: usize = 100;

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

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// How many of the newest events (1-1000, default 100).
    limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditReply {
    /// The newest events, oldest first: offers, accepts, joins, calls ended (with their legs and
    /// timeline), ratings, administrators' recoveries…
    #[schema(value_type = Vec<Object>)]
    events: Vec<PoolEvent>,
}

/// The audit: the newest events of the pool's event stream (every node's), oldest first.
#[utoipa::path(get, path = "/api/supervisor/audit", tag = "supervisor", params(AuditQuery),
    security(("supervisor_session" = [])),
    responses(
        (status = 200, body = AuditReply),
        (status = 401, description = "not logged in as a supervisor"),
        (status = 403, description = "an operator's session"),
        (status = 422, description = "`limit` outside 1-1000"),
    ))]
pub async fn audit(
    sup: Supervisor,
    State(state): State<AppState>,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<AuditReply>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = q.limit.unwrap_or(DEFAULT_AUDIT_EVENTS);
    if !(1..=MAX_AUDIT_EVENTS).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("between 1 and {MAX_AUDIT_EVENTS}"),
        ));
    }
    let events = state.pool.recent_events(limit).await?;
    tracing::info!(supervisor = %sup.name, events = events.len(), "audit read");
    Ok(Json(AuditReply { events }))
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
