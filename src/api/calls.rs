//! The calls API: a caller creates a call (no account; rate-limited per address) and gets its call
//! token; the caller or an operator reads and hangs up a call; an operator invites or removes an
//! interpreter; the caller rates the call after it ends. The call itself is its task's
//! (`drivers::call`); this file only authorizes and translates.

use super::limit::ClientAddr;
use super::operator::Operator;
use super::{ApiError, JsonBody};
use crate::api::state::AppState;
use crate::config::Settings;
use crate::domain::{CallId, InterpreterId, Language, ParticipantId};
use crate::drivers::call::CallHandle;
use crate::drivers::call_registry::RatingError;
use crate::engine::caller_wait::{WaitCaps, WaitRefusal};
use crate::engine::{ice_servers, IceServer};
use crate::lang::{self, LangError};
use crate::pool::Status;
use crate::protocol::{CallView, LanguageSource, LanguageView};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/calls", post(create))
        .route("/api/calls/{id}", get(view))
        .route("/api/calls/{id}/hangup", post(hang_up))
        .route("/api/calls/{id}/rating", post(rate))
        .route("/api/calls/{id}/participants", post(invite))
        .route("/api/calls/{id}/participants/{participant}", delete(remove))
}

/// What the page knows about the caller's language (`lang::Signals` less the operator's pick).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LanguageSignals {
    /// The language the caller picked (ISO 639-1), if any.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "pt")]
    pub chosen: Option<Language>,
    /// `navigator.languages`.
    #[serde(default)]
    pub browser_languages: Vec<String>,
    /// What the caller typed (optional), for text detection.
    #[serde(default)]
    pub text: String,
}

#[derive(Serialize, ToSchema)]
pub struct Created {
    #[schema(value_type = String)]
    call_id: CallId,
    /// The caller token (128 bits), shown once: `hello` on the socket, `Bearer` on this API.
    token: String,
    /// Relative to the page's origin (ws: or wss: as the page).
    ws_url: &'static str,
    /// `RTCConfiguration.iceServers`: `{urls, username?, credential?}` (time-limited TURN).
    #[schema(value_type = Vec<Object>)]
    ice_servers: Vec<IceServer>,
    language: LanguageView,
}

/// Creates a call (queued for an operator) with the caller's language signals; no account, limited
/// per client address.
#[utoipa::path(post, path = "/api/calls", tag = "calls",
    request_body = LanguageSignals,
    responses(
        (status = 201, body = Created, description = "queued; connect to ws_url and say hello with the token"),
        (status = 400, description = "malformed JSON"),
        (status = 422, description = "invalid field, named in `error.field`"),
        (status = 429, description = "too many calls from this address (`rate_limited`), or too many of them waiting at once (`too_many_waiting`); see Retry-After"),
        (status = 503, description = "the queue is full (`queue_full`; see Retry-After), or this node is shutting down (`draining`; call again)"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    JsonBody(signals): JsonBody<LanguageSignals>,
) -> Result<(StatusCode, Json<Created>), Response> {
    if state.lifecycle.draining().is_some() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "draining",
            "this server is shutting down and takes no new calls; call again (another server \
             will answer)",
        )
        .into_response());
    }
    // The limiter's refusal carries Retry-After, so it is returned as a response as it is.
    state
        .limits
        .create_call
        .check(addr)
        .map_err(IntoResponse::into_response)?;
    let signals = signals.into_signals();
    validate_signals(&signals, &state.settings).map_err(IntoResponse::into_response)?;
    let language = assess_language(&signals, &state.settings);
    let c = &state.settings.calls;
    let caps = WaitCaps {
        per_address: c.max_waiting_per_address,
        total: c.max_waiting,
    };
    let (call, token) = state
        .calls
        .create_capped(language.clone(), addr, caps)
        .map_err(queue_refusal)?;
    tracing::info!(call_id = %call.id(), language = ?language.code, source = ?language.source, "call created");
    let m = &state.settings.media;
    let now_s = crate::drivers::clock::now_ms() / 1000;
    let ice_servers = ice_servers(
        &m.turn_urls,
        &m.turn_secret,
        m.turn_ttl_s,
        call.id().as_str(),
        now_s,
    );
    Ok((
        StatusCode::CREATED,
        Json(Created {
            call_id: call.id().clone(),
            token,
            ws_url: "/ws",
            ice_servers,
            language,
        }),
    ))
}

impl LanguageSignals {
    fn into_signals(self) -> lang::Signals {
        lang::Signals {
            text: self.text,
            browser_languages: self.browser_languages,
            chosen: self.chosen,
            operator: None,
        }
    }
}

fn validate_signals(s: &lang::Signals, settings: &Settings) -> Result<(), ApiError> {
    s.validate(settings).map_err(|e| {
        let field = match e {
            LangError::TextTooLong { .. } => "text",
            LangError::TooManyBrowserLanguages { .. }
            | LangError::BrowserLanguageTooLong { .. } => "browser_languages",
            LangError::NotConfigured(_) => "chosen",
        };
        ApiError::invalid(field, e.to_string())
    })
}

/// The caller's language from `lang::assess`: the decided language or else the best candidate,
/// how it was determined (one source, or `combined`) and the confidence.
fn assess_language(s: &lang::Signals, settings: &Settings) -> LanguageView {
    language_view(&lang::assess(s, settings))
}

fn language_view(a: &lang::Assessment) -> LanguageView {
    let Some(best) = a.candidates.first() else {
        return LanguageView {
            code: None,
            source: LanguageSource::Unknown,
            confidence: 0.0,
        };
    };
    let source = match best.sources.as_slice() {
        [lang::Source::Chosen] => LanguageSource::Chosen,
        [lang::Source::Browser] => LanguageSource::Browser,
        [lang::Source::Text] => LanguageSource::Text,
        [lang::Source::Operator] => LanguageSource::Operator,
        [] => LanguageSource::Unknown,
        _ => LanguageSource::Combined,
    };
    LanguageView {
        code: a.decided.or(Some(best.language)),
        source,
        confidence: best.confidence as f32,
    }
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
    call.hang_up().await.map_err(ApiError::from)?;
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

/// Seconds a caller refused by a waiting-call cap is asked to wait before trying again.
pub const QUEUE_FULL_RETRY_S: u64 = 30;
pub const TOO_MANY_WAITING_RETRY_S: u64 = 60;

/// A cap on waiting calls refusing a new one: 429 for one address's share, 503 when the queue is
/// full, with `Retry-After`.
fn queue_refusal(r: WaitRefusal) -> Response {
    let (err, retry, reason) = match r {
        WaitRefusal::PerAddress { .. } => (
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_waiting",
                format!("{r}; call again once one of them is answered or ended"),
            ),
            TOO_MANY_WAITING_RETRY_S,
            "per_address",
        ),
        WaitRefusal::Total { .. } => (
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "queue_full",
                "every line is busy; please call again in a few minutes",
            ),
            QUEUE_FULL_RETRY_S,
            "total",
        ),
    };
    tracing::info!(reason, "call refused: {r}");
    crate::metrics::call_refused(reason);
    let mut resp = err.into_response();
    resp.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from(retry));
    resp
}

#[cfg(test)]
mod tests;
