//! The cases API, for operators only (session token): list cases, read and edit one (notes,
//! category, department, status), add follow-up entries, read a call's case or open it by hand
//! when it did not open itself. The rules are the domain's (`domain::case`), checked by the
//! store against the case as stored; this file authorizes, validates sizes and translates.

use super::operator::Operator;
use super::record;
use super::{ApiError, JsonBody};
use crate::api::state::AppState;
use crate::domain::case::{FOLLOW_UP_MAX_CHARS, LABEL_MAX_CHARS, NOTES_MAX_CHARS};
use crate::domain::{
    check_display_text, CallId, Case, CaseEdit, CaseFile, CaseNumber, CaseRuleError, CaseStatus,
    FollowUp, Millis,
};
use crate::drivers::cases::CaseDesk;
use crate::drivers::clock::now_ms;
use crate::store::{CaseEdited, CaseQuery, StoreError};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// Cases one list gives when the request names no limit.
const LIST_DEFAULT: u32 = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/cases", get(list))
        .route("/api/cases/{number}", get(read).patch(edit))
        .route("/api/cases/{number}/follow_ups", post(follow_up))
        .route("/api/calls/{id}/case", get(of_call).post(open))
}

/// The node's case desk: the record's store and the hotline's time zone.
pub(crate) fn desk(state: &AppState) -> Option<CaseDesk> {
    let records = state.records.as_ref()?;
    Some(CaseDesk::new(
        records,
        state.settings.records.case_time_zone.0,
    ))
}

/// The case desk, ready to serve `what`: 404 without a record, 503 while its tables are not
/// made yet.
pub(super) fn ready_desk(state: &AppState, what: &str) -> Result<CaseDesk, ApiError> {
    let records = record::ready(state, what)?;
    Ok(CaseDesk::new(
        records,
        state.settings.records.case_time_zone.0,
    ))
}

fn desk_or_404(state: &AppState) -> Result<CaseDesk, ApiError> {
    ready_desk(state, "cases")
}

fn store_error(e: StoreError) -> ApiError {
    record::failed("the cases")(e)
}

fn number(raw: &str) -> Result<CaseNumber, ApiError> {
    CaseNumber::parse(raw).map_err(|_| ApiError::not_found(format!("no case {raw:.40}")))
}

fn call_id(raw: &str) -> Result<CallId, ApiError> {
    CallId::parse(raw).map_err(|_| ApiError::not_found(format!("no call {raw:.64}")))
}

fn no_case(n: &CaseNumber) -> ApiError {
    ApiError::not_found(format!("no case {n}"))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// open, passed_on or resolved.
    status: Option<String>,
    /// Opened at or after (Unix ms).
    since: Option<Millis>,
    /// At most this many (default 100, at most 500).
    limit: Option<u32>,
}

/// Operator: cases, the most recently changed first.
#[utoipa::path(get, path = "/api/cases", tag = "cases", params(ListQuery),
    security(("operator_session" = [])),
    responses(
        (status = 200, description = "`[{number, call_id, language, operator, notes, category, department, status, created_at, updated_at, updated_by}]`"),
        (status = 400, description = "a malformed query"),
        (status = 401, description = "not logged in as an operator"),
        (status = 404, description = "no record kept (no_record)"),
        (status = 422, description = "unknown status"),
        (status = 503, description = "the record's database is unreachable"),
    ))]
pub async fn list(
    _operator: Operator,
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Vec<Case>>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let status =
        match q.status.as_deref() {
            Some(s) => Some(CaseStatus::parse(s).ok_or_else(|| {
                ApiError::invalid("status", "status is open, passed_on or resolved")
            })?),
            None => None,
        };
    let desk = desk_or_404(&state)?;
    let cases = desk
        .store()
        .cases(&CaseQuery {
            status,
            since: q.since,
            limit: q.limit.unwrap_or(LIST_DEFAULT),
        })
        .await
        .map_err(store_error)?;
    Ok(Json(cases))
}

const CASE_FILE: &str = "`{number, call_id, language, operator, notes, category, department, \
    status, created_at, updated_at, updated_by, follow_ups: [{author, text, at}], calls: \
    [{call_id, linked_at, opened}], interpreters: [interpreter id, most recent first]}`";

