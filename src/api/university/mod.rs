//! The partner-university API: a university, authenticated by its API key, lists, registers,
//! edits and removes its own interpreters and issues their personal tokens. It can never see or
//! touch another university's interpreters (they answer 404).

mod shapes;

use super::{ApiError, JsonBody};
use crate::api::state::AppState;
use crate::auth;
use crate::config::Settings;
use crate::domain::{InterpreterId, InterpreterProfile, UniversityId};
use crate::roster::check_id_prefix;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use shapes::{
    into_profile, university_info, view_of, InterpreterInput, InterpreterList, InterpreterView,
    IssuedToken, UniversityInfo,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/university", get(whoami))
        .route(
            "/api/universities/{uid}/interpreters",
            get(list).post(create),
        )
        .route(
            "/api/universities/{uid}/interpreters/{iid}",
            get(read).put(update).delete(remove),
        )
        .route(
            "/api/universities/{uid}/interpreters/{iid}/token",
            post(new_token),
        )
}

/// The university whose key is in the `Authorization: Bearer` header, checked against every
/// configured key in constant time each. `None` when there is no key or it matches none.
pub(super) fn key_owner(settings: &Settings, headers: &HeaderMap) -> Option<UniversityId> {
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

/// The interpreter `iid` if it belongs to `uid`; another university's is as absent as a missing one.
async fn owned(
    state: &AppState,
    uid: &UniversityId,
    iid: &str,
) -> Result<InterpreterProfile, ApiError> {
    let missing = || ApiError::not_found(format!("{uid} has no interpreter {iid:?}"));
    let id = InterpreterId::parse(iid).map_err(|_| missing())?;
    match state.pool.profile(&id).await? {
        Some(p) if &p.university == uid => Ok(p),
        _ => Err(missing()),
    }
}

/// A fresh personal token `<iid>.<secret>` and its hash.
fn issue_token(id: &InterpreterId) -> (String, String) {
    let token = format!("{id}.{}", auth::new_secret());
    let hash = auth::sha256_hex(&token);
    (token, hash)
}

type Ids = Result<Path<(String, String)>, PathRejection>;
type Uid = Result<Path<String>, PathRejection>;

fn ids(path: Ids) -> Result<(String, String), ApiError> {
    path.map(|Path(p)| p)
        .map_err(|e| ApiError::not_found(e.body_text()))
}

fn uid(path: Uid) -> Result<String, ApiError> {
    path.map(|Path(p)| p)
        .map_err(|e| ApiError::not_found(e.body_text()))
}

/// The university's own interpreters with their live status.
#[utoipa::path(get, path = "/api/universities/{uid}/interpreters", tag = "university",
    params(("uid" = String, Path, description = "University id")),
    security(("university_key" = [])),
    responses(
        (status = 200, body = InterpreterList),
        (status = 401, description = "no valid key"),
        (status = 403, description = "the key belongs to another university"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Uid,
) -> Result<Json<InterpreterList>, ApiError> {
    let uid = authorize(&state.settings, &headers, &uid(path)?)?;
    let mut interpreters = Vec::new();
    for p in state
        .pool
        .profiles()
        .await?
        .iter()
        .filter(|p| p.university == uid)
    {
        interpreters.push(view_of(&state, p).await?);
    }
    Ok(Json(InterpreterList {
        university: university_info(&state, &uid),
        interpreters,
    }))
}

/// Registers an interpreter and issues their personal token, shown in this answer only.
#[utoipa::path(post, path = "/api/universities/{uid}/interpreters", tag = "university",
    params(("uid" = String, Path, description = "University id")),
    request_body = InterpreterInput,
    security(("university_key" = [])),
    responses(
        (status = 201, body = IssuedToken, description = "registered; the token is shown once"),
        (status = 400, description = "malformed JSON"),
        (status = 401, description = "no valid key"),
        (status = 403, description = "the key belongs to another university"),
        (status = 409, description = "the id is taken"),
        (status = 413, description = "body too large"),
        (status = 422, description = "invalid field, named in `error.field`"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Uid,
    JsonBody(input): JsonBody<InterpreterInput>,
) -> Result<Response, ApiError> {
    let uid = authorize(&state.settings, &headers, &uid(path)?)?;
    let id = match input.id.as_deref().map(str::trim) {
        Some(given) => {
            let id =
                InterpreterId::parse(given).map_err(|e| ApiError::invalid("id", e.to_string()))?;
            check_id_prefix(&id, &uid).map_err(|m| ApiError::invalid("id", format!("id: {m}")))?;
            id
        }
        None => {
            InterpreterId::parse(&format!("{uid}-{:08x}", rand::random::<u32>())).map_err(|_| {
                ApiError::invalid("id", "id: the university id is too long; choose an id")
            })?
        }
    };
    let mut profile = into_profile(&state, input, id, uid.clone())?;
    if state.pool.profile(&profile.id).await?.is_some() {
        return Err(ApiError::conflict(format!(
            "interpreter {} already exists; edit it with PUT",
            profile.id
        ))
        .with_field("id"));
    }
    let (token, hash) = issue_token(&profile.id);
    profile.token_sha256 = Some(hash);
    state.pool.upsert(&profile).await?;
    tracing::info!(university = %uid, interpreter_id = %profile.id, "interpreter registered");
    let location = format!("/api/universities/{uid}/interpreters/{}", profile.id);
    let body = IssuedToken {
        interpreter: view_of(&state, &profile).await?,
        token,
    };
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response())
}

/// One of the university's interpreters.
#[utoipa::path(get, path = "/api/universities/{uid}/interpreters/{iid}", tag = "university",
    params(("uid" = String, Path, description = "University id"), ("iid" = String, Path, description = "Interpreter id")),
    security(("university_key" = [])),
    responses(
        (status = 200, body = InterpreterView),
        (status = 401, description = "no valid key"),
        (status = 403, description = "the key belongs to another university"),
        (status = 404, description = "no such interpreter at this university"),
    ))]
