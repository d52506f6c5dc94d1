//! Reports over HTTP, for supervisors: `GET /api/reports/{waiting,satisfaction,minutes,demand}`
//! over local dates `from`..=`to` on the hotline's clock (`dashboard.time_zone`), as JSON, or as
//! CSV with a header row (`?format=csv` or `Accept: text/csv`) to download. A university reads
//! its own interpreters' minutes statement at `GET /api/universities/{uid}/minutes` with its key.
//! The figures are defined in domain/report.rs; this edge parses, asks the store and shapes.

mod shapes;

use super::csv::Table;
use super::record;
use super::supervisor::Supervisor;
use super::university::MyUniversity;
use super::ApiError;
use crate::api::state::AppState;
use crate::coverage::Coverage;
use crate::domain::report::{
    hour_label, shortfalls, Grouping, LocalClock, ReportScope, HOUR_MS, WEEK_HOURS,
};
use crate::domain::{Language, Millis};
use crate::drivers::clock::now_ms;
use crate::store::RecordStore;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{NaiveDate, TimeZone};
use serde::{Deserialize, Serialize};
use shapes::{DemandView, MinutesView, SatisfactionView, WaitingView};
use std::sync::Arc;
use utoipa::IntoParams;

/// The longest range one report covers, in days (a year and a little).
pub const MAX_DAYS: i64 = 400;
/// Hours of the demand report named as the ones more interpreters would help most.
pub const SHORTFALLS_NAMED: usize = 10;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/reports/waiting", get(waiting))
        .route("/api/reports/satisfaction", get(satisfaction))
        .route("/api/reports/minutes", get(minutes))
        .route("/api/reports/demand", get(demand))
        .route("/api/universities/{uid}/minutes", get(university_minutes))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// First day, `YYYY-MM-DD` on the hotline's clock.
    from: Option<String>,
    /// Last day (included), `YYYY-MM-DD`.
    to: Option<String>,
    /// The waiting report's grouping: language, university, interpreter, hour_of_week, month.
    by: Option<String>,
    /// `json` (the default) or `csv`.
    format: Option<String>,
}

/// A parsed report request: the range as Unix ms and as given, and the answer's format.
struct Asked {
    from: Millis,
    to: Millis,
    first_day: NaiveDate,
    last_day: NaiveDate,
    csv: bool,
}

fn asked(
    state: &AppState,
    query: Result<Query<ReportQuery>, QueryRejection>,
    headers: &HeaderMap,
) -> Result<(Asked, ReportQuery), ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let day = |field: &'static str, v: &Option<String>| -> Result<NaiveDate, ApiError> {
        let v = v.as_deref().ok_or_else(|| {
            ApiError::bad_request(format!("{field} is required: a date, YYYY-MM-DD"))
                .with_field(field)
        })?;
        NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
            ApiError::bad_request(format!("{field} must be a date, YYYY-MM-DD (got {v:.20})"))
                .with_field(field)
        })
    };
    let first_day = day("from", &q.from)?;
    let last_day = day("to", &q.to)?;
    let days = (last_day - first_day).num_days() + 1;
    if days < 1 {
        return Err(ApiError::bad_request("to is before from").with_field("to"));
    }
    if days > MAX_DAYS {
        return Err(ApiError::bad_request(format!(
            "a report covers at most {MAX_DAYS} days (asked {days})"
        ))
        .with_field("to"));
    }
    let tz = state.settings.dashboard.tz();
    let midnight = |d: NaiveDate| -> Result<Millis, ApiError> {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| tz.from_local_datetime(&t).earliest())
            .and_then(|t| Millis::try_from(t.timestamp_millis()).ok())
            .ok_or_else(|| ApiError::bad_request(format!("{d} is out of range")))
    };
    let from = midnight(first_day)?;
    let to = midnight(last_day + chrono::Duration::days(1))?;
    let csv = match q.format.as_deref() {
        Some("csv") => true,
        Some("json") => false,
        Some(other) => {
            return Err(
                ApiError::bad_request(format!("format is json or csv (got {other:.20})"))
                    .with_field("format"),
            )
        }
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/csv")),
    };
    Ok((
        Asked {
            from,
            to,
            first_day,
            last_day,
            csv,
        },
        q,
    ))
}

