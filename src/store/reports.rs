//! The report queries (domain/report.rs defines the figures): one SQL text each for SQLite and
//! PostgreSQL, reading the figures each call's row keeps (migrations/…_reports.sql). Percentiles
//! are nearest-rank, by window functions both databases have. The hotline's clock is written
//! into the SQL as integer literals and month names this code makes; the roster's interpreter and
//! university ids are bound as parameters into a temporary table of the query's connection.

use super::sql::{corrupt, text, time, SqlStore, StoreKind};
use super::StoreError;
use crate::domain::report::{
    DemandRow, Grouping, LocalClock, MinutesRow, ReportScope, StarsRow, WaitingRow, HOUR_MS,
    WEEK_HOURS,
};
use crate::domain::Millis;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

/// Service-level thresholds, ms (dashboard::SERVICE_LEVEL_MS).
const WITHIN: [Millis; 2] = crate::domain::dashboard::SERVICE_LEVEL_MS;
/// The waiting report's first pass counts waits per this many ms.
const BUCKET_MS: Millis = 1000;
/// (group, second) pairs read back per query (two parameters each at most, well under either
/// database's limit).
const WANTED_CHUNK: usize = 1000;

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
        // Two passes, neither sorting the calls by their wait (a window over a year's calls
        // costs seconds on SQLite). First, per group and per second of wait, the counts: the
        // group's figures are their sums, and walking a group's seconds in order finds the second
        // that holds its median's (and p90's) nearest rank. Then only the calls of those
        // seconds are read back, and sorting those few gives the exact waits at the ranks.
        let sums = format!(
            "SELECT {key} AS k, c.wait_ms / {BUCKET_MS} AS b, COUNT(*) AS calls, \
               CAST(SUM(CASE WHEN c.outcome = 'abandoned' THEN 1 ELSE 0 END) AS BIGINT) AS ab_op, \
               CAST(SUM(c.asked) AS BIGINT) AS asked, \
               CAST(SUM(CASE WHEN c.wait_ms <= {w20} THEN 1 ELSE 0 END) AS BIGINT) AS w20, \
               CAST(SUM(CASE WHEN c.wait_ms <= {w30} THEN 1 ELSE 0 END) AS BIGINT) AS w30, \
               CAST(SUM(CASE WHEN c.asked = 1 AND c.wait_ms IS NULL AND c.outcome = 'ended' \
                 THEN 1 ELSE 0 END) AS BIGINT) AS ab_int \
             FROM calls c {join} \
             WHERE c.created_at >= $1 AND c.created_at < $2 \
             GROUP BY 1, 2",
        );
        // One connection and one snapshot (the second pass must see the calls the first
        // counted): the roster goes into its temporary table, keyed by interpreter, and the
        // queries join it there.
        let mut conn = self.pool().acquire().await.map_err(|e| self.error(e))?;
        let mut conn = sqlx::Connection::begin(&mut *conn)
            .await
            .map_err(|e| self.error(e))?;
        if self.kind() == StoreKind::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                .execute(&mut *conn)
                .await
                .map_err(|e| self.error(e))?;
        }
        if university {
            load_roster(&mut conn, scope)
                .await
                .map_err(|e| self.error(e))?;
        }
        let rows = sqlx::query(&sums)
            .bind(ms(scope.from))
            .bind(ms(scope.to))
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| self.error(e))?;
        let mut groups: BTreeMap<String, Group> = BTreeMap::new();
        for r in &rows {
            let key = text(r, "k")?;
            let g = groups.entry(key.clone()).or_insert_with(|| Group {
                row: WaitingRow {
                    key,
                    ..WaitingRow::default()
                },
                seconds: BTreeMap::new(),
            });
            let calls = count(r, "calls")?;
            let row = &mut g.row;
            row.calls += calls;
            row.abandoned_waiting_for_operator += count(r, "ab_op")?;
            row.asked_for_interpreter += count(r, "asked")?;
            row.within_20s += count(r, "w20")?;
            row.within_30s += count(r, "w30")?;
            row.abandoned_waiting_for_interpreter += count(r, "ab_int")?;
            if let Some(b) = r
                .try_get::<Option<i64>, _>("b")
                .map_err(|e| corrupt("b", e))?
            {
                row.interpreter_joined += calls;
                *g.seconds.entry(b).or_default() += calls;
            }
        }
        // The seconds to read back, and per group where its ranks fall in them.
        let mut wanted: Vec<(String, i64)> = Vec::new();
        let mut at: Vec<(String, [Option<RankAt>; 2])> = Vec::new();
        for (key, g) in &groups {
            let n = g.row.interpreter_joined;
            let ranks = [n.div_ceil(2), (9 * n).div_ceil(10)];
            let found = ranks.map(|r| rank_in(&g.seconds, r));
            for (b, _) in found.iter().flatten() {
                if !wanted.iter().any(|(k, w)| k == key && w == b) {
                    wanted.push((key.clone(), *b));
                }
            }
            at.push((key.clone(), found));
        }
        let mut waits: HashMap<(String, i64), Vec<Millis>> = HashMap::new();
        for chunk in wanted.chunks(WANTED_CHUNK) {
            let mut seconds: Vec<i64> = chunk.iter().map(|(_, b)| *b).collect();
            seconds.sort_unstable();
            seconds.dedup();
            let list = |from: usize, n: usize| {
                (from..from + n)
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let sql = format!(
                "SELECT k, w FROM (SELECT {key} AS k, c.wait_ms AS w FROM calls c {join} \
                   WHERE c.created_at >= $1 AND c.created_at < $2 AND c.wait_ms IS NOT NULL) x \
                 WHERE w / {BUCKET_MS} IN ({}) \
                   AND k || ':' || CAST(w / {BUCKET_MS} AS TEXT) IN ({})",
                list(3, seconds.len()),
                list(3 + seconds.len(), chunk.len()),
            );
            let mut q = sqlx::query(&sql).bind(ms(scope.from)).bind(ms(scope.to));
            for b in &seconds {
                q = q.bind(*b);
            }
            for (k, b) in chunk {
                q = q.bind(format!("{k}:{b}"));
            }
            for r in q.fetch_all(&mut *conn).await.map_err(|e| self.error(e))? {
                let w = time(&r, "w")?;
                let b = i64::try_from(w / BUCKET_MS).map_err(|e| corrupt("w", e))?;
                waits.entry((text(&r, "k")?, b)).or_default().push(w);
            }
        }
        for v in waits.values_mut() {
            v.sort_unstable();
        }
        for (key, found) in at {
            let Some(g) = groups.get_mut(&key) else {
                continue;
            };
            let [median, p90] = found.map(|f| {
                f.and_then(|(b, offset)| {
                    let v = waits.get(&(key.clone(), b))?;
                    v.get(usize::try_from(offset).ok()?.checked_sub(1)?)
                        .copied()
                })
            });
            if g.row.interpreter_joined > 0 && (median.is_none() || p90.is_none()) {
                return Err(corrupt(
                    "time to interpreter",
                    format!("the calls of group {key:?} changed while read"),
                ));
            }
            g.row.time_to_interpreter_median_ms = median;
            g.row.time_to_interpreter_p90_ms = p90;
        }
        conn.commit().await.map_err(|e| self.error(e))?;
        let mut out: Vec<WaitingRow> = groups.into_values().map(|g| g.row).collect();
        sort_keys(&mut out, by);
        Ok(out)
    }

    pub(super) async fn stars_sql(&self, scope: &ReportScope) -> Result<Vec<StarsRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT COALESCE(c.language, '') AS k, c.stars AS stars, COUNT(*) AS n \
             FROM calls c \
             WHERE c.created_at >= $1 AND c.created_at < $2 AND c.stars IS NOT NULL \
             GROUP BY 1, 2",
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

