//! Callback requests in SQL (the contract is in the module doc): one row per call, written once
//! (a request left again returns the first), marked done once (the first operator and time stay).

use super::sql::{corrupt, language, text, text_opt, time, time_opt, SqlStore};
use super::StoreError;
use crate::domain::{CallId, CallbackNumber, CallbackRequest, CallbackStatus, Millis};
use sqlx::any::AnyRow;

/// Most requests one list returns.
pub const CALLBACK_LIST_MAX: u32 = 500;

const COLUMNS: &str =
    "call_id, number, language, description, status, requested_at, done_at, done_by";

fn ms(t: Millis) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

impl SqlStore {
    pub(super) async fn request_callback_sql(
        &self,
        req: &CallbackRequest,
    ) -> Result<CallbackRequest, StoreError> {
        sqlx::query(
            "INSERT INTO callbacks (call_id, number, language, description, status, \
             requested_at, done_at, done_by) VALUES ($1, $2, $3, $4, 'open', $5, NULL, NULL) \
             ON CONFLICT (call_id) DO NOTHING",
        )
        .bind(req.call_id.as_str())
        .bind(req.number.as_str())
        .bind(req.language.map(|l| l.as_str().to_owned()))
        .bind(&req.description)
        .bind(ms(req.requested_at))
        .execute(self.pool())
        .await
        .map_err(|e| self.error(e))?;
        self.callback_sql(&req.call_id)
            .await?
            .ok_or_else(|| corrupt("callbacks", "a written request is missing"))
    }

    pub(super) async fn callback_sql(
        &self,
        call: &CallId,
    ) -> Result<Option<CallbackRequest>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM callbacks WHERE call_id = $1"
        ))
        .bind(call.as_str())
        .fetch_optional(self.pool())
        .await
        .map_err(|e| self.error(e))?;
        row.as_ref().map(request).transpose()
    }

    pub(super) async fn callbacks_sql(
        &self,
        status: Option<CallbackStatus>,
        limit: u32,
    ) -> Result<Vec<CallbackRequest>, StoreError> {
        let limit = i64::from(limit.clamp(1, CALLBACK_LIST_MAX));
        // An empty status matches every request.
        let sql = format!(
            "SELECT {COLUMNS} FROM callbacks WHERE ($1 = '' OR status = $1) \
             ORDER BY requested_at, call_id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(status.map_or("", CallbackStatus::as_str))
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .map_err(|e| self.error(e))?;
        rows.iter().map(request).collect()
    }

    pub(super) async fn callback_done_sql(
        &self,
        call: &CallId,
        by: &str,
        at: Millis,
    ) -> Result<Option<CallbackRequest>, StoreError> {
        sqlx::query(
            "UPDATE callbacks SET status = 'done', done_at = $2, done_by = $3 \
             WHERE call_id = $1 AND status = 'open'",
        )
        .bind(call.as_str())
        .bind(ms(at))
        .bind(by)
        .execute(self.pool())
        .await
        .map_err(|e| self.error(e))?;
        self.callback_sql(call).await
    }
}

fn request(r: &AnyRow) -> Result<CallbackRequest, StoreError> {
    let status = text(r, "status")?;
    Ok(CallbackRequest {
        call_id: CallId::parse(&text(r, "call_id")?).map_err(|e| corrupt("call_id", e))?,
        number: CallbackNumber::parse(&text(r, "number")?).map_err(|e| corrupt("number", e))?,
        language: language(r, "language")?,
        description: text(r, "description")?,
        status: CallbackStatus::parse(&status).ok_or_else(|| corrupt("status", status))?,
        requested_at: time(r, "requested_at")?,
        done_at: time_opt(r, "done_at")?,
        done_by: text_opt(r, "done_by")?,
    })
}
