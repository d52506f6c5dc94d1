//! A caller creates a call: no account, limited per address and by the waiting-call caps; the
//! language signals the page sent are assessed, and the caller gets the call token once.

use crate::api::limit::ClientAddr;
use crate::api::state::AppState;
use crate::api::{ApiError, JsonBody};
use crate::config::Settings;
use crate::domain::Language;
use crate::domain::{CallId, CaseNumber};
use crate::engine::caller_wait::{WaitCaps, WaitRefusal};
use crate::engine::{ice_servers, IceServer, IceTransportPolicy};
use crate::lang::{self, LangError};
use crate::protocol::{LanguageSource, LanguageView};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
    /// A returning caller's case number (e.g. 261204-0017): the call is linked to that case.
    #[serde(default)]
    #[schema(example = "261204-0017")]
    pub case_number: Option<String>,
}

/// How long creating a call waits for the store to say whether a returning caller's case
/// exists; past it the number is kept unchecked and checked when the call is answered.
const CASE_LOOKUP_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

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
    /// `RTCConfiguration.iceTransportPolicy`: `relay` when the media must go through TURN
    /// (`media.turn_relay_only`), else `all`.
    #[schema(value_type = String)]
    ice_transport_policy: IceTransportPolicy,
    language: LanguageView,
    /// The call is recorded (`records.recording`): the page tells the caller so.
    recorded: bool,
}

/// Creates a call (queued for an operator) with the caller's language signals; no account, limited
/// per client address.
#[utoipa::path(post, path = "/api/calls", tag = "calls",
    request_body = LanguageSignals,
    responses(
        (status = 201, body = Created, description = "queued; connect to ws_url and say hello with the token"),
        (status = 400, description = "malformed JSON"),
        (status = 422, description = "invalid field, named in `error.field`; `unknown_case`: no case has the number given"),
        (status = 429, description = "too many calls from this address (`rate_limited`), or too many of them waiting at once (`too_many_waiting`); see Retry-After"),
        (status = 503, description = "the queue is full (`queue_full`; see Retry-After), or this node is shutting down (`draining`; call again)"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    JsonBody(mut signals): JsonBody<LanguageSignals>,
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
    let case = returning_case(&state, signals.case_number.take())
        .await
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
    if let Some(n) = case {
        tracing::info!(call_id = %call.id(), case = %n, "a returning caller's call");
        call.set_returning_case(n).await;
    }
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
            ice_transport_policy: IceTransportPolicy::relay_only(m.turn_relay_only),
            language,
            recorded: state.settings.records.recording,
        }),
    ))
}

/// The case a returning caller named: its number in canonical form when the store has it (or
/// cannot say now: it is checked again when the call is answered); 422 when it does not.
async fn returning_case(
    state: &AppState,
    raw: Option<String>,
) -> Result<Option<CaseNumber>, ApiError> {
    let Some(raw) = raw.filter(|s| !s.trim().is_empty()) else {
        return Ok(None);
    };
    let n = CaseNumber::parse(&raw).map_err(|e| ApiError::invalid("case_number", e.to_string()))?;
    let Some(desk) = crate::api::cases::desk(state) else {
        return Ok(None);
    };
    if !desk.is_ready() {
        tracing::warn!(case = %n, "case not checked (the record is not ready); the call goes on");
        return Ok(Some(n));
    }
    match tokio::time::timeout(CASE_LOOKUP_WAIT, desk.store().case(&n)).await {
        Ok(Ok(Some(_))) => Ok(Some(n)),
        Ok(Ok(None)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_case",
            format!("there is no case {n}; check the number, or call without it"),
        )
        .with_field("case_number")),
        Ok(Err(e)) => {
            tracing::warn!(case = %n, error = %e, "case not checked; the call goes on");
            Ok(Some(n))
        }
        Err(_) => {
            tracing::warn!(case = %n, "case not checked in time; the call goes on");
            Ok(Some(n))
        }
    }
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
