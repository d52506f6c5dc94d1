//! The administrator's recovery API: what is stuck, release an interpreter, end a call. An
//! administrator authenticates with their API key (`Authorization: Bearer`, SHA-256 in
//! `admins.<name>`), which works on every node, as recovery must when a node is gone; the name is
//! written into every audit event. Only authorizes and translates: the work is `crate::admin`'s.

use super::ApiError;
use crate::admin::{self, StuckReport};
use crate::api::error_doc::refusals;
use crate::api::state::AppState;
use crate::domain::EventKind;
use crate::domain::{CallId, InterpreterId};
use crate::drivers::clock::now_ms;
use crate::pool::{ForcedEnd, ForcedRelease, PoolEvent};
use axum::extract::{Path, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use std::collections::BTreeMap;
use utoipa::openapi::{RefOr, Response};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/admin/stuck", get(stuck))
        .route("/api/admin/interpreters/{iid}/release", post(release))
        .route("/api/admin/calls/{id}/end", post(end_call))
}

/// An administrator (from `Authorization: Bearer <key>`): 401 without a valid credential, 403
/// with one that is not an administrator's (an operator session, a university key).
pub struct Admin {
    pub name: String,
}

impl Admin {
    /// How audit events name this administrator.
    fn by(&self) -> String {
        format!("api:{}", self.name)
    }
}

impl axum::extract::FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let key = crate::auth::bearer(value).ok_or_else(ApiError::unauthorized)?;
        let mut name = None;
        // No early exit: every configured key is compared, whichever matches.
        for (n, a) in &state.settings.admins {
            if crate::auth::matches_sha256(key, &a.api_key_sha256) && name.is_none() {
                name = Some(n.clone());
            }
        }
        if let Some(name) = name {
            return Ok(Admin { name });
        }
        let operator = state.operators.check(key, now_ms()).is_some();
        let university = super::university::key_owner(&state.settings, &parts.headers).is_some();
        if operator || university {
            return Err(ApiError::forbidden(
                "this credential is not an administrator's",
            ));
        }
        Err(ApiError::unauthorized())
    }
}

/// The answers every admin route may give besides its own.
pub struct AdminRefusals;

impl utoipa::IntoResponses for AdminRefusals {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refusals(&[
            ("401", "no valid credential"),
            ("403", "not an administrator's credential"),
        ])
    }
}

/// Interpreters held by an offer or a call, with their node and whether its lease is alive.
#[utoipa::path(get, path = "/api/admin/stuck", tag = "admin",
    security(("admin_key" = [])),
    responses(
        (status = 200, body = StuckReport),
        AdminRefusals,
    ))]
pub async fn stuck(_: Admin, State(state): State<AppState>) -> Result<Json<StuckReport>, ApiError> {
    Ok(Json(admin::stuck(state.pool.as_ref(), now_ms()).await?))
}

/// Frees an interpreter whatever holds them (their offer ends, they are available at once); the
/// node holding their call, if alive, takes them out of it. Audited with the administrator.
#[utoipa::path(post, path = "/api/admin/interpreters/{iid}/release", tag = "admin",
    params(("iid" = String, Path, description = "Interpreter id")),
    security(("admin_key" = [])),
    responses(
        (status = 200, description = "released: `{outcome, was, offer, offer_was, call, node}`"),
        AdminRefusals,
        (status = 404, description = "no such interpreter"),
        (status = 409, description = "the interpreter is not offered or busy"),
    ))]
pub async fn release(
    who: Admin,
    State(state): State<AppState>,
    Path(iid): Path<String>,
) -> Result<Json<ForcedRelease>, ApiError> {
    let id = InterpreterId::parse(&iid)
        .map_err(|_| ApiError::not_found(format!("no interpreter {iid:.64}")))?;
    let now = now_ms();
    let r = state.pool.force_release(&id, now, &who.by()).await?;
    if let ForcedRelease::NotHeld { status } = &r {
        return Err(ApiError::conflict(format!(
            "{id} is {} (not offered or busy): nothing to release",
            crate::metrics::status_label(*status)
        )));
    }
    tracing::warn!(interpreter_id = %id, admin = %who.name, "interpreter released by an administrator");
    count(EventKind::AdminRelease, now, &r);
    if let ForcedRelease::Released {
        call: Some(call),
        node: Some(node),
        ..
    } = &r
    {
        state.dispatch.send_out_on(*node, call.clone()).await;
    }
    Ok(Json(r))
}

/// Ends a call: its record ends and every interpreter its offers hold is freed; the node holding
/// it, if alive, hangs it up. Audited with the administrator.
#[utoipa::path(post, path = "/api/admin/calls/{id}/end", tag = "admin",
    security(("admin_key" = [])), params(("id" = String, Path, description = "Call id")),
    responses(
        (status = 200, description = "ended: `{node, was_live, freed}`"),
        (status = 404, description = "no such call in the pool"),
        (status = 409, description = "the call had already ended"),
        AdminRefusals,
    ))]
pub async fn end_call(
    who: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ForcedEnd>, ApiError> {
    let call = CallId::parse(&id).map_err(|_| ApiError::not_found(format!("no call {id:.64}")))?;
    let now = now_ms();
    let e = state
        .pool
        .force_end_call(&call, now, &who.by())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no call {call}")))?;
    if !e.was_live && e.freed.is_empty() {
        return Err(ApiError::conflict(format!("call {call} had already ended")));
    }
    tracing::warn!(call_id = %call, admin = %who.name, freed = e.freed.len(),
        "call ended by an administrator");
    crate::metrics::event(&event(
        EventKind::AdminEndCall,
        now,
        Some(call.clone()),
        None,
    ));
    for (iid, offer, _) in &e.freed {
        let mut ev = event(
            EventKind::AdminRelease,
            now,
            Some(call.clone()),
            Some(iid.clone()),
        );
        ev.offer_id = Some(offer.clone());
        crate::metrics::event(&ev);
    }
    state.dispatch.end_call_on(e.node, call).await;
    Ok(Json(e))
}

fn event(
    kind: EventKind,
    at: crate::domain::Millis,
    call_id: Option<CallId>,
    interpreter: Option<InterpreterId>,
) -> PoolEvent {
    PoolEvent {
        kind,
        at,
        call_id,
        interpreter,
        language: None,
        offer_id: None,
        detail: String::new(),
    }
}

/// Counts a forced release in `/metrics` (the pool wrote the audit event).
fn count(kind: EventKind, at: crate::domain::Millis, r: &ForcedRelease) {
    if let ForcedRelease::Released { call, .. } = r {
        crate::metrics::event(&event(kind, at, call.clone(), None));
    }
}
