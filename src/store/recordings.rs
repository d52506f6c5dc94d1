//! Recordings in SQL: one row per recorded leg, upserted when it starts and again when it ends
//! (an end written first is kept: the later start does not undo it), listed per call, and read
//! back in batches by age for the retention sweep, which deletes them by id.

use super::sql::{corrupt, text, time, SqlStore};
use super::StoreError;
use crate::domain::{CallId, Millis, ParticipantId, Recording};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

const COLUMNS: &str = "id, call_id, participant, path, started_at, ended_at, bytes";

fn ms(t: Millis) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

impl SqlStore {
    /// Writes one recording's row (idempotent: its end and size, once known, stay).
    pub(super) async fn upsert_recording(
        conn: &mut AnyConnection,
        r: &Recording,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO recordings (id, call_id, participant, path, started_at, ended_at, bytes) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET \
         ended_at = COALESCE(excluded.ended_at, recordings.ended_at), \
         bytes = CASE WHEN excluded.bytes > recordings.bytes THEN excluded.bytes \
                 ELSE recordings.bytes END",
        )
        .bind(r.id.as_str())
        .bind(r.call_id.as_str())
        .bind(r.participant.as_str())
        .bind(r.path.as_str())
        .bind(ms(r.started_at))
        .bind(r.ended_at.map(ms))
        .bind(i64::try_from(r.bytes).unwrap_or(i64::MAX))
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    pub(super) async fn recordings_of_call_sql(
        &self,
        call: &CallId,
    ) -> Result<Vec<Recording>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM recordings WHERE call_id = $1 ORDER BY started_at, id"
        ))
        .bind(call.as_str())
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.error(e))?;
        rows.iter().map(recording).collect()
    }

    pub(super) async fn recording_sql(&self, id: &str) -> Result<Option<Recording>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM recordings WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(|e| self.error(e))?;
        row.as_ref().map(recording).transpose()
    }

    pub(super) async fn recordings_started_before_sql(
        &self,
        before: Millis,
        limit: u32,
    ) -> Result<Vec<Recording>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM recordings WHERE started_at < $1 \
             ORDER BY started_at, id LIMIT $2"
        ))
        .bind(ms(before))
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.error(e))?;
        rows.iter().map(recording).collect()
    }

    pub(super) async fn delete_recordings_sql(&self, ids: &[String]) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await.map_err(|e| self.error(e))?;
        for id in ids {
            sqlx::query("DELETE FROM recordings WHERE id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(|e| self.error(e))?;
        }
        tx.commit().await.map_err(|e| self.error(e))
    }
}

fn recording(r: &AnyRow) -> Result<Recording, StoreError> {
    let ended = r
        .try_get::<Option<i64>, _>("ended_at")
        .map_err(|e| corrupt("ended_at", e))?
        .map(|v| Millis::try_from(v).map_err(|e| corrupt("ended_at", e)))
        .transpose()?;
    let bytes = r
        .try_get::<i64, _>("bytes")
        .map_err(|e| corrupt("bytes", e))?;
    Ok(Recording {
        id: text(r, "id")?,
        call_id: CallId::parse(&text(r, "call_id")?).map_err(|e| corrupt("call_id", e))?,
        participant: ParticipantId::parse(&text(r, "participant")?)
            .map_err(|e| corrupt("participant", e))?,
        path: text(r, "path")?,
        started_at: time(r, "started_at")?,
        ended_at: ended,
        bytes: u64::try_from(bytes).map_err(|e| corrupt("bytes", e))?,
    })
}
