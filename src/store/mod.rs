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

mod sql;

pub use sql::{SqlStore, StoreKind};

use crate::domain::{
    CallDigest, CallId, CallSummary, InterpreterId, Language, Millis, OfferId, OfferOutcome,
    OfferRecord, Rating,
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
}