/// A report request ready to run: what was asked, the record's store and the report's scope.
struct Report {
    a: Asked,
    q: ReportQuery,
    store: Arc<dyn RecordStore>,
    scope: ReportScope,
}

/// Parses the request, then finds the record's store ready and the scope (400, 404, 503 in
/// that order).
async fn begin(
    state: &AppState,
    query: Result<Query<ReportQuery>, QueryRejection>,
    headers: &HeaderMap,
) -> Result<Report, ApiError> {
    let (a, q) = asked(state, query, headers)?;
    let store = record::ready(state, "reports")?.store().clone();
    let scope = scope(state, &a).await?;
    Ok(Report { a, q, store, scope })
}

/// The scope of `a`: its range, the hotline's clock over it, and the roster's universities.
async fn scope(state: &AppState, a: &Asked) -> Result<ReportScope, ApiError> {
    let universities = state
        .pool
        .profiles()
        .await?
        .into_iter()
        .map(|p| (p.id, p.university))
        .collect();
    Ok(ReportScope {
        from: a.from,
        to: a.to,
        clock: LocalClock::new(&state.settings.dashboard.tz(), a.from, a.to),
        universities,
    })
}

/// JSON, or CSV (`table` of it) to download as `<name>-<from>-<to>.csv`.
fn answer<T: Serialize>(
    a: &Asked,
    name: &str,
    json: T,
    table: impl FnOnce(&T) -> Table,
) -> Response {
    if !a.csv {
        return Json(json).into_response();
    }
    let table = table(&json);
    let file = format!("{name}-{}-{}.csv", a.first_day, a.last_day);
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        table.to_csv(),
    )
        .into_response()
}

/// Time to interpreter, service level at 20 s and 30 s, and abandonment, per `by`.
#[utoipa::path(get, path = "/api/reports/waiting", tag = "reports", params(ReportQuery),
    security(("supervisor_session" = [])),
    responses(
        (status = 200, description = "`{from, to, time_zone, by, rows: [{key, label, calls, …}]}` or CSV (README, Reports)"),
        (status = 400, description = "a missing or malformed date, range, grouping or format"),
        (status = 401, description = "not logged in as a supervisor"),
        (status = 403, description = "an operator's session"),
    ))]
pub async fn waiting(
    sup: Supervisor,
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let r = begin(&state, query, &headers).await?;
    let by = match r.q.by.as_deref() {
        None => Grouping::Language,
        Some(b) => Grouping::parse(b).ok_or_else(|| {
            ApiError::bad_request(format!(
                "by is one of language, university, interpreter, hour_of_week, month (got {b:.20})"
            ))
            .with_field("by")
        })?,
    };
    let rows = r
        .store
        .waiting(&r.scope, by)
        .await
        .map_err(record::failed("the record"))?;
    tracing::info!(supervisor = %sup.name, report = "waiting", by = by.as_str(), "report");
    let view = WaitingView::new(&state, &r.a, by, rows);
    let name = format!("waiting-{}", by.as_str());
    Ok(answer(&r.a, &name, view, WaitingView::table))
}

/// Ratings per language: how many of each number of stars.
#[utoipa::path(get, path = "/api/reports/satisfaction", tag = "reports", params(ReportQuery),
    security(("supervisor_session" = [])),
    responses(
        (status = 200, description = "`{from, to, time_zone, rows: [{language, stars_1 … stars_5, ratings, mean_stars, satisfied}]}` or CSV"),
        (status = 400, description = "a missing or malformed date, range or format"),
        (status = 401, description = "not logged in as a supervisor"),
        (status = 403, description = "an operator's session"),
    ))]
pub async fn satisfaction(
    sup: Supervisor,
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let r = begin(&state, query, &headers).await?;
    let rows = r
        .store
        .stars(&r.scope)
        .await
        .map_err(record::failed("the record"))?;
    tracing::info!(supervisor = %sup.name, report = "satisfaction", "report");
    let view = SatisfactionView::new(&state, &r.a, rows);
    Ok(answer(&r.a, "satisfaction", view, SatisfactionView::table))
}

