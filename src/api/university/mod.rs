//! The partner-university API: a university, authenticated by its API key, lists, registers,
//! edits and removes its own interpreters and issues their personal tokens. It can never see or
//! touch another university's interpreters (they answer 404).

mod access;
mod shapes;

pub(crate) use access::{authorize, key_owner, MyUniversity};
use access::{InterpreterRefusals, MyInterpreter, UniversityRefusals};

use super::{ApiError, JsonBody};
use crate::api::state::AppState;
use crate::auth;
use crate::domain::InterpreterId;
use crate::roster::check_id_prefix;
use axum::extract::State;
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

/// A fresh personal token `<iid>.<secret>` and its hash.
fn issue_token(id: &InterpreterId) -> (String, String) {
    let token = format!("{id}.{}", auth::new_secret());
    let hash = auth::sha256_hex(&token);
    (token, hash)
}

/// The university's own interpreters with their live status.
#[utoipa::path(get, path = "/api/universities/{uid}/interpreters", tag = "university",
    params(("uid" = String, Path, description = "University id")),
    security(("university_key" = [])),
    responses(
        (status = 200, body = InterpreterList),
        UniversityRefusals,
    ))]
pub async fn list(
    State(state): State<AppState>,
    MyUniversity(uid): MyUniversity,
) -> Result<Json<InterpreterList>, ApiError> {
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
        UniversityRefusals,
        (status = 409, description = "the id is taken"),
        (status = 413, description = "body too large"),
        (status = 422, description = "invalid field, named in `error.field`"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    MyUniversity(uid): MyUniversity,
    JsonBody(input): JsonBody<InterpreterInput>,
) -> Result<Response, ApiError> {
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
        InterpreterRefusals,
    ))]
pub async fn read(
    State(state): State<AppState>,
    it: MyInterpreter,
) -> Result<Json<InterpreterView>, ApiError> {
    Ok(Json(view_of(&state, &it.profile).await?))
}

/// Replaces an interpreter's name, languages, time zone and shifts (the token is kept).
#[utoipa::path(put, path = "/api/universities/{uid}/interpreters/{iid}", tag = "university",
    params(("uid" = String, Path, description = "University id"), ("iid" = String, Path, description = "Interpreter id")),
    request_body = InterpreterInput,
    security(("university_key" = [])),
    responses(
        (status = 200, body = InterpreterView),
        (status = 400, description = "malformed JSON"),
        InterpreterRefusals,
        (status = 413, description = "body too large"),
        (status = 422, description = "invalid field, named in `error.field`"),
    ))]
pub async fn update(
    State(state): State<AppState>,
    MyInterpreter {
        university: uid,
        profile: old,
    }: MyInterpreter,
    JsonBody(input): JsonBody<InterpreterInput>,
) -> Result<Json<InterpreterView>, ApiError> {
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
        InterpreterRefusals,
        (status = 409, description = "the interpreter is on a call or has a live offer"),
    ))]
pub async fn remove(
    State(state): State<AppState>,
    MyInterpreter {
        university: uid,
        profile: p,
    }: MyInterpreter,
) -> Result<StatusCode, ApiError> {
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
        InterpreterRefusals,
    ))]
pub async fn new_token(
    State(state): State<AppState>,
    MyInterpreter {
        university: uid,
        profile: mut p,
    }: MyInterpreter,
) -> Result<Json<IssuedToken>, ApiError> {
    let (token, hash) = issue_token(&p.id);
    p.token_sha256 = Some(hash);
    state.pool.upsert(&p).await?;
    tracing::info!(university = %uid, interpreter_id = %p.id, "interpreter token issued");
    Ok(Json(IssuedToken {
        interpreter: view_of(&state, &p).await?,
        token,
    }))
}
