//! Operator accounts: login against `settings.operators` (argon2) into a session
//! (`operator_sessions.rs`), and the `Operator` extractor that every operator mutation goes
//! through.

use super::limit::ClientAddr;
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
use std::sync::OnceLock;
use utoipa::ToSchema;

/// Longest operator name or password accepted (argon2 work is bounded by it).
pub(super) const MAX_CREDENTIAL_CHARS: usize = 256;
/// How long a sign-in waits for a free password check (`limits.password_checks`) before 503.
const PASSWORD_CHECK_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/operator/login", post(login))
        .route("/api/operator/logout", post(logout))
        .route("/api/operator/me", get(me))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    name: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginReply {
    /// The session token: `Bearer` on the API, `hello` on the socket.
    token: String,
    name: String,
    expires_at: Millis,
}

/// Logs an operator in (accounts in the settings, argon2); limited per client address.
#[utoipa::path(post, path = "/api/operator/login", tag = "operator",
    request_body = Login,
    responses(
        (status = 200, body = LoginReply),
        (status = 401, description = "wrong name or password"),
        (status = 429, description = "too many attempts from this address; see Retry-After"),
        (status = 503, description = "too many sign-ins at once (limits.password_checks); try again"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    JsonBody(req): JsonBody<Login>,
) -> Result<Json<LoginReply>, Response> {
    state
        .limits
        .login
        .check(addr)
        .map_err(IntoResponse::into_response)?;
    verify(&state, req)
        .await
        .map_err(IntoResponse::into_response)
}

async fn verify(state: &AppState, req: Login) -> Result<Json<LoginReply>, ApiError> {
    if req.name.chars().count() > MAX_CREDENTIAL_CHARS
        || req.password.chars().count() > MAX_CREDENTIAL_CHARS
    {
        return Err(ApiError::invalid("password", "name or password too long"));
    }
    let account = state.settings.operators.get(&req.name);
    let ok = password_matches(
        state,
        account.map(|a| a.password_argon2.as_str()),
        req.password,
    )
    .await?;
    if !ok || account.is_none() {
        tracing::info!(operator = %req.name.chars().take(40).collect::<String>(), "operator login refused");
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "wrong name or password",
        ));
    }
    let (token, expires_at) = state.operators.open(&req.name, now_ms());
    tracing::info!(operator = %req.name, "operator logged in");
    Ok(Json(LoginReply {
        token,
        name: req.name,
        expires_at,
    }))
}

#[utoipa::path(post, path = "/api/operator/logout", tag = "operator",
    security(("operator_session" = [])),
    responses((status = 204, description = "logged out"), (status = 401, description = "not logged in")))]
pub async fn logout(op: Operator, State(state): State<AppState>) -> StatusCode {
    state.operators.close(&op.token);
    tracing::info!(operator = %op.name, "operator logged out");
    StatusCode::NO_CONTENT
}

/// The logged-in operator's name and session expiry.
#[utoipa::path(get, path = "/api/operator/me", tag = "operator",
    security(("operator_session" = [])),
    responses((status = 200, description = "{name, expires_at}"), (status = 401, description = "not logged in")))]
pub async fn me(op: Operator) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "name": op.name, "expires_at": op.expires_at }))
}

/// Whether `password` matches `phc` (argon2), at most `limits.password_checks` checks at once
/// (503 when none is free soon). Without an account (`phc` `None`) a dummy hash is verified, so
/// timing does not tell which names exist; the answer is then `false`.
pub(super) async fn password_matches(
    state: &AppState,
    phc: Option<&str>,
    password: String,
) -> Result<bool, ApiError> {
    let known = phc.is_some();
    let phc = phc.unwrap_or_else(|| dummy_hash()).to_owned();
    // Each check takes ~19 MiB and tens of milliseconds of a core: at most
    // limits.password_checks run at once, and a login that finds none free soon is refused.
    let permit = tokio::time::timeout(
        PASSWORD_CHECK_WAIT,
        state.limits.password_checks.clone().acquire_owned(),
    )
    .await
    .ok()
    .and_then(Result::ok)
    .ok_or_else(|| {
        crate::metrics::limited("password_checks");
        ApiError::unavailable("too many sign-ins at once; try again in a moment")
    })?;
    let ok = tokio::task::spawn_blocking(move || {
        let ok = crate::auth::argon2_verify(&password, &phc);
        drop(permit);
        ok
    })
    .await
    .map_err(ApiError::internal)?;
    Ok(ok && known)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        crate::auth::argon2_hash(&crate::auth::new_secret()).unwrap_or_else(|_| {
            // A fixed, valid PHC string: verifying against it costs the same and never succeeds.
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$7e3Xt4lQ1nCnBOnUrcJ8lfSo7GwpUnBKLO1fCvHk3Q4".into()
        })
    })
}

/// A logged-in operator (from `Authorization: Bearer <session token>`); 401 otherwise.
pub struct Operator {
    pub name: String,
    pub expires_at: Millis,
    token: String,
}

impl axum::extract::FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let token = crate::auth::bearer(header).ok_or_else(ApiError::unauthorized)?;
        let now = now_ms();
        if state.operators.check(token, now).is_none()
            && state.supervisors.check(token, now).is_some()
        {
            return Err(ApiError::forbidden(
                "a supervisor's session cannot act as an operator",
            ));
        }
        let (name, expires_at) = state.operators.check(token, now).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "not logged in as an operator, or the session has expired",
            )
        })?;
        Ok(Operator {
            name,
            expires_at,
            token: token.to_owned(),
        })
    }
}