pub async fn read(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Ids,
) -> Result<Json<InterpreterView>, ApiError> {
    let (uid, iid) = ids(path)?;
    let uid = authorize(&state.settings, &headers, &uid)?;
    let p = owned(&state, &uid, &iid).await?;
    Ok(Json(view_of(&state, &p).await?))
}

/// Replaces an interpreter's name, languages, time zone and shifts (the token is kept).
#[utoipa::path(put, path = "/api/universities/{uid}/interpreters/{iid}", tag = "university",
    params(("uid" = String, Path, description = "University id"), ("iid" = String, Path, description = "Interpreter id")),
    request_body = InterpreterInput,
    security(("university_key" = [])),
    responses(
        (status = 200, body = InterpreterView),
        (status = 400, description = "malformed JSON"),
        (status = 401, description = "no valid key"),
        (status = 403, description = "the key belongs to another university"),
        (status = 404, description = "no such interpreter at this university"),
        (status = 413, description = "body too large"),
        (status = 422, description = "invalid field, named in `error.field`"),
    ))]
pub async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Ids,
    JsonBody(input): JsonBody<InterpreterInput>,
) -> Result<Json<InterpreterView>, ApiError> {
    let (uid, iid) = ids(path)?;
    let uid = authorize(&state.settings, &headers, &uid)?;
    let old = owned(&state, &uid, &iid).await?;
    if input
        .id
        .as_deref()
        .is_some_and(|given| given.trim() != old.id.as_str())
    {
        return Err(ApiError::invalid(
            "id",
            "id: an interpreter's id cannot change",
        ));
    }
    let mut profile = into_profile(&state, input, old.id.clone(), uid.clone())?;
    profile.token_sha256 = old.token_sha256;
    state.pool.upsert(&profile).await?;
    tracing::info!(university = %uid, interpreter_id = %profile.id, "interpreter updated");
    Ok(Json(view_of(&state, &profile).await?))
}

/// Removes an interpreter; refused while they have a live offer or call.
#[utoipa::path(delete, path = "/api/universities/{uid}/interpreters/{iid}", tag = "university",
    params(("uid" = String, Path, description = "University id"), ("iid" = String, Path, description = "Interpreter id")),
    security(("university_key" = [])),
    responses(
        (status = 204, description = "removed"),
        (status = 401, description = "no valid key"),
        (status = 403, description = "the key belongs to another university"),
        (status = 404, description = "no such interpreter at this university"),
        (status = 409, description = "the interpreter is on a call or has a live offer"),
    ))]
pub async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Ids,
) -> Result<StatusCode, ApiError> {
    let (uid, iid) = ids(path)?;
    let uid = authorize(&state.settings, &headers, &uid)?;
    let p = owned(&state, &uid, &iid).await?;
    state.pool.remove(&p.id).await?;
    tracing::info!(university = %uid, interpreter_id = %p.id, "interpreter removed");
    Ok(StatusCode::NO_CONTENT)
}

/// Issues a new personal token (the old one stops working), shown in this answer only.
#[utoipa::path(post, path = "/api/universities/{uid}/interpreters/{iid}/token", tag = "university",
    params(("uid" = String, Path, description = "University id"), ("iid" = String, Path, description = "Interpreter id")),
    security(("university_key" = [])),
    responses(
        (status = 200, body = IssuedToken),
        (status = 401, description = "no valid key"),
        (status = 403, description = "the key belongs to another university"),
        (status = 404, description = "no such interpreter at this university"),
    ))]
pub async fn new_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Ids,
) -> Result<Json<IssuedToken>, ApiError> {
    let (uid, iid) = ids(path)?;
    let uid = authorize(&state.settings, &headers, &uid)?;
    let mut p = owned(&state, &uid, &iid).await?;
    let (token, hash) = issue_token(&p.id);
    p.token_sha256 = Some(hash);
    state.pool.upsert(&p).await?;
    tracing::info!(university = %uid, interpreter_id = %p.id, "interpreter token issued");
    Ok(Json(IssuedToken {
        interpreter: view_of(&state, &p).await?,
        token,
    }))
}
