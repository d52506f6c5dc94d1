//! The partner-university API: a university, authenticated by its API key, lists, registers,
//! edits and removes its own interpreters and issues their personal tokens. It can never see or
//! touch another university's interpreters (they answer 404).

use super::ApiError;
use crate::app::AppState;
use crate::auth;
use crate::config::Settings;
use crate::domain::UniversityId;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/university", get(whoami))
}

/// The university whose key is in the `Authorization: Bearer` header, checked against every
/// configured key in constant time each. `None` when there is no key or it matches none.
fn key_owner(settings: &Settings, headers: &HeaderMap) -> Option<UniversityId> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let key = auth::bearer(value)?;
    let mut owner = None;
    // No early exit: every configured key is compared, whichever matches.
    for (id, u) in &settings.universities {
        if auth::matches_sha256(key, &u.api_key_sha256) && owner.is_none() {
            owner = Some(id.as_str());
        }
    }
    owner.and_then(|id| UniversityId::parse(id).ok())
}

/// 401 without a valid key, 403 when the key is another university's, else the university.
pub(super) fn authorize(
    settings: &Settings,
    headers: &HeaderMap,
    uid: &str,
) -> Result<UniversityId, ApiError> {
    match key_owner(settings, headers) {
        None => Err(ApiError::unauthorized()),
        Some(owner) if owner.as_str() == uid => Ok(owner),
        Some(_) => Err(ApiError::forbidden(
            "this key belongs to another university",
        )),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UniversityInfo {
    #[schema(example = "bfsu")]
    pub id: String,
    /// The name from the seed roster, or the id when the roster does not name it.
    pub name: String,
}

/// Which university a key belongs to (the page's sign-in).
#[utoipa::path(get, path = "/api/university", tag = "university",
    security(("university_key" = [])),
    responses((status = 200, body = UniversityInfo), (status = 401, description = "no valid key")))]
pub async fn whoami(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<UniversityInfo>, ApiError> {
    let id = key_owner(&state.settings, &headers).ok_or_else(ApiError::unauthorized)?;
    Ok(Json(university_info(&state, &id)))
}

fn university_info(state: &AppState, id: &UniversityId) -> UniversityInfo {
    UniversityInfo {
        id: id.to_string(),
        name: state
            .university_names
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string()),
    }
}
