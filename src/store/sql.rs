//! `SqlStore`: the record over sqlx's `Any` driver, SQLite or PostgreSQL as the URL's scheme
//! says. Connections are made on first use, so a store exists (and the service runs) while its
//! database is down; the writer (drivers::records) migrates and writes once it answers.

use super::{CallHistory, CaseEdited, CaseQuery, NewCase, Record, RecordStore, StoreError};
use crate::domain::report::{DemandRow, Grouping, MinutesRow, ReportScope, StarsRow, WaitingRow};
use crate::domain::{
    CallDigest, CallId, CallOutcome, CallSummary, CallbackRequest, CallbackStatus, Case, CaseEdit,
    CaseFile, CaseNumber, FollowUp, InterpreterId, Language, Leg, LegMedia, Millis, OfferId,
    OfferOutcome, OfferRecord, ParticipantId, Rating, Recording, Role,
};
use async_trait::async_trait;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Connections per node: the writer's one, and a few for the read API.
const MAX_CONNECTIONS: u32 = 4;
/// How long a query waits for a connection before the database counts as unreachable (the
/// writer then backs off and tries again).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Which database holds the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Sqlite,
    Postgres,
}

impl StoreKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::Sqlite => "sqlite",
            StoreKind::Postgres => "postgres",
        }
    }
}

/// Cheap to clone; every clone uses the same connection pool.
#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
    kind: StoreKind,
}

impl SqlStore {
    /// A store for `url` (`sqlite://data/hotline.db`, `postgres://user@host/db`). Nothing is
    /// connected yet; a SQLite file's folder is made now and the file on first use.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let (kind, url) = prepare(url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    // PostgreSQL compiles a query it estimates costly before running it; for
                    // the reports' sub-second scans the compiling took longer than the scan
                    // (0.58 s of the 0.97 s of the minutes report over a year), so it is off.
                    if kind == StoreKind::Postgres {
                        sqlx::query("SET jit = off").execute(conn).await?;
                    }
                    Ok(())
                })
            })
            .connect_lazy(&url)
            .map_err(|e| StoreError::Url(e.to_string()))?;
        Ok(Self { pool, kind })
    }

    pub fn kind(&self) -> StoreKind {
        self.kind
    }

    pub(super) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub(super) fn error(&self, e: sqlx::Error) -> StoreError {
        use sqlx::Error as E;
        let transient = match &e {
            E::Io(_)
            | E::Tls(_)
            | E::Protocol(_)
            | E::PoolTimedOut
            | E::PoolClosed
            | E::WorkerCrashed => true,
            E::Database(d) => d.code().is_some_and(|c| transient_code(self.kind, &c)),
            _ => false,
        };
        if transient {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::Rejected(e.to_string())
        }
    }
}

/// A database error that goes away: PostgreSQL SQLSTATE classes 08 (connection), 40
/// (serialization, deadlock), 53 (out of resources) and 57 (shutting down); SQLite BUSY,
/// LOCKED, IOERR and FULL (an extended code keeps its primary code in the low byte).
fn transient_code(kind: StoreKind, code: &str) -> bool {
    match kind {
        StoreKind::Postgres => ["08", "40", "53", "57"].iter().any(|c| code.starts_with(c)),
        StoreKind::Sqlite => code
            .parse::<u32>()
            .is_ok_and(|c| matches!(c & 0xff, 5 | 6 | 10 | 13)),
    }
}

/// The backend `url` names, and the URL to connect with: a SQLite file is opened
/// read-write-create and its folder is made.
fn prepare(url: &str) -> Result<(StoreKind, String), StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((StoreKind::Postgres, url.to_owned()));
    }
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return Err(StoreError::Url(format!(
            "{:.64}: give sqlite://<file> or postgres://<user>@<host>/<database>",
            url.split('@').next_back().unwrap_or_default()
        )));
    };
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path.starts_with(":memory:") {
        return Err(StoreError::Url(
            "an in-memory SQLite database is not kept: give a file".into(),
        ));
    }
    if let Some(dir) = std::path::Path::new(path).parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Url(format!("cannot make {}: {e}", dir.display())))?;
        }
    }
    let url = if query.split('&').any(|p| p.starts_with("mode=")) {
        url.to_owned()
    } else if query.is_empty() {
        format!("{url}?mode=rwc")
    } else {
        format!("{url}&mode=rwc")
    };
    Ok((StoreKind::Sqlite, url))
}

pub(super) fn ms(t: Millis) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

