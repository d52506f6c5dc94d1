//! Cases in SQL (the contract is in the module doc): opening with a per-day sequence taken by an
//! upsert, edits as one conditional UPDATE against the status and department they were checked
//! against (tried again when another edit came first), follow-ups and links to later calls.
//! Statements that write start their transaction, so SQLite never upgrades a stale read.

use super::sql::{corrupt, language, text, time, SqlStore};
use super::StoreError;
use crate::domain::{
    CallId, Case, CaseCall, CaseEdit, CaseFile, CaseNumber, CaseRuleError, CaseStatus, FollowUp,
    InterpreterId, Language, Millis,
};
use sqlx::any::AnyRow;
use sqlx::Row;

/// How many times an edit is checked again when another edit changed the case meanwhile.
const EDIT_TRIES: usize = 5;
/// Most cases one list returns.
pub const LIST_MAX: u32 = 500;

/// A case to open for a call an operator took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCase {
    pub call: CallId,
    /// YYMMDD in the hotline's time zone (`CaseNumber::day_of`).
    pub day: String,
    pub language: Option<Language>,
    pub operator: String,
    pub at: Millis,
}

/// Which cases to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseQuery {
    pub status: Option<CaseStatus>,
    /// Opened at or after (Unix ms).
    pub since: Option<Millis>,
    /// At most this many (capped at `LIST_MAX`).
    pub limit: u32,
}

/// How many cases were opened since a time, and how many of those are resolved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaseCounts {
    pub opened: u64,
    pub resolved: u64,
}

/// What became of an edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseEdited {
    Edited(Box<CaseFile>),
    NotFound,
    /// The rules refused it; nothing changed.
    Refused(CaseRuleError),
}

const CASE_COLUMNS: &str = "number, call_id, language, operator, notes, category, department, \
                            status, created_at, updated_at, updated_by";

fn ms(t: Millis) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