/// Interpreter minutes per interpreter and per university, per month.
#[utoipa::path(get, path = "/api/reports/minutes", tag = "reports", params(ReportQuery),
    security(("supervisor_session" = [])),
    responses(
        (status = 200, description = "`{from, to, time_zone, interpreters: [{month, university, interpreter, calls, minutes}], universities: [{month, university, calls, minutes}]}`; CSV: the interpreters' rows"),
        (status = 400, description = "a missing or malformed date, range or format"),
        (status = 401, description = "not logged in as a supervisor"),
        (status = 403, description = "an operator's session"),
    ))]
pub async fn minutes(
    sup: Supervisor,
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let r = begin(&state, query, &headers).await?;
    let rows = r.store.interpreter_minutes(&r.scope).await;
    tracing::info!(supervisor = %sup.name, report = "minutes", "report");
    let view = MinutesView::new(
        &state,
        &r.a,
        rows.map_err(record::failed("the record"))?,
        None,
    );
    Ok(answer(
        &r.a,
        "interpreter-minutes",
        view,
        MinutesView::table,
    ))
}

/// A university's own statement: its interpreters' minutes per month (its key only).
#[utoipa::path(get, path = "/api/universities/{uid}/minutes", tag = "university",
    params(("uid" = String, Path, description = "University id"), ReportQuery),
    security(("university_key" = [])),
    responses(
        (status = 200, description = "as `GET /api/reports/minutes`, this university's rows only"),
        (status = 400, description = "a missing or malformed date, range or format"),
        (status = 401, description = "no valid key"),
        (status = 403, description = "another university's key"),
    ))]
pub async fn university_minutes(
    State(state): State<AppState>,
    MyUniversity(uid): MyUniversity,
    headers: HeaderMap,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let r = begin(&state, query, &headers).await?;
    let rows = r.store.interpreter_minutes(&r.scope).await;
    tracing::info!(university = %uid, report = "minutes", "report");
    let view = MinutesView::new(
        &state,
        &r.a,
        rows.map_err(record::failed("the record"))?,
        Some(uid.as_str()),
    );
    let name = format!("interpreter-minutes-{uid}");
    Ok(answer(&r.a, &name, view, MinutesView::table))
}

/// Calls per language and hour of the week beside the interpreters on shift then, and the hours
/// where one more interpreter would have cut waiting the most.
#[utoipa::path(get, path = "/api/reports/demand", tag = "reports", params(ReportQuery),
    security(("supervisor_session" = [])),
    responses(
        (status = 200, description = "`{from, to, time_zone, rows: [{language, hour_of_week, label, calls, asked_for_interpreter, waited_s, on_shift}], shortfalls: […]}`; CSV: the rows"),
        (status = 400, description = "a missing or malformed date, range or format"),
        (status = 401, description = "not logged in as a supervisor"),
        (status = 403, description = "an operator's session"),
    ))]
pub async fn demand(
    sup: Supervisor,
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let r = begin(&state, query, &headers).await?;
    let (a, scope) = (&r.a, &r.scope);
    let rows = r
        .store
        .demand(scope)
        .await
        .map_err(record::failed("the record"))?;
    let profiles = state.pool.profiles().await?;
    let l = &state.settings.languages;
    let now = now_ms();
    let coverage = Coverage::compute(
        &profiles,
        &l.core,
        &l.extended,
        state.settings.coverage.min_interpreters,
        chrono::Utc::now(),
    );
    // The schedule's hours are UTC; the report's are the hotline's (its offset now).
    let offset_h = scope.clock.offset_at(now).div_euclid(HOUR_MS as i64);
    let on_shift = |language: &str, local_h: u32| -> u32 {
        let utc_h = (i64::from(local_h) - offset_h).rem_euclid(i64::from(WEEK_HOURS)) as usize;
        Language::parse(language)
            .ok()
            .and_then(|l| coverage.language(l))
            .and_then(|lc| lc.counts.get(utc_h).copied())
            .unwrap_or(0)
    };
    let named = shortfalls(&rows, on_shift, SHORTFALLS_NAMED);
    tracing::info!(supervisor = %sup.name, report = "demand", "report");
    let view = DemandView::new(&state, a, &rows, on_shift, named);
    Ok(answer(a, "demand", view, DemandView::table))
}

/// `Mon 10:00` for an hour-of-the-week key, the key itself otherwise.
fn label(by: Grouping, key: &str) -> String {
    match (by, key.parse::<u32>()) {
        (Grouping::HourOfWeek, Ok(h)) => hour_label(h),
        _ => key.to_owned(),
    }
}
