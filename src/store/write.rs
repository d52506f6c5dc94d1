//! Writing the record: each `Record` of a batch applied in the writer's transaction (the same
//! SQL text for SQLite and PostgreSQL), with the figures the reports read kept on the call's
//! row as it is written (migrations/…_reports.sql, …_report_columns.sql).

use super::sql::{ms, ms_opt, SqlStore};
use super::Record;
use crate::domain::dashboard::language_known_at;
use crate::domain::{CallId, Millis, Role};
use sqlx::AnyConnection;

impl SqlStore {
    /// Applies one record in the writer's transaction.
    pub(super) async fn apply(conn: &mut AnyConnection, r: &Record) -> Result<(), sqlx::Error> {
        match r {
            Record::Call(c) => {
                // The report's figures of the call (migrations/…_reports.sql); `asked` also when
                // an offer for it was written before.
                let first = c
                    .legs
                    .iter()
                    .filter(|l| l.role == Role::Interpreter)
                    .min_by(|a, b| {
                        (a.joined_at, a.participant.as_str())
                            .cmp(&(b.joined_at, b.participant.as_str()))
                    });
                let known = language_known_at(&c.language_source, c.created_at, c.answered_at);
                sqlx::query(
                    "INSERT INTO calls (id, language, language_source, outcome, created_at, \
                 answered_at, ended_at, language_known_at, interpreter_joined_at, \
                 interpreter_id, asked, wait_ms, stars) VALUES ($1, $2, $3, $4, $5, $6, $7, \
                 $8, $9, $10, \
                 CASE WHEN $11 = 1 OR EXISTS (SELECT 1 FROM offers o WHERE o.call_id = $1) \
                 THEN 1 ELSE 0 END, $12, \
                 (SELECT r.stars FROM ratings r WHERE r.call_id = $1)) \
                 ON CONFLICT (id) DO UPDATE SET language = excluded.language, \
                 language_source = excluded.language_source, outcome = excluded.outcome, \
                 created_at = excluded.created_at, answered_at = excluded.answered_at, \
                 ended_at = excluded.ended_at, language_known_at = excluded.language_known_at, \
                 interpreter_joined_at = excluded.interpreter_joined_at, \
                 interpreter_id = excluded.interpreter_id, asked = excluded.asked, \
                 wait_ms = excluded.wait_ms, stars = excluded.stars",
                )
                .bind(c.call_id.as_str())
                .bind(c.language.map(|l| l.as_str().to_owned()))
                .bind(c.language_source.as_str())
                .bind(c.outcome.as_str())
                .bind(ms(c.created_at))
                .bind(ms_opt(c.answered_at))
                .bind(ms(c.ended_at))
                .bind(ms(known))
                .bind(ms_opt(first.map(|l| l.joined_at)))
                .bind(first.and_then(|l| l.interpreter.as_ref().map(|i| i.as_str().to_owned())))
                .bind(i64::from(first.is_some()))
                .bind(first.map(|l| ms(wait_ms(known, l.joined_at))))
                .execute(&mut *conn)
                .await?;
                sqlx::query("DELETE FROM legs WHERE call_id = $1")
                    .bind(c.call_id.as_str())
                    .execute(&mut *conn)
                    .await?;
                for l in &c.legs {
                    sqlx::query(
                        "INSERT INTO legs (call_id, participant, role, interpreter_id, media, \
                     joined_at, left_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT DO NOTHING",
                    )
                    .bind(c.call_id.as_str())
                    .bind(l.participant.as_str())
                    .bind(l.role.as_str())
                    .bind(l.interpreter.as_ref().map(|i| i.as_str().to_owned()))
                    .bind(l.media.as_str())
                    .bind(ms(l.joined_at))
                    .bind(ms_opt(l.left_at))
                    .execute(&mut *conn)
                    .await?;
                }
            }
            Record::Offered {
                offer,
                call,
                interpreter,
                language,
                at,
            } => {
                sqlx::query(
                    "INSERT INTO offers (id, call_id, interpreter_id, language, offered_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE \
                 SET language = excluded.language, offered_at = excluded.offered_at",
                )
                .bind(offer.as_str())
                .bind(call.as_str())
                .bind(interpreter.as_str())
                .bind(language.map(|l| l.as_str().to_owned()))
                .bind(ms(*at))
                .execute(&mut *conn)
                .await?;
                mark_asked(conn, call).await?;
            }
            Record::OfferEnded {
                offer: Some(offer),
                call,
                interpreter,
                outcome,
                at,
            } => {
                sqlx::query(
                    "INSERT INTO offers (id, call_id, interpreter_id, outcome, ended_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE \
                 SET outcome = excluded.outcome, ended_at = excluded.ended_at \
                 WHERE offers.outcome IS NULL",
                )
                .bind(offer.as_str())
                .bind(call.as_str())
                .bind(interpreter.as_str())
                .bind(outcome.as_str())
                .bind(ms(*at))
                .execute(&mut *conn)
                .await?;
                mark_asked(conn, call).await?;
            }
            Record::OfferEnded {
                offer: None,
                call,
                interpreter,
                outcome,
                at,
            } => {
                sqlx::query(
                    "UPDATE offers SET outcome = $1, ended_at = $2 \
                 WHERE call_id = $3 AND interpreter_id = $4 AND outcome IS NULL",
                )
                .bind(outcome.as_str())
                .bind(ms(*at))
                .bind(call.as_str())
                .bind(interpreter.as_str())
                .execute(&mut *conn)
                .await?;
            }
            Record::Rated { call, rating } => {
                sqlx::query(
                    "INSERT INTO ratings (call_id, stars, rated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (call_id) DO NOTHING",
                )
                .bind(call.as_str())
                .bind(i64::from(rating.stars))
                .bind(ms(rating.at))
                .execute(&mut *conn)
                .await?;
                // The call's row keeps the first rating too (for the reports), if it is written.
                sqlx::query(
                "UPDATE calls SET stars = (SELECT r.stars FROM ratings r WHERE r.call_id = $1) \
                 WHERE id = $1",
            )
            .bind(call.as_str())
            .execute(&mut *conn)
            .await?;
            }
            Record::Recording(r) => SqlStore::upsert_recording(conn, r).await?,
        }
        Ok(())
    }
}

/// The time to interpreter the reports read: from the language being known to the first
/// interpreter joining (0 if one joined before it was known).
pub fn wait_ms(language_known_at: Millis, interpreter_joined_at: Millis) -> Millis {
    interpreter_joined_at.saturating_sub(language_known_at)
}

/// An offer was made for `call`: if its row is written already, it asked for an interpreter.
async fn mark_asked(conn: &mut AnyConnection, call: &CallId) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE calls SET asked = 1 WHERE id = $1 AND asked = 0")
        .bind(call.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}