impl SqlStore {
    pub(super) async fn open_case_sql(&self, new: &NewCase) -> Result<CaseFile, StoreError> {
        if let Some(file) = self.case_of_call_sql(&new.call).await? {
            return Ok(file);
        }
        match self.insert_case(new).await {
            Ok(number) => self
                .case_sql(&number)
                .await?
                .ok_or_else(|| corrupt("cases", "an opened case is missing")),
            // Opened meanwhile for the same call (the unique call id refused this one).
            Err(e) if !e.is_transient() => match self.case_of_call_sql(&new.call).await? {
                Some(file) => Ok(file),
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    async fn insert_case(&self, new: &NewCase) -> Result<CaseNumber, StoreError> {
        let e = |e| self.error(e);
        let mut tx = self.pool().begin().await.map_err(e)?;
        let seq: i64 = sqlx::query(
            "INSERT INTO case_days (day, last_seq) VALUES ($1, 1) ON CONFLICT (day) \
             DO UPDATE SET last_seq = case_days.last_seq + 1 RETURNING last_seq",
        )
        .bind(&new.day)
        .fetch_one(&mut *tx)
        .await
        .map_err(e)?
        .try_get("last_seq")
        .map_err(e)?;
        let number = CaseNumber::new(&new.day, u64::try_from(seq).unwrap_or_default())
            .map_err(|err| StoreError::Rejected(err.to_string()))?;
        sqlx::query(
            "INSERT INTO cases (number, call_id, language, operator, notes, category, \
             department, status, created_at, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, '', '', '', 'open', $5, $5, $4)",
        )
        .bind(number.as_str())
        .bind(new.call.as_str())
        .bind(new.language.map(|l| l.as_str().to_owned()))
        .bind(&new.operator)
        .bind(ms(new.at))
        .execute(&mut *tx)
        .await
        .map_err(e)?;
        sqlx::query(
            "INSERT INTO case_calls (call_id, case_number, opened, linked_at) \
             VALUES ($1, $2, 1, $3)",
        )
        .bind(new.call.as_str())
        .bind(number.as_str())
        .bind(ms(new.at))
        .execute(&mut *tx)
        .await
        .map_err(e)?;
        tx.commit().await.map_err(e)?;
        Ok(number)
    }

    pub(super) async fn link_call_sql(
        &self,
        number: &CaseNumber,
        call: &CallId,
        at: Millis,
    ) -> Result<Option<CaseFile>, StoreError> {
        sqlx::query(
            "INSERT INTO case_calls (call_id, case_number, opened, linked_at) \
             SELECT $1, number, 0, $3 FROM cases WHERE number = $2 \
             ON CONFLICT (call_id) DO NOTHING",
        )
        .bind(call.as_str())
        .bind(number.as_str())
        .bind(ms(at))
        .execute(self.pool())
        .await
        .map_err(|e| self.error(e))?;
        self.case_of_call_sql(call).await
    }

    pub(super) async fn case_of_call_sql(
        &self,
        call: &CallId,
    ) -> Result<Option<CaseFile>, StoreError> {
        let row = sqlx::query("SELECT case_number FROM case_calls WHERE call_id = $1")
            .bind(call.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(|e| self.error(e))?;
        match row {
            Some(r) => self.case_sql(&number(&r, "case_number")?).await,
            None => Ok(None),
        }
    }

    async fn case_row(&self, number: &CaseNumber) -> Result<Option<Case>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE number = $1"
        ))
        .bind(number.as_str())
        .fetch_optional(self.pool())
        .await
        .map_err(|e| self.error(e))?;
        row.as_ref().map(case_of).transpose()
    }

    pub(super) async fn case_sql(
        &self,
        number: &CaseNumber,
    ) -> Result<Option<CaseFile>, StoreError> {
        let Some(case) = self.case_row(number).await? else {
            return Ok(None);
        };
        let e = |e| self.error(e);
        let n = number.as_str();
        let follow_ups = sqlx::query(
            "SELECT author, text, at FROM case_follow_ups WHERE case_number = $1 \
             ORDER BY at, id",
        )
        .bind(n)
        .fetch_all(self.pool())
        .await
        .map_err(e)?;
        let calls = sqlx::query(
            "SELECT call_id, opened, linked_at FROM case_calls WHERE case_number = $1 \
             ORDER BY linked_at, call_id",
        )
        .bind(n)
        .fetch_all(self.pool())
        .await
        .map_err(e)?;
        // Who interpreted its calls: legs of ended calls, accepted offers of calls going on.
        let interpreters = sqlx::query(
            "SELECT interpreter_id, MAX(at) AS last FROM ( \
               SELECT l.interpreter_id AS interpreter_id, l.joined_at AS at \
               FROM legs l JOIN case_calls c ON c.call_id = l.call_id \
               WHERE c.case_number = $1 AND l.interpreter_id IS NOT NULL \
               UNION ALL \
               SELECT o.interpreter_id AS interpreter_id, \
                      COALESCE(o.ended_at, o.offered_at, 0) AS at \
               FROM offers o JOIN case_calls c ON c.call_id = o.call_id \
               WHERE c.case_number = $1 AND o.outcome = 'accepted' \
             ) s GROUP BY interpreter_id ORDER BY last DESC, interpreter_id",
        )
        .bind(n)
        .fetch_all(self.pool())
        .await
        .map_err(e)?;
        Ok(Some(CaseFile {
            case,
            follow_ups: follow_ups
                .iter()
                .map(|r| {
                    Ok(FollowUp {
                        author: text(r, "author")?,
                        text: text(r, "text")?,
                        at: time(r, "at")?,
                    })
                })
                .collect::<Result<_, StoreError>>()?,
            calls: calls
                .iter()
                .map(|r| {
                    Ok(CaseCall {
                        call_id: CallId::parse(&text(r, "call_id")?)
                            .map_err(|e| corrupt("call_id", e))?,
                        opened: r
                            .try_get::<i64, _>("opened")
                            .map_err(|e| corrupt("opened", e))?
                            != 0,
                        linked_at: time(r, "linked_at")?,
                    })
                })
                .collect::<Result<_, StoreError>>()?,
            interpreters: interpreters
                .iter()
                .map(|r| {
                    InterpreterId::parse(&text(r, "interpreter_id")?)
                        .map_err(|e| corrupt("interpreter_id", e))
                })
                .collect::<Result<_, StoreError>>()?,
        }))
    }

    pub(super) async fn edit_case_sql(
        &self,
        number: &CaseNumber,
        edit: &CaseEdit,
        by: &str,
        at: Millis,
    ) -> Result<CaseEdited, StoreError> {
        for _ in 0..EDIT_TRIES {
            let Some(stored) = self.case_row(number).await? else {
                return Ok(CaseEdited::NotFound);
            };
            let mut case = stored.clone();
            if let Err(refused) = edit.apply(&mut case) {
                return Ok(CaseEdited::Refused(refused));
            }
            // Written only if the status and department it was checked against still stand.
            let done = sqlx::query(
                "UPDATE cases SET notes = $1, category = $2, department = $3, status = $4, \
                 updated_at = $5, updated_by = $6 \
                 WHERE number = $7 AND status = $8 AND department = $9",
            )
            .bind(&case.notes)
            .bind(&case.category)
            .bind(&case.department)
            .bind(case.status.as_str())
            .bind(ms(at.max(stored.updated_at)))
            .bind(by)
            .bind(number.as_str())
            .bind(stored.status.as_str())
            .bind(&stored.department)
            .execute(self.pool())
            .await
            .map_err(|e| self.error(e))?;
            if done.rows_affected() == 1 {
                return match self.case_sql(number).await? {
                    Some(file) => Ok(CaseEdited::Edited(Box::new(file))),
                    None => Ok(CaseEdited::NotFound),
                };
            }
        }
        Err(StoreError::Unavailable(
            "the case kept changing under this edit; try again".into(),
        ))
    }

    pub(super) async fn add_follow_up_sql(
        &self,
        number: &CaseNumber,
        entry: &FollowUp,
    ) -> Result<Option<CaseFile>, StoreError> {
        let e = |e| self.error(e);
        let mut tx = self.pool().begin().await.map_err(e)?;
        let touched = sqlx::query(
            "UPDATE cases SET updated_at = $1, updated_by = $2 \
             WHERE number = $3 AND updated_at <= $1",
        )
        .bind(ms(entry.at))
        .bind(&entry.author)
        .bind(number.as_str())
        .execute(&mut *tx)
        .await
        .map_err(e)?;
        if touched.rows_affected() == 0 && self.case_row(number).await?.is_none() {
            return Ok(None);
        }
        sqlx::query(
            "INSERT INTO case_follow_ups (id, case_number, author, text, at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(format!("{:032x}", rand::random::<u128>()))
        .bind(number.as_str())
        .bind(&entry.author)
        .bind(&entry.text)
        .bind(ms(entry.at))
        .execute(&mut *tx)
        .await
        .map_err(e)?;
        tx.commit().await.map_err(e)?;
        self.case_sql(number).await
    }

    pub(super) async fn case_counts_sql(&self, since: Millis) -> Result<CaseCounts, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS opened, \
             COALESCE(SUM(CASE WHEN status = 'resolved' THEN 1 ELSE 0 END), 0) AS resolved \
             FROM cases WHERE created_at >= $1",
        )
        .bind(ms(since))
        .fetch_one(self.pool())
        .await
        .map_err(|e| self.error(e))?;
        let count = |name: &str| -> Result<u64, StoreError> {
            let n: i64 = row.try_get(name).map_err(|e| self.error(e))?;
            Ok(u64::try_from(n).unwrap_or(0))
        };
        Ok(CaseCounts {
            opened: count("opened")?,
            resolved: count("resolved")?,
        })
    }