pub(super) fn ms_opt(t: Option<Millis>) -> Option<i64> {
    t.map(ms)
}

#[async_trait]
impl RecordStore for SqlStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        if self.kind == StoreKind::Sqlite {
            // Write-ahead logging (kept in the file): readers of the record (the API, reports)
            // and the writer do not wait for each other.
            sqlx::query("PRAGMA journal_mode = WAL")
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| self.error(e))?;
        }
        match MIGRATOR.run(&self.pool).await {
            Ok(()) => Ok(()),
            // Reaching the database (and its lock) is an `Execute` error like any statement's.
            Err(sqlx::migrate::MigrateError::Execute(e)) => Err(self.error(e)),
            Err(e) => Err(StoreError::Rejected(format!("migrations: {e}"))),
        }
    }

    async fn write(&self, batch: &[Record]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(|e| self.error(e))?;
        for r in batch {
            Self::apply(&mut tx, r).await.map_err(|e| self.error(e))?;
        }
        tx.commit().await.map_err(|e| self.error(e))
    }

    async fn call(&self, call: &CallId) -> Result<Option<CallHistory>, StoreError> {
        let id = call.as_str();
        let row = sqlx::query(
            "SELECT language, language_source, outcome, created_at, answered_at, ended_at \
             FROM calls WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.error(e))?;
        let legs = sqlx::query(
            "SELECT participant, role, interpreter_id, media, joined_at, left_at \
             FROM legs WHERE call_id = $1 ORDER BY joined_at, participant",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.error(e))?;
        let offers = sqlx::query(
            "SELECT id, interpreter_id, language, offered_at, outcome, ended_at \
             FROM offers WHERE call_id = $1 ORDER BY COALESCE(offered_at, ended_at), id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.error(e))?;
        let rating = sqlx::query("SELECT stars, rated_at FROM ratings WHERE call_id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.error(e))?;
        if row.is_none() && offers.is_empty() && rating.is_none() {
            return Ok(None);
        }
        let summary = match row {
            Some(r) => {
                let legs = legs.iter().map(leg).collect::<Result<_, _>>()?;
                Some(summary(call, &r, legs)?)
            }
            None => None,
        };
        Ok(Some(CallHistory {
            call: summary,
            offers: offers
                .iter()
                .map(|r| offer(call, r))
                .collect::<Result<_, _>>()?,
            rating: rating.as_ref().map(rating_of).transpose()?,
        }))
    }

    async fn calls_created(&self, from: Millis, to: Millis) -> Result<Vec<CallDigest>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.language, c.language_source, c.outcome, c.created_at, c.answered_at, \
             c.ended_at, \
             (SELECT MIN(l.joined_at) FROM legs l \
              WHERE l.call_id = c.id AND l.role = 'interpreter') AS interpreter_joined_at, \
             (SELECT COUNT(*) FROM offers o WHERE o.call_id = c.id) AS offers, \
             r.stars \
             FROM calls c LEFT JOIN ratings r ON r.call_id = c.id \
             WHERE c.created_at >= $1 AND c.created_at < $2 \
             ORDER BY c.created_at, c.id",
        )
        .bind(ms(from))
        .bind(ms(to))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.error(e))?;
        rows.iter().map(digest).collect()
    }

    async fn open_case(&self, new: &NewCase) -> Result<CaseFile, StoreError> {
        self.open_case_sql(new).await
    }

    async fn link_call(
        &self,
        number: &CaseNumber,
        call: &CallId,
        at: Millis,
    ) -> Result<Option<CaseFile>, StoreError> {
        self.link_call_sql(number, call, at).await
    }

    async fn case(&self, number: &CaseNumber) -> Result<Option<CaseFile>, StoreError> {
        self.case_sql(number).await
    }

    async fn case_of_call(&self, call: &CallId) -> Result<Option<CaseFile>, StoreError> {
        self.case_of_call_sql(call).await
    }

    async fn edit_case(
        &self,
        number: &CaseNumber,
        edit: &CaseEdit,
        by: &str,
        at: Millis,
    ) -> Result<CaseEdited, StoreError> {
        self.edit_case_sql(number, edit, by, at).await
    }

    async fn add_follow_up(
        &self,
        number: &CaseNumber,
        entry: &FollowUp,
    ) -> Result<Option<CaseFile>, StoreError> {
        self.add_follow_up_sql(number, entry).await
    }

    async fn case_counts(&self, since: Millis) -> Result<super::CaseCounts, StoreError> {
        self.case_counts_sql(since).await
    }

    async fn cases(&self, query: &CaseQuery) -> Result<Vec<Case>, StoreError> {
        self.cases_sql(query).await
    }

    async fn waiting(
        &self,
        scope: &ReportScope,
        by: Grouping,
    ) -> Result<Vec<WaitingRow>, StoreError> {
        self.waiting_sql(scope, by).await
    }

    async fn stars(&self, scope: &ReportScope) -> Result<Vec<StarsRow>, StoreError> {
        self.stars_sql(scope).await
    }

    async fn interpreter_minutes(
        &self,
        scope: &ReportScope,
    ) -> Result<Vec<MinutesRow>, StoreError> {
        self.minutes_sql(scope).await
    }

    async fn demand(&self, scope: &ReportScope) -> Result<Vec<DemandRow>, StoreError> {
        self.demand_sql(scope).await
    }

    async fn recordings_of_call(&self, call: &CallId) -> Result<Vec<Recording>, StoreError> {
        self.recordings_of_call_sql(call).await
    }

    async fn recording(&self, id: &str) -> Result<Option<Recording>, StoreError> {
        self.recording_sql(id).await
    }

    async fn recordings_started_before(
        &self,
        before: Millis,
        limit: u32,
    ) -> Result<Vec<Recording>, StoreError> {
        self.recordings_started_before_sql(before, limit).await
    }

    async fn delete_recordings(&self, ids: &[String]) -> Result<(), StoreError> {
        self.delete_recordings_sql(ids).await
    }

    async fn request_callback(&self, req: &CallbackRequest) -> Result<CallbackRequest, StoreError> {
        self.request_callback_sql(req).await
    }

    async fn callbacks(
        &self,
        status: Option<CallbackStatus>,
        limit: u32,
    ) -> Result<Vec<CallbackRequest>, StoreError> {
        self.callbacks_sql(status, limit).await
    }

    async fn callback_done(
        &self,
        call: &CallId,
        by: &str,
        at: Millis,
    ) -> Result<Option<CallbackRequest>, StoreError> {
        self.callback_done_sql(call, by, at).await
    }
}

