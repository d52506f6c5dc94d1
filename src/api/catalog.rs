//! Public facts for every page: the languages served (`/api/languages`, each with its own name)
//! and how the pool's interpreters cover the week (`/api/coverage`; one university's own
//! coverage needs that university's key). Reads only; never changes the pool.

use super::limit::ClientAddr;
use super::university::authorize;
use super::ApiError;
use crate::api::state::AppState;
use crate::coverage::{Coverage, CoverageReport};
use crate::domain::Language;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/languages", get(languages))
        .route("/api/coverage", get(coverage))
}

/// English name, the language's own name, written right to left.
const NAMES: &[(&str, &str, &str, bool)] = &[
    ("ar", "Arabic", "العربية", true),
    ("bn", "Bengali", "বাংলা", false),
    ("de", "German", "Deutsch", false),
    ("el", "Greek", "Ελληνικά", false),
    ("en", "English", "English", false),
    ("es", "Spanish", "Español", false),
    ("fa", "Persian", "فارسی", true),
    ("fr", "French", "Français", false),
    ("he", "Hebrew", "עברית", true),
    ("hi", "Hindi", "हिन्दी", false),
    ("id", "Indonesian", "Bahasa Indonesia", false),
    ("it", "Italian", "Italiano", false),
    ("ja", "Japanese", "日本語", false),
    ("kk", "Kazakh", "Қазақ тілі", false),
    ("km", "Khmer", "ខ្មែរ", false),
    ("ko", "Korean", "한국어", false),
    ("lo", "Lao", "ລາວ", false),
    ("mn", "Mongolian", "Монгол", false),
    ("ms", "Malay", "Bahasa Melayu", false),
    ("my", "Burmese", "မြန်မာ", false),
    ("ne", "Nepali", "नेपाली", false),
    ("nl", "Dutch", "Nederlands", false),
    ("pl", "Polish", "Polski", false),
    ("pt", "Portuguese", "Português", false),
    ("ru", "Russian", "Русский", false),
    ("sw", "Swahili", "Kiswahili", false),
    ("th", "Thai", "ไทย", false),
    ("tr", "Turkish", "Türkçe", false),
    ("uk", "Ukrainian", "Українська", false),
    ("ur", "Urdu", "اردو", true),
    ("vi", "Vietnamese", "Tiếng Việt", false),
    ("zh", "Chinese", "中文", false),
];

/// One language as pages show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LanguageInfo {
    /// ISO 639-1 code.
    #[schema(example = "pt")]
    pub code: String,
    /// English name.
    #[schema(example = "Portuguese")]
    pub name: String,
    /// The language's own name.
    #[schema(example = "Português")]
    pub native_name: String,
    /// Written right to left (Arabic, Persian, Hebrew, Urdu).
    pub rtl: bool,
}

impl LanguageInfo {
    pub fn of(l: Language) -> Self {
        let code = l.as_str();
        match NAMES.iter().find(|(c, ..)| *c == code) {
            Some((_, name, native, rtl)) => Self {
                code: code.to_owned(),
                name: (*name).to_owned(),
                native_name: (*native).to_owned(),
                rtl: *rtl,
            },
            None => Self {
                code: code.to_owned(),
                name: code.to_ascii_uppercase(),
                native_name: code.to_ascii_uppercase(),
                rtl: false,
            },
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Languages {
    /// Served around the clock.
    pub core: Vec<LanguageInfo>,
    /// Served best effort.
    pub extended: Vec<LanguageInfo>,
    /// The operators' language (needs no interpreter).
    pub operator: LanguageInfo,
}

/// The languages the hotline serves.
#[utoipa::path(get, path = "/api/languages", tag = "catalog",
    responses((status = 200, body = Languages)))]
pub async fn languages(State(state): State<AppState>) -> Json<Languages> {
    let l = &state.settings.languages;
    Json(Languages {
        core: l.core.iter().copied().map(LanguageInfo::of).collect(),
        extended: l.extended.iter().copied().map(LanguageInfo::of).collect(),
        operator: LanguageInfo::of(l.operator),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoverageQuery {
    /// Only this university's interpreters (needs its key as `Authorization: Bearer`).
    pub university: Option<String>,
    /// Any instant of the week to show, RFC 3339 (default: now).
    pub at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CoverageResponse {
    /// `all` (the whole pool) or `university`.
    #[schema(example = "all")]
    pub scope: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub university: Option<String>,
    #[serde(flatten)]
    pub report: CoverageReport,
}

/// Interpreters scheduled per language and hour of the week (168 counts, Monday 00:00 UTC
/// first), and the core-language gaps.
#[utoipa::path(get, path = "/api/coverage", tag = "catalog", params(CoverageQuery),
    security((), ("university_key" = [])),
    responses(
        (status = 200, body = CoverageResponse),
        (status = 401, description = "`university` given without that university's key"),
        (status = 403, description = "the key belongs to another university"),
        (status = 422, description = "`at` is not an RFC 3339 instant"),
        (status = 429, description = "too many requests from this address (without a university key); see Retry-After"),
    ))]
pub async fn coverage(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    query: Result<Query<CoverageQuery>, QueryRejection>,
) -> Result<Json<CoverageResponse>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let owner = match q.university.as_deref() {
        Some(uid) => Some(authorize(&state.settings, &headers, uid)?),
        // Anyone may ask: at most limits.public_per_minute times a minute per address.
        None => {
            state.limits.public.check(addr)?;
            None
        }
    };
    let at = match q.at.as_deref() {
        Some(s) => s.parse::<DateTime<Utc>>().map_err(|_| {
            ApiError::invalid(
                "at",
                "must be an RFC 3339 instant, e.g. 2026-07-01T00:00:00Z",
            )
        })?,
        None => Utc::now(),
    };
    let mut profiles = state.pool.profiles().await?;
    if let Some(uid) = &owner {
        profiles.retain(|p| &p.university == uid);
    }
    let l = &state.settings.languages;
    let report = Coverage::compute(
        &profiles,
        &l.core,
        &l.extended,
        state.settings.coverage.min_interpreters,
        at,
    )
    .report();
    Ok(Json(CoverageResponse {
        scope: if owner.is_some() { "university" } else { "all" },
        university: owner.map(|u| u.to_string()),
        report,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_languages_have_their_own_names_and_unknown_ones_their_code() {
        let pt = LanguageInfo::of(Language::parse("pt").expect("pt"));
        assert_eq!(pt.native_name, "Português");
        assert!(LanguageInfo::of(Language::parse("ar").expect("ar")).rtl);
        let xx = LanguageInfo::of(Language::parse("xx").expect("xx"));
        assert_eq!((xx.name.as_str(), xx.rtl), ("XX", false));
    }

    #[test]
    fn the_name_table_is_sorted_and_has_no_duplicates() {
        assert!(NAMES.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