    pub(super) async fn cases_sql(&self, q: &CaseQuery) -> Result<Vec<Case>, StoreError> {
        let mut sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE created_at >= $1");
        if q.status.is_some() {
            sql.push_str(" AND status = $3");
        }
        sql.push_str(" ORDER BY updated_at DESC, number DESC LIMIT $2");
        let mut query = sqlx::query(&sql)
            .bind(ms(q.since.unwrap_or(0)))
            .bind(i64::from(q.limit.min(LIST_MAX)));
        if let Some(s) = q.status {
            query = query.bind(s.as_str());
        }
        let rows = query
            .fetch_all(self.pool())
            .await
            .map_err(|e| self.error(e))?;
        rows.iter().map(case_of).collect()
    }
}

fn number(r: &AnyRow, col: &str) -> Result<CaseNumber, StoreError> {
    CaseNumber::parse(&text(r, col)?).map_err(|e| corrupt(col, e))
}

fn case_of(r: &AnyRow) -> Result<Case, StoreError> {
    let status = text(r, "status")?;
    Ok(Case {
        number: number(r, "number")?,
        call_id: CallId::parse(&text(r, "call_id")?).map_err(|e| corrupt("call_id", e))?,
        language: language(r, "language")?,
        operator: text(r, "operator")?,
        notes: text(r, "notes")?,
        category: text(r, "category")?,
        department: text(r, "department")?,
        status: CaseStatus::parse(&status).ok_or_else(|| corrupt("status", status))?,
        created_at: time(r, "created_at")?,
        updated_at: time(r, "updated_at")?,
        updated_by: text(r, "updated_by")?,
    })
}
