//! What the record's endpoints (cases, call-backs, recordings, reports) share: the node's record
//! found ready, and its store's failures told the same way.

use super::state::AppState;
use super::ApiError;
use crate::drivers::records::Recorder;
use crate::store::StoreError;
use axum::http::StatusCode;

/// The node's record, ready to serve `what` (e.g. "cases"): 404 `no_record` when the node keeps
/// none, 503 while its tables are not made yet.
pub(super) fn ready<'a>(state: &'a AppState, what: &str) -> Result<&'a Recorder, ApiError> {
    let records = state.records.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_record",
            format!("this node keeps no record, so no {what} (records.database is empty)"),
        )
    })?;
    if !records.progress().borrow().migrated {
        return Err(ApiError::unavailable(
            "the record's database is not ready yet; try again",
        ));
    }
    Ok(records)
}

/// A failed read or write of `what` (e.g. "the cases"): 503, and a warning, while the record
/// cannot be reached; 500 for anything else.
pub(super) fn failed(what: &'static str) -> impl Fn(StoreError) -> ApiError {
    move |e| match e {
        StoreError::Unavailable(e) => {
            tracing::warn!(error = %e, what, "record store unreachable");
            ApiError::unavailable(format!("{what} cannot be reached now; try again"))
        }
        e => ApiError::internal(e),
    }
}