pub(super) fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

pub(super) fn text(r: &AnyRow, col: &str) -> Result<String, StoreError> {
    r.try_get::<String, _>(col).map_err(|e| corrupt(col, e))
}

pub(super) fn text_opt(r: &AnyRow, col: &str) -> Result<Option<String>, StoreError> {
    r.try_get::<Option<String>, _>(col)
        .map_err(|e| corrupt(col, e))
}

pub(super) fn time(r: &AnyRow, col: &str) -> Result<Millis, StoreError> {
    let v = r.try_get::<i64, _>(col).map_err(|e| corrupt(col, e))?;
    Millis::try_from(v).map_err(|e| corrupt(col, e))
}

pub(super) fn time_opt(r: &AnyRow, col: &str) -> Result<Option<Millis>, StoreError> {
    r.try_get::<Option<i64>, _>(col)
        .map_err(|e| corrupt(col, e))?
        .map(|v| Millis::try_from(v).map_err(|e| corrupt(col, e)))
        .transpose()
}

pub(super) fn language(r: &AnyRow, col: &str) -> Result<Option<Language>, StoreError> {
    text_opt(r, col)?
        .map(|s| Language::parse(&s).map_err(|e| corrupt(col, e)))
        .transpose()
}

fn named<T>(r: &AnyRow, col: &str, parse: fn(&str) -> Option<T>) -> Result<T, StoreError> {
    let s = text(r, col)?;
    parse(&s).ok_or_else(|| corrupt(col, format!("unknown value {s:?}")))
}

fn summary(call: &CallId, r: &AnyRow, legs: Vec<Leg>) -> Result<CallSummary, StoreError> {
    Ok(CallSummary {
        call_id: call.clone(),
        language: language(r, "language")?,
        language_source: text(r, "language_source")?,
        outcome: named(r, "outcome", CallOutcome::parse)?,
        created_at: time(r, "created_at")?,
        answered_at: time_opt(r, "answered_at")?,
        ended_at: time(r, "ended_at")?,
        legs,
    })
}

fn leg(r: &AnyRow) -> Result<Leg, StoreError> {
    Ok(Leg {
        participant: ParticipantId::parse(&text(r, "participant")?)
            .map_err(|e| corrupt("participant", e))?,
        role: named(r, "role", Role::parse)?,
        interpreter: text_opt(r, "interpreter_id")?
            .map(|s| InterpreterId::parse(&s).map_err(|e| corrupt("interpreter_id", e)))
            .transpose()?,
        media: named(r, "media", LegMedia::parse)?,
        joined_at: time(r, "joined_at")?,
        left_at: time_opt(r, "left_at")?,
    })
}

