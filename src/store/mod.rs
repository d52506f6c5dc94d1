//! The record: what happened on every call, kept in SQL, an embedded SQLite file by default and
//! PostgreSQL when several nodes share one. `SqlStore` is the one implementation, over sqlx's
//! `Any` driver: the SQL is written once in the dialect both share (`$n` parameters, `BIGINT`
//! Unix ms, `ON CONFLICT` upserts), and the migrations in `migrations/` run on both.
//!
//! Contract (tests/store_contract.rs holds both backends to it):
//! - `write` applies a batch in one transaction: all of it or nothing.
//! - Every write is idempotent: a batch written again (its commit's answer was lost) changes
//!   nothing more, so a writer may repeat any batch it is not sure of.
//! - An offer ends once: the first outcome written stays. An end written before its offer (two
//!   nodes' events) is kept, and the offer fills in around it.
//! - A call written again replaces its row and its legs; a rating is kept once per call.
//! - Nothing here reads a clock; times are Unix ms, as recorded.
//! - `calls_created` sees a call once its end is written, with every offer, leg and rating
//!   written so far.
//!
//! Reports (domain/report.rs defines each figure): read-only, over calls created (legs joined,
//! for interpreter minutes) in the scope's range, grouped on the hotline's clock; a call's
//! report figures are those of its last written row and every offer written for it.
//!
//! Cases (written directly, not through the writer's queue: an operator waits for the answer):
//! - A call opens one case at most: opening it again returns the one it opened.
//! - Case numbers are the day (YYMMDD, given by the caller of `open_case`) and that day's next
//!   sequence, taken in the opening transaction: unique across nodes sharing the database.
//! - An edit is checked against the case as stored, in the transaction that writes it (status
//!   only forward, passing on names a department); a refused edit changes nothing.
//! - A call linked to a case stays in it; linking it again changes nothing.
//!
//! Recordings (written through the queue, `Record::Recording`, once when a leg's file starts and
//! again when it ends): the end and size, once written, stay; listed per call in the order they
//! started; the retention sweep reads the oldest and deletes them by id (deleting an id that is
//! gone changes nothing).
//!
//! Callback requests (written directly too: the caller waits for the answer):
//! - A call leaves one request at most: leaving it again returns the first, unchanged.
//! - A request goes from open to done once; marking it done again keeps who and when first.
//! - Lists are oldest first (the caller who asked first is called first).

mod callbacks;
mod cases;
mod recordings;
mod reports;
mod sql;
mod write;

pub use callbacks::CALLBACK_LIST_MAX;
pub use cases::{CaseCounts, CaseEdited, CaseQuery, NewCase};
pub use sql::{SqlStore, StoreKind};
pub use write::wait_ms;

use crate::domain::report::{DemandRow, Grouping, MinutesRow, ReportScope, StarsRow, WaitingRow};
use crate::domain::{
    CallDigest, CallId, CallSummary, CallbackRequest, CallbackStatus, CaseEdit, CaseFile,
    CaseNumber, FollowUp, InterpreterId, Language, Millis, OfferId, OfferOutcome, OfferRecord,
    Rating, Recording,
};
use async_trait::async_trait;

/// One thing to write to the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A call ended, with its legs.
    Call(CallSummary),
    /// An interpreter was rung for a call.
    Offered {
        offer: OfferId,
        call: CallId,
        interpreter: InterpreterId,
        language: Option<Language>,
        at: Millis,
    },
    /// An offer ended. Without its id, the one ringing `interpreter` for `call` (an interpreter
    /// is never in two live offers).
    OfferEnded {
        offer: Option<OfferId>,
        call: CallId,
        interpreter: InterpreterId,
        outcome: OfferOutcome,
        at: Millis,
    },
    /// The caller rated the call.
    Rated { call: CallId, rating: Rating },
    /// A leg's recording started or ended.
    Recording(Recording),
}

/// Everything the record holds about one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallHistory {
    /// `None` until the call has ended (its offers may be recorded before).
    pub call: Option<CallSummary>,
    /// In the order they were made.
    pub offers: Vec<OfferRecord>,
    pub rating: Option<Rating>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or is not taking writes now; worth trying again.
    #[error("the record store is unreachable: {0}")]
    Unavailable(String),
    /// The database refused this write; trying it again will not help.
    #[error("the record store refused the write: {0}")]
    Rejected(String),
    #[error("the record store's database URL is not usable: {0}")]
    Url(String),
    #[error("the record store returned data it cannot read: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether the same write may succeed later (the database is down or busy).
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