/// Operator: one case with its follow-ups, its calls and who interpreted them.
#[utoipa::path(get, path = "/api/cases/{number}", tag = "cases",
    params(("number" = String, Path, description = "Case number, e.g. 261204-0017")),
    security(("operator_session" = [])),
    responses(
        (status = 200, description = CASE_FILE),
        (status = 401, description = "not logged in as an operator"),
        (status = 404, description = "no such case, or no record kept (no_record)"),
        (status = 503, description = "the record's database is unreachable"),
    ))]
pub async fn read(
    _operator: Operator,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<CaseFile>, ApiError> {
    let n = number(&raw)?;
    let desk = desk_or_404(&state)?;
    let file = desk.store().case(&n).await.map_err(store_error)?;
    file.map(Json).ok_or_else(|| no_case(&n))
}

/// What an operator changes in a case; each field given replaces the stored one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseChange {
    /// The operator's notes (Chinese); line breaks allowed.
    notes: Option<String>,
    category: Option<String>,
    /// The department the case is passed to (needed to pass it on).
    department: Option<String>,
    /// open, passed_on or resolved; only forward.
    #[schema(value_type = Option<String>, example = "passed_on")]
    status: Option<CaseStatus>,
}

/// Notes and follow-ups: any script and line breaks, no other control or bidi characters.
fn check_text(field: &'static str, text: &str, max: usize) -> Result<(), ApiError> {
    if text.chars().count() > max {
        return Err(ApiError::invalid(
            field,
            format!("at most {max} characters"),
        ));
    }
    for line in text.split(['\n', '\r', '\t']) {
        check_display_text(line).map_err(|e| ApiError::invalid(field, e.to_string()))?;
    }
    Ok(())
}

fn check_label(field: &'static str, text: &str) -> Result<(), ApiError> {
    if text.chars().count() > LABEL_MAX_CHARS {
        return Err(ApiError::invalid(
            field,
            format!("at most {LABEL_MAX_CHARS} characters"),
        ));
    }
    check_display_text(text).map_err(|e| ApiError::invalid(field, e.to_string()))
}

impl CaseChange {
    fn into_edit(self) -> Result<CaseEdit, ApiError> {
        if let Some(n) = &self.notes {
            check_text("notes", n, NOTES_MAX_CHARS)?;
        }
        if let Some(c) = &self.category {
            check_label("category", c)?;
        }
        if let Some(d) = &self.department {
            check_label("department", d)?;
        }
        let edit = CaseEdit {
            notes: self.notes,
            category: self.category,
            department: self.department,
            status: self.status,
        };
        if edit == CaseEdit::default() {
            return Err(ApiError::bad_request(
                "nothing to change: give notes, category, department or status",
            ));
        }
        Ok(edit)
    }
}

/// Operator: changes a case's notes, category, department or status (during the call or after).
#[utoipa::path(patch, path = "/api/cases/{number}", tag = "cases",
    params(("number" = String, Path, description = "Case number")),
    request_body = CaseChange,
    security(("operator_session" = [])),
    responses(
        (status = 200, description = CASE_FILE),
        (status = 400, description = "malformed JSON, or nothing to change"),
        (status = 401, description = "not logged in as an operator"),
        (status = 404, description = "no such case, or no record kept (no_record)"),
        (status = 409, description = "the status cannot go back (`invalid_transition`: open → passed_on → resolved)"),
        (status = 422, description = "a field too long or with control characters, an unknown status, or passed on without a department (`field`: department)"),
        (status = 503, description = "the record's database is unreachable"),
    ))]