/// A group of the waiting report being summed: its row, and its joined calls per second of wait.
struct Group {
    row: WaitingRow,
    seconds: BTreeMap<i64, u64>,
}

/// A second of wait and a rank among that second's waits (1-based).
type RankAt = (i64, u64);

/// Where the `rank`-th smallest wait (1-based) falls: the second that holds it and its rank
/// among that second's waits; `None` for rank 0 or past the last.
fn rank_in(seconds: &BTreeMap<i64, u64>, rank: u64) -> Option<RankAt> {
    if rank == 0 {
        return None;
    }
    let mut before = 0;
    for (b, n) in seconds {
        if rank <= before + n {
            return Some((*b, rank - before));
        }
        before += n;
    }
    None
}

/// Groups in their natural order: hours as numbers, everything else by name (`""` first).
fn sort_keys(rows: &mut [WaitingRow], by: Grouping) {
    if by == Grouping::HourOfWeek {
        rows.sort_by_key(|r| r.key.parse::<u32>().unwrap_or(u32::MAX));
    } else {
        rows.sort_by(|a, b| a.key.cmp(&b.key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rank_falls_in_the_second_that_holds_it() {
        // Waits in seconds 0 (two), 3 (one), 7 (three): ranks 1-2, 3, 4-6.
        let seconds: BTreeMap<i64, u64> = [(0, 2), (3, 1), (7, 3)].into_iter().collect();
        assert_eq!(rank_in(&seconds, 1), Some((0, 1)));
        assert_eq!(rank_in(&seconds, 2), Some((0, 2)));
        assert_eq!(rank_in(&seconds, 3), Some((3, 1)));
        assert_eq!(rank_in(&seconds, 4), Some((7, 1)));
        assert_eq!(rank_in(&seconds, 6), Some((7, 3)));
        assert_eq!(rank_in(&seconds, 7), None);
        assert_eq!(rank_in(&seconds, 0), None);
        assert_eq!(rank_in(&BTreeMap::new(), 1), None);
    }
}
