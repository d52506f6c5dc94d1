//! Who may touch what under `/api/universities/{uid}/…`: the key in `Authorization: Bearer`
//! must be university `uid`'s (401 without a valid key, 403 with another university's), and an
//! interpreter `iid` must belong to it (another university's is as absent as a missing one).
//! Extractors, so every route opens the same way and the checks run before the body is read.

use super::super::ApiError;
use crate::api::error_doc::refusals;
use crate::api::state::AppState;
use crate::auth;
use crate::config::Settings;
use crate::domain::{InterpreterId, InterpreterProfile, UniversityId};
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use std::collections::BTreeMap;
use utoipa::openapi::{RefOr, Response};

/// The university whose key is in the `Authorization: Bearer` header, checked against every
/// configured key in constant time each. `None` when there is no key or it matches none.
pub(crate) fn key_owner(settings: &Settings, headers: &HeaderMap) -> Option<UniversityId> {
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
pub(crate) fn authorize(
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

/// The path's parameters, or 404 naming what is wrong with them.
async fn path<T>(parts: &mut Parts, state: &AppState) -> Result<T, ApiError>
where
    Path<T>: FromRequestParts<AppState, Rejection = axum::extract::rejection::PathRejection>,
{
    Path::<T>::from_request_parts(parts, state)
        .await
        .map(|Path(p)| p)
        .map_err(|e| ApiError::not_found(e.body_text()))
}

/// `/api/universities/{uid}/…` asked with university `uid`'s own key.
pub struct MyUniversity(pub UniversityId);

impl FromRequestParts<AppState> for MyUniversity {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let uid: String = path(parts, state).await?;
        authorize(&state.settings, &parts.headers, &uid).map(MyUniversity)
    }
}

/// `/api/universities/{uid}/interpreters/{iid}` asked with university `uid`'s own key, and
/// `iid` one of its interpreters.
pub struct MyInterpreter {
    pub university: UniversityId,
    pub profile: InterpreterProfile,
}

impl FromRequestParts<AppState> for MyInterpreter {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (uid, iid): (String, String) = path(parts, state).await?;
        let university = authorize(&state.settings, &parts.headers, &uid)?;
        let missing = || ApiError::not_found(format!("{university} has no interpreter {iid:?}"));
        let id = InterpreterId::parse(&iid).map_err(|_| missing())?;
        match state.pool.profile(&id).await? {
            Some(profile) if profile.university == university => Ok(MyInterpreter {
                university,
                profile,
            }),
            _ => Err(missing()),
        }
    }
}

const NO_KEY: (&str, &str) = ("401", "no valid key");
const OTHER_UNIVERSITY: (&str, &str) = ("403", "the key belongs to another university");

/// The answers every route of one university may give besides its own.
pub struct UniversityRefusals;

impl utoipa::IntoResponses for UniversityRefusals {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refusals(&[NO_KEY, OTHER_UNIVERSITY])
    }
}

/// The answers every route of one university's interpreter may give besides its own.
pub struct InterpreterRefusals;

impl utoipa::IntoResponses for InterpreterRefusals {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refusals(&[
            NO_KEY,
            OTHER_UNIVERSITY,
            ("404", "no such interpreter at this university"),
        ])
    }
}