fn offer(call: &CallId, r: &AnyRow) -> Result<OfferRecord, StoreError> {
    Ok(OfferRecord {
        offer_id: OfferId::parse(&text(r, "id")?).map_err(|e| corrupt("id", e))?,
        call_id: call.clone(),
        interpreter: InterpreterId::parse(&text(r, "interpreter_id")?)
            .map_err(|e| corrupt("interpreter_id", e))?,
        language: language(r, "language")?,
        offered_at: time_opt(r, "offered_at")?,
        outcome: text_opt(r, "outcome")?
            .map(|s| OfferOutcome::parse(&s).ok_or_else(|| corrupt("outcome", s)))
            .transpose()?,
        ended_at: time_opt(r, "ended_at")?,
    })
}

fn digest(r: &AnyRow) -> Result<CallDigest, StoreError> {
    let offers = r
        .try_get::<i64, _>("offers")
        .map_err(|e| corrupt("offers", e))?;
    let stars = r
        .try_get::<Option<i64>, _>("stars")
        .map_err(|e| corrupt("stars", e))?
        .map(|s| u8::try_from(s).map_err(|e| corrupt("stars", e)))
        .transpose()?;
    Ok(CallDigest {
        language: language(r, "language")?,
        language_source: text(r, "language_source")?,
        outcome: named(r, "outcome", CallOutcome::parse)?,
        created_at: time(r, "created_at")?,
        answered_at: time_opt(r, "answered_at")?,
        ended_at: time(r, "ended_at")?,
        interpreter_joined_at: time_opt(r, "interpreter_joined_at")?,
        offers: u32::try_from(offers).map_err(|e| corrupt("offers", e))?,
        stars,
    })
}

fn rating_of(r: &AnyRow) -> Result<Rating, StoreError> {
    let stars = r
        .try_get::<i64, _>("stars")
        .map_err(|e| corrupt("stars", e))?;
    Ok(Rating {
        stars: u8::try_from(stars).map_err(|e| corrupt("stars", e))?,
        at: time(r, "rated_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sqlite_url_is_opened_read_write_create_and_anything_else_is_refused() {
        let dir = std::env::temp_dir().join(format!("hb-store-{}", rand::random::<u64>()));
        let file = dir.join("sub").join("r.db");
        let url = format!("sqlite://{}", file.display());
        let (kind, opened) = prepare(&url).expect("sqlite");
        assert_eq!(kind, StoreKind::Sqlite);
        assert_eq!(opened, format!("{url}?mode=rwc"));
        assert!(file.parent().is_some_and(|d| d.is_dir()), "folder made");
        let (_, kept) = prepare(&format!("{url}?mode=ro")).expect("sqlite");
        assert!(kept.ends_with("?mode=ro"));
        let pg = "postgres://hb@db.example/hotline";
        assert_eq!(prepare(pg).expect("pg"), (StoreKind::Postgres, pg.into()));
        assert!(matches!(prepare("mysql://x/y"), Err(StoreError::Url(_))));
        assert!(matches!(
            prepare("sqlite::memory:"),
            Err(StoreError::Url(_))
        ));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn outages_and_busy_databases_are_transient_and_refusals_are_not() {
        // PostgreSQL: connection failure, admin shutdown, deadlock, too many connections.
        for code in ["08006", "57P01", "40P01", "53300"] {
            assert!(transient_code(StoreKind::Postgres, code), "{code}");
        }
        // Unique violation, syntax error, undefined table.
        for code in ["23505", "42601", "42P01"] {
            assert!(!transient_code(StoreKind::Postgres, code), "{code}");
        }
        // SQLite: BUSY, BUSY_SNAPSHOT (517), LOCKED, IOERR_FSYNC (1034), FULL.
        for code in ["5", "517", "6", "1034", "13"] {
            assert!(transient_code(StoreKind::Sqlite, code), "{code}");
        }
        // CONSTRAINT_UNIQUE (2067), ERROR, READONLY.
        for code in ["2067", "1", "8"] {
            assert!(!transient_code(StoreKind::Sqlite, code), "{code}");
        }
    }

    #[test]
    fn a_refused_url_does_not_show_its_password() {
        let Err(StoreError::Url(m)) = prepare("mysql://hb:s3cret@db.example/x") else {
            panic!("refused");
        };
        assert!(!m.contains("s3cret"), "{m}");
    }
}
