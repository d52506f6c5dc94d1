//! `POST /api/detect`: the caller page asks which language the caller probably speaks, from the
//! text typed so far, the browser's languages and any pick. Stateless and unauthenticated (the
//! page has no token yet); it stores nothing. The decision rules live in `crate::lang`.

use super::limit::ClientAddr;
use super::{ApiError, JsonBody};
use crate::api::state::AppState;
use crate::lang::{self, Assessment, LangError, Signals};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/detect", post(detect))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DetectRequest {
    /// Everything the caller typed, joined (at most `detect.max_text_bytes`).
    #[serde(default)]
    #[schema(example = "Olá, perdi o meu passaporte")]
    text: String,
    /// `navigator.languages`, or `Accept-Language` values; q-values allowed.
    #[serde(default)]
    #[schema(example = json!(["pt-BR", "en;q=0.8"]))]
    browser_languages: Vec<String>,
    /// The caller's pick on the page, a tag such as `pt` or `pt-BR`.
    #[serde(default)]
    chosen: Option<String>,
}

/// The answer's shape for the OpenAPI document (the handler returns `lang::Assessment`).
#[derive(Serialize, ToSchema)]
pub struct DetectResponse {
    /// Best first; at most five.
    candidates: Vec<DetectCandidate>,
    /// The best candidate's language when its confidence reaches `detect.threshold`, else null.
    #[schema(example = "pt")]
    decided: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DetectCandidate {
    #[schema(example = "pt")]
    language: String,
    /// 0–1.
    #[schema(example = 0.93)]
    confidence: f64,
    /// Where the support came from: operator, chosen, text, browser.
    #[schema(example = json!(["text", "browser"]))]
    sources: Vec<String>,
}

/// Which language the caller probably speaks, from their text, browser languages and pick.
#[utoipa::path(post, path = "/api/detect", tag = "caller", request_body = DetectRequest,
    responses(
        (status = 200, body = DetectResponse),
        (status = 400, description = "malformed JSON", body = super::error_doc::ErrorBody),
        (status = 413, description = "text over detect.max_text_bytes", body = super::error_doc::ErrorBody),
        (status = 422, description = "a field is invalid or unknown", body = super::error_doc::ErrorBody),
        (status = 429, description = "too many requests from this address; see Retry-After", body = super::error_doc::ErrorBody),
    ))]
pub async fn detect(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    JsonBody(req): JsonBody<DetectRequest>,
) -> Result<Json<Assessment>, ApiError> {
    state.limits.public.check(addr)?;
    let settings = state.settings.clone();
    let chosen = req
        .chosen
        .as_deref()
        .map(|tag| lang::parse_chosen(tag, &settings))
        .transpose()
        .map_err(to_api)?;
    let signals = Signals {
        text: req.text,
        browser_languages: req.browser_languages,
        chosen,
        operator: None,
    };
    signals.validate(&settings).map_err(to_api)?;
    // Detection is CPU work of up to a millisecond or so: keep it off the async workers.
    let assessment = tokio::task::spawn_blocking(move || lang::assess(&signals, &settings))
        .await
        .map_err(ApiError::internal)?;
    tracing::debug!(
        decided = ?assessment.decided,
        top = ?assessment.candidates.first().map(|c| (c.language, c.confidence)),
        "language assessed"
    );
    Ok(Json(assessment))
}

fn to_api(e: LangError) -> ApiError {
    match e {
        LangError::TextTooLong { .. } => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", e.to_string())
                .with_field("text")
        }
        LangError::TooManyBrowserLanguages { .. } | LangError::BrowserLanguageTooLong { .. } => {
            ApiError::invalid("browser_languages", e.to_string())
        }
        LangError::NotConfigured(_) => ApiError::invalid("chosen", e.to_string()),
    }
}