#[async_trait]
pub trait RecordStore: Send + Sync + 'static {
    /// Creates or updates the tables (idempotent; every node runs it at start).
    async fn migrate(&self) -> Result<(), StoreError>;
    /// Writes a batch in one transaction (contract above).
    async fn write(&self, batch: &[Record]) -> Result<(), StoreError>;
    /// What the record holds about `call`; `None` when it holds nothing.
    async fn call(&self, call: &CallId) -> Result<Option<CallHistory>, StoreError>;
    /// Every ended call created in `[from, to)`, oldest first, with when its first interpreter
    /// joined, how many offers were made for it and its rating (the dashboard's day).
    async fn calls_created(&self, from: Millis, to: Millis) -> Result<Vec<CallDigest>, StoreError>;

    // Cases (contract above). A store that keeps no cases (a test double) refuses them.

    /// Opens the case of `new.call`, or returns the one it opened already.
    async fn open_case(&self, new: &NewCase) -> Result<CaseFile, StoreError> {
        let _ = new;
        Err(no_cases())
    }
    /// Links a later `call` to case `number`; `None` when there is no such case. A call already
    /// in a case stays there (its case is returned).
    async fn link_call(
        &self,
        number: &CaseNumber,
        call: &CallId,
        at: Millis,
    ) -> Result<Option<CaseFile>, StoreError> {
        let _ = (number, call, at);
        Err(no_cases())
    }
    async fn case(&self, number: &CaseNumber) -> Result<Option<CaseFile>, StoreError> {
        let _ = number;
        Err(no_cases())
    }
    /// The case `call` opened or was linked to.
    async fn case_of_call(&self, call: &CallId) -> Result<Option<CaseFile>, StoreError> {
        let _ = call;
        Err(no_cases())
    }
    /// Applies `edit` by operator `by` at `at`, if the case's rules allow it.
    async fn edit_case(
        &self,
        number: &CaseNumber,
        edit: &CaseEdit,
        by: &str,
        at: Millis,
    ) -> Result<CaseEdited, StoreError> {
        let _ = (number, edit, by, at);
        Err(no_cases())
    }
    /// Adds a follow-up entry; `None` when there is no such case.
    async fn add_follow_up(
        &self,
        number: &CaseNumber,
        entry: &FollowUp,
    ) -> Result<Option<CaseFile>, StoreError> {
        let _ = (number, entry);
        Err(no_cases())
    }
    /// Cases opened at or after `since`, and how many of them are resolved (the dashboard's
    /// cases today and resolution rate).
    async fn case_counts(&self, since: Millis) -> Result<CaseCounts, StoreError> {
        let _ = since;
        Err(no_cases())
    }
    /// Cases matching `query`, the most recently changed first.
    async fn cases(&self, query: &CaseQuery) -> Result<Vec<crate::domain::Case>, StoreError> {
        let _ = query;
        Err(no_cases())
    }

    // Callback requests (contract above). A store that keeps none (a test double) refuses them.

    /// Keeps `req` (its status, done_at and done_by are ignored: a new request is open), or
    /// returns the request its call left already.
    async fn request_callback(&self, req: &CallbackRequest) -> Result<CallbackRequest, StoreError> {
        let _ = req;
        Err(no_callbacks())
    }
    /// Requests with `status` (any when `None`), oldest first, at most `limit` (capped at
    /// `CALLBACK_LIST_MAX`).
    async fn callbacks(
        &self,
        status: Option<CallbackStatus>,
        limit: u32,
    ) -> Result<Vec<CallbackRequest>, StoreError> {
        let _ = (status, limit);
        Err(no_callbacks())
    }
    /// Marks the request of `call` done by operator `by` at `at`; `None` when there is none.
    async fn callback_done(
        &self,
        call: &CallId,
        by: &str,
        at: Millis,
    ) -> Result<Option<CallbackRequest>, StoreError> {
        let _ = (call, by, at);
        Err(no_callbacks())
    }

    // Reports (contract above). A store that keeps no reports (a test double) refuses them.

    /// Waiting figures per group: time to interpreter, service level, abandonment.
    async fn waiting(
        &self,
        scope: &ReportScope,
        by: Grouping,
    ) -> Result<Vec<WaitingRow>, StoreError> {
        let _ = (scope, by);
        Err(no_reports())
    }
    /// Ratings per language and number of stars.
    async fn stars(&self, scope: &ReportScope) -> Result<Vec<StarsRow>, StoreError> {
        let _ = scope;
        Err(no_reports())
    }
    /// Interpreters' time in calls per interpreter and local month.
    async fn interpreter_minutes(
        &self,
        scope: &ReportScope,
    ) -> Result<Vec<MinutesRow>, StoreError> {
        let _ = scope;
        Err(no_reports())
    }
    /// Calls per language and hour of the week, with the time callers waited for interpreters.
    async fn demand(&self, scope: &ReportScope) -> Result<Vec<DemandRow>, StoreError> {
        let _ = scope;
        Err(no_reports())
    }

    // Recordings (contract above). A store that keeps none refuses them.

    /// The recordings of `call`, in the order they started.
    async fn recordings_of_call(&self, call: &CallId) -> Result<Vec<Recording>, StoreError> {
        let _ = call;
        Err(no_recordings())
    }
    async fn recording(&self, id: &str) -> Result<Option<Recording>, StoreError> {
        let _ = id;
        Err(no_recordings())
    }
    /// At most `limit` recordings started before `before`, the oldest first.
    async fn recordings_started_before(
        &self,
        before: Millis,
        limit: u32,
    ) -> Result<Vec<Recording>, StoreError> {
        let _ = (before, limit);
        Err(no_recordings())
    }
    /// Forgets these recordings (their files are the sweep's to delete).
    async fn delete_recordings(&self, ids: &[String]) -> Result<(), StoreError> {
        let _ = ids;
        Err(no_recordings())
    }
}

fn no_reports() -> StoreError {
    StoreError::Rejected("this store makes no reports".into())
}

fn no_recordings() -> StoreError {
    StoreError::Rejected("this store keeps no recordings".into())
}

fn no_callbacks() -> StoreError {
    StoreError::Rejected("this store keeps no callback requests".into())
}

fn no_cases() -> StoreError {
    StoreError::Rejected("this store keeps no cases".into())
}
