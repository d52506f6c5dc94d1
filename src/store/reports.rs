//! The report queries (domain/report.rs defines the figures): one SQL text each for SQLite and
//! PostgreSQL, reading the figures each call's row keeps (migrations/…_reports.sql). Percentiles
//! are nearest-rank, by window functions both databases have. The hotline's clock is written
//! into the SQL as integer literals and month names this code makes; the roster's interpreter and
//! university ids are bound as parameters into a temporary table of the query's connection.

use super::sql::{corrupt, text, SqlStore};
use super::StoreError;
use crate::domain::report::{
    DemandRow, Grouping, LocalClock, MinutesRow, ReportScope, StarsRow, WaitingRow, HOUR_MS,
    WEEK_HOURS,
};
use crate::domain::Millis;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;
use std::fmt::Write;

/// Service-level thresholds, ms (dashboard::SERVICE_LEVEL_MS).
const WITHIN: [Millis; 2] = crate::domain::dashboard::SERVICE_LEVEL_MS;

impl SqlStore {
    pub(super) async fn waiting_sql(
        &self,
        scope: &ReportScope,
        by: Grouping,
    ) -> Result<Vec<WaitingRow>, StoreError> {
        let key = match by {
            Grouping::Language => "COALESCE(c.language, '')".to_owned(),
            Grouping::Interpreter => "COALESCE(c.interpreter_id, '')".to_owned(),
            Grouping::University => "COALESCE(u.university, '')".to_owned(),
            Grouping::HourOfWeek => {
                format!(
                    "CAST({} AS TEXT)",
                    hour_of_week(&scope.clock, "c.created_at")
                )
            }
            Grouping::Month => month(&scope.clock, "c.created_at"),
        };
        let [w20, w30] = WITHIN;
        // Only the university grouping needs the roster.
        let university = by == Grouping::University;
        let join = if university {
            "LEFT JOIN report_roster u ON u.interpreter_id = c.interpreter_id"
        } else {
            ""
        };
        // One pass: each call with its wait `w` (NULL: no interpreter joined), the rank of its
        // wait among its group's joined calls and how many those are, then the group's sums and
        // its nearest-rank median and p90.
        let sql = format!(
            "SELECT k, COUNT(*) AS calls, \
               CAST(SUM(CASE WHEN outcome = 'abandoned' THEN 1 ELSE 0 END) AS BIGINT) AS ab_op, \
               CAST(SUM(asked) AS BIGINT) AS asked, \
               CAST(SUM(CASE WHEN w IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS joined, \
               CAST(SUM(CASE WHEN w <= {w20} THEN 1 ELSE 0 END) AS BIGINT) AS w20, \
               CAST(SUM(CASE WHEN w <= {w30} THEN 1 ELSE 0 END) AS BIGINT) AS w30, \
               CAST(SUM(CASE WHEN asked = 1 AND w IS NULL AND outcome = 'ended' \
                 THEN 1 ELSE 0 END) AS BIGINT) AS ab_int, \
               MAX(CASE WHEN rn = (n + 1) / 2 THEN w END) AS p50, \
               MAX(CASE WHEN rn = (9 * n + 9) / 10 THEN w END) AS p90 \
             FROM ( \
               SELECT k, outcome, asked, w, \
                 ROW_NUMBER() OVER (PARTITION BY k, (w IS NULL) ORDER BY w) AS rn, \
                 SUM(CASE WHEN w IS NULL THEN 0 ELSE 1 END) OVER (PARTITION BY k) AS n \
               FROM ( \
                 SELECT {key} AS k, c.outcome AS outcome, c.asked AS asked, \
                   CASE WHEN c.interpreter_joined_at IS NULL THEN NULL \
                     WHEN c.interpreter_joined_at > c.language_known_at \
                     THEN c.interpreter_joined_at - c.language_known_at ELSE 0 END AS w \
                 FROM calls c {join} \
                 WHERE c.created_at >= $1 AND c.created_at < $2) b) r \
             GROUP BY k",
        );
        // One connection: the roster goes into its temporary table, keyed by interpreter, and
        // the query joins it there.
        let mut conn = self.pool().acquire().await.map_err(|e| self.error(e))?;
        if university {
            load_roster(&mut conn, scope)
                .await
                .map_err(|e| self.error(e))?;
        }
        let rows = sqlx::query(&sql)
            .bind(ms(scope.from))
            .bind(ms(scope.to))
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| self.error(e))?;
        let mut out = rows
            .iter()
            .map(waiting_row)
            .collect::<Result<Vec<_>, _>>()?;
        sort_keys(&mut out, by);
        Ok(out)
    }

    pub(super) async fn stars_sql(&self, scope: &ReportScope) -> Result<Vec<StarsRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT COALESCE(c.language, '') AS k, r.stars AS stars, COUNT(*) AS n \
             FROM ratings r JOIN calls c ON c.id = r.call_id \
             WHERE c.created_at >= $1 AND c.created_at < $2 GROUP BY 1, 2",
        )
        .bind(ms(scope.from))
        .bind(ms(scope.to))
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.error(e))?;
        let mut out: Vec<StarsRow> = Vec::new();
        for r in &rows {
            let language = text(r, "k")?;
            let stars = int(r, "stars")?;
            let n = count(r, "n")?;
            let Some(slot) = stars.checked_sub(1).filter(|s| *s < 5) else {
                return Err(corrupt("stars", format!("{stars} stars")));
            };
            match out.iter_mut().find(|s| s.language == language) {
                Some(row) => row.stars[slot as usize] += n,
                None => {
                    let mut row = StarsRow {
                        language,
                        stars: [0; 5],
                    };
                    row.stars[slot as usize] = n;
                    out.push(row);
                }
            }
        }
        out.sort_by(|a, b| a.language.cmp(&b.language));
        Ok(out)
    }

    pub(super) async fn minutes_sql(
        &self,
        scope: &ReportScope,
    ) -> Result<Vec<MinutesRow>, StoreError> {
        let sql = format!(
            "SELECT {month} AS m, l.interpreter_id AS i, COUNT(DISTINCT l.call_id) AS calls, \
               CAST(SUM(COALESCE(l.left_at, \
                 (SELECT c.ended_at FROM calls c WHERE c.id = l.call_id), l.joined_at) \
                 - l.joined_at) AS BIGINT) AS ms \
             FROM legs l \
             WHERE l.role = 'interpreter' AND l.joined_at >= $1 AND l.joined_at < $2 \
               AND l.interpreter_id IS NOT NULL \
             GROUP BY 1, 2",
            month = month(&scope.clock, "l.joined_at"),
        );
        let rows = sqlx::query(&sql)
            .bind(ms(scope.from))
            .bind(ms(scope.to))
            .fetch_all(self.pool())
            .await
            .map_err(|e| self.error(e))?;
        // The roster's university of each interpreter (none for one no longer on it).
        let universities: HashMap<&str, &str> = scope
            .universities
            .iter()
            .map(|(i, u)| (i.as_str(), u.as_str()))
            .collect();
        let mut out = rows
            .iter()
            .map(|r| {
                let interpreter = text(r, "i")?;
                Ok(MinutesRow {
                    month: text(r, "m")?,
                    university: universities
                        .get(interpreter.as_str())
                        .map(|u| (*u).to_owned())
                        .unwrap_or_default(),
                    interpreter,
                    calls: count(r, "calls")?,
                    ms: count(r, "ms")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.sort_by(|a, b| {
            (&a.month, &a.university, &a.interpreter).cmp(&(
                &b.month,
                &b.university,
                &b.interpreter,
            ))
        });
        Ok(out)
    }

    pub(super) async fn demand_sql(
        &self,
        scope: &ReportScope,
    ) -> Result<Vec<DemandRow>, StoreError> {
        let sql = format!(
            "SELECT COALESCE(c.language, '') AS k, {how} AS h, COUNT(*) AS calls, \
               CAST(SUM(c.asked) AS BIGINT) AS asked, \
               CAST(SUM(CASE WHEN c.asked = 1 AND \
                   COALESCE(c.interpreter_joined_at, c.ended_at) > c.language_known_at \
                 THEN COALESCE(c.interpreter_joined_at, c.ended_at) - c.language_known_at \
                 ELSE 0 END) AS BIGINT) AS waited \
             FROM calls c WHERE c.created_at >= $1 AND c.created_at < $2 GROUP BY 1, 2",
            how = hour_of_week(&scope.clock, "c.created_at"),
        );
        let rows = sqlx::query(&sql)
            .bind(ms(scope.from))
            .bind(ms(scope.to))
            .fetch_all(self.pool())
            .await
            .map_err(|e| self.error(e))?;
        let mut out = rows
            .iter()
            .map(|r| {
                let h = int(r, "h")?;
                Ok(DemandRow {
                    language: text(r, "k")?,
                    hour_of_week: u32::try_from(h)
                        .ok()
                        .filter(|h| *h < WEEK_HOURS)
                        .ok_or_else(|| corrupt("hour of week", h))?,
                    calls: count(r, "calls")?,
                    asked_for_interpreter: count(r, "asked")?,
                    waited_ms: count(r, "waited")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.sort_by(|a, b| (&a.language, a.hour_of_week).cmp(&(&b.language, b.hour_of_week)));
        Ok(out)
    }
}

fn ms(t: Millis) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

/// Roster rows per INSERT (two parameters each, well under either database's limit).
const ROSTER_CHUNK: usize = 200;

/// `report_roster(interpreter_id, university)` on `conn`, a temporary table of this connection,
/// filled with the scope's roster.
async fn load_roster(conn: &mut AnyConnection, scope: &ReportScope) -> Result<(), sqlx::Error> {
    sqlx::query(
        "CREATE TEMPORARY TABLE IF NOT EXISTS report_roster \
         (interpreter_id TEXT PRIMARY KEY, university TEXT NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM report_roster")
        .execute(&mut *conn)
        .await?;
    for chunk in scope.universities.chunks(ROSTER_CHUNK) {
        let mut sql = "INSERT INTO report_roster (interpreter_id, university) VALUES ".to_owned();
        for i in 0..chunk.len() {
            let n = 1 + 2 * i;
            let _ = write!(sql, "{}(${n}, ${})", if i > 0 { ", " } else { "" }, n + 1);
        }
        sql.push_str(" ON CONFLICT (interpreter_id) DO NOTHING");
        let mut q = sqlx::query(&sql);
        for (i, u) in chunk {
            q = q.bind(i.as_str()).bind(u.as_str());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The local offset at `col`, ms: a literal, or a CASE over the clock's changes.
fn offset(clock: &LocalClock, col: &str) -> String {
    match clock.offsets.as_slice() {
        [] => "0".into(),
        [(_, o)] => o.to_string(),
        [(_, first), rest @ ..] => {
            let mut s = "(CASE".to_owned();
            for (from, o) in rest.iter().rev() {
                let _ = write!(s, " WHEN {col} >= {from} THEN {o}");
            }
            let _ = write!(s, " ELSE {first} END)");
            s
        }
    }
}

/// The hour of the week of `col` on the hotline's clock (1970-01-01 was a Thursday: hour 72).
fn hour_of_week(clock: &LocalClock, col: &str) -> String {
    format!(
        "((({col} + {}) / {HOUR_MS} + 72) % {WEEK_HOURS})",
        offset(clock, col)
    )
}

/// The local month (`YYYY-MM`) of `col`; the months are made by `LocalClock`, digits and a dash.
fn month(clock: &LocalClock, col: &str) -> String {
    let Some(((_, first), rest)) = clock.months.split_first() else {
        return "''".into();
    };
    if rest.is_empty() {
        return format!("'{first}'");
    }
    let mut s = "(CASE".to_owned();
    for (start, m) in rest.iter().rev() {
        let _ = write!(s, " WHEN {col} >= {start} THEN '{m}'");
    }
    let _ = write!(s, " ELSE '{first}' END)");
    s
}

fn int(r: &AnyRow, col: &str) -> Result<i64, StoreError> {
    r.try_get::<i64, _>(col).map_err(|e| corrupt(col, e))
}

fn count(r: &AnyRow, col: &str) -> Result<u64, StoreError> {
    let v = r
        .try_get::<Option<i64>, _>(col)
        .map_err(|e| corrupt(col, e))?
        .unwrap_or(0);
    u64::try_from(v).map_err(|e| corrupt(col, e))
}

fn millis_opt(r: &AnyRow, col: &str) -> Result<Option<Millis>, StoreError> {
    r.try_get::<Option<i64>, _>(col)
        .map_err(|e| corrupt(col, e))?
        .map(|v| Millis::try_from(v).map_err(|e| corrupt(col, e)))
        .transpose()
}

fn waiting_row(r: &AnyRow) -> Result<WaitingRow, StoreError> {
    Ok(WaitingRow {
        key: text(r, "k")?,
        calls: count(r, "calls")?,
        abandoned_waiting_for_operator: count(r, "ab_op")?,
        asked_for_interpreter: count(r, "asked")?,
        interpreter_joined: count(r, "joined")?,
        within_20s: count(r, "w20")?,
        within_30s: count(r, "w30")?,
        abandoned_waiting_for_interpreter: count(r, "ab_int")?,
        time_to_interpreter_median_ms: millis_opt(r, "p50")?,
        time_to_interpreter_p90_ms: millis_opt(r, "p90")?,
    })
}

/// Groups in their natural order: hours as numbers, everything else by name (`""` first).
fn sort_keys(rows: &mut [WaitingRow], by: Grouping) {
    if by == Grouping::HourOfWeek {
        rows.sort_by_key(|r| r.key.parse::<u32>().unwrap_or(u32::MAX));
    } else {
        rows.sort_by(|a, b| a.key.cmp(&b.key));
    }
}