pub async fn edit(
    operator: Operator,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    JsonBody(change): JsonBody<CaseChange>,
) -> Result<Json<CaseFile>, ApiError> {
    let n = number(&raw)?;
    let edit = change.into_edit()?;
    let desk = desk_or_404(&state)?;
    let edited = desk
        .store()
        .edit_case(&n, &edit, &operator.name, now_ms())
        .await
        .map_err(store_error)?;
    match edited {
        CaseEdited::Edited(file) => {
            tracing::info!(case = %n, operator = %operator.name, status = %file.case.status, "case edited");
            // The interpreter of a call still going on sees the category.
            let category = (!file.case.category.is_empty()).then(|| file.case.category.clone());
            for c in &file.calls {
                if let Some(call) = state.calls.get(&c.call_id) {
                    call.set_case_category(category.clone()).await;
                }
            }
            Ok(Json(*file))
        }
        CaseEdited::NotFound => Err(no_case(&n)),
        CaseEdited::Refused(e @ CaseRuleError::Transition { .. }) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "invalid_transition",
            e.to_string(),
        )),
        CaseEdited::Refused(e @ CaseRuleError::NoDepartment) => {
            Err(ApiError::invalid("department", e.to_string()))
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpInput {
    /// What was done or told; line breaks allowed.
    text: String,
}

/// Operator: adds a follow-up entry to a case (signed with the operator's name).
#[utoipa::path(post, path = "/api/cases/{number}/follow_ups", tag = "cases",
    params(("number" = String, Path, description = "Case number")),
    request_body = FollowUpInput,
    security(("operator_session" = [])),
    responses(
        (status = 201, description = CASE_FILE),
        (status = 401, description = "not logged in as an operator"),
        (status = 404, description = "no such case, or no record kept (no_record)"),
        (status = 422, description = "empty, too long, or with control characters"),
        (status = 503, description = "the record's database is unreachable"),
    ))]
pub async fn follow_up(
    operator: Operator,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    JsonBody(input): JsonBody<FollowUpInput>,
) -> Result<(StatusCode, Json<CaseFile>), ApiError> {
    let n = number(&raw)?;
    let text = input.text.trim();
    if text.is_empty() {
        return Err(ApiError::invalid("text", "a follow-up says something"));
    }
    check_text("text", text, FOLLOW_UP_MAX_CHARS)?;
    let desk = desk_or_404(&state)?;
    let entry = FollowUp {
        author: operator.name.clone(),
        text: text.to_owned(),
        at: now_ms(),
    };
    let file = desk
        .store()
        .add_follow_up(&n, &entry)
        .await
        .map_err(store_error)?
        .ok_or_else(|| no_case(&n))?;
    tracing::info!(case = %n, operator = %operator.name, "follow-up added");
    Ok((StatusCode::CREATED, Json(file)))
}

/// Operator: the case a call opened or was linked to (a returning caller's).
#[utoipa::path(get, path = "/api/calls/{id}/case", tag = "cases",
    params(("id" = String, Path, description = "Call id")),
    security(("operator_session" = [])),
    responses(
        (status = 200, description = CASE_FILE),
        (status = 401, description = "not logged in as an operator"),
        (status = 404, description = "the call has no case (yet), or no record kept (no_record)"),
        (status = 503, description = "the record's database is unreachable"),
    ))]
pub async fn of_call(
    _operator: Operator,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CaseFile>, ApiError> {
    let id = call_id(&id)?;
    let desk = desk_or_404(&state)?;
    let file = desk.store().case_of_call(&id).await.map_err(store_error)?;
    file.map(Json)
        .ok_or_else(|| ApiError::not_found(format!("call {id} has no case")))
}

/// Operator: opens the case of a live call now (it opens by itself when the call is answered;
/// this is for when the database was away then). Idempotent: the call's case if it has one.
#[utoipa::path(post, path = "/api/calls/{id}/case", tag = "cases",
    params(("id" = String, Path, description = "Call id")),
    security(("operator_session" = [])),
    responses(
        (status = 200, description = CASE_FILE),
        (status = 401, description = "not logged in as an operator"),
        (status = 404, description = "no such live call on this node, or no record kept (no_record)"),
        (status = 503, description = "the record's database is unreachable"),
    ))]
pub async fn open(
    operator: Operator,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CaseFile>, ApiError> {
    let id = call_id(&id)?;
    let call = state
        .calls
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("no live call {id}")))?;
    let desk = desk_or_404(&state)?;
    let file = desk
        .open(&call, &operator.name)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found(format!("call {id} is over")))?;
    call.set_case(file.case.number.clone()).await;
    Ok(Json(file))
}
