//! The interpreter pool: profiles, presence, status and offers, the source of truth that every
//! dispatcher on every node shares. `RedisPool` is the production store, `MemoryPool` the embedded
//! default and unit-test helper; both obey one contract (tests/pool_contract.rs).
//!
//! Contract, for both implementations:
//! - Time is passed in (`now`, Unix ms); nothing here reads a clock.
//! - `claim` takes the first of the caller's ordered candidates that is eligible *at that moment*
//!   (status available, not in wrap-up, heartbeat within the presence TTL, speaks the language) and
//!   marks it offered with a deadline, atomically. An interpreter is never in two live offers.
//! - Every offer transition (`claim`, `respond`, `cancel`, `release`, and expiry by `sweep`) is
//!   idempotent on the client-generated `OfferId`: repeating a call returns the first call's result
//!   and changes nothing more. An offer ends exactly once: accepted → released, or declined,
//!   expired or cancelled.
//! - An accept after the deadline is refused (`TooLate`) and the offer expires.
//! - `sweep` expires offers past their deadline; after `max_missed` consecutive expiries an
//!   interpreter is paused instead of made available again.
//! - Nodes hold leases; what a node whose lease expired held is freed by `sweep_lost`, exactly
//!   once (the contract of node leases, call records and recovery is in `recovery.rs`).

pub mod keys;
pub mod link;
mod memory;
mod recovery;
mod redis;
mod redis_codec;

pub use self::redis::{RedisPool, UNREPLICATED_WRITES};
pub use memory::MemoryPool;
pub use recovery::{
    CallRecord, Engagement, ForcedEnd, ForcedRelease, LeaseRenewal, NodeLease, NodeSummary,
    Recovered, ADMIN_END_CALL, NODE_LOST,
};

use crate::domain::{CallId, InterpreterId, InterpreterProfile, Language, Millis, NodeId, OfferId};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// One UTC day; `calls_today` counts per day number `now / DAY_MS`.
/// Which store holds the pool: the embedded memory (one node) or Redis (any number of nodes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolKind {
    Memory,
    Redis,
}

impl PoolKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PoolKind::Memory => "memory",
            PoolKind::Redis => "redis",
        }
    }
}

impl std::fmt::Display for PoolKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

pub const DAY_MS: Millis = 86_400_000;
/// How long an ended offer is remembered (idempotent repeats, `offer` look-ups). `MemoryPool`
/// forgets older ones in `sweep`; `RedisPool` gives an ended offer's key this lifetime.
pub const ENDED_OFFER_KEPT_MS: Millis = DAY_MS;

pub use crate::domain::pool_state::{
    Availability, ClaimRequest, Expired, InterpreterState, Offer, OfferState, Status,
};
pub use crate::domain::EventKind;

/// An audit event, appended to the pool's event stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolEvent {
    pub kind: EventKind,
    pub at: Millis,
    pub call_id: Option<CallId>,
    pub interpreter: Option<InterpreterId>,
    pub language: Option<Language>,
    pub offer_id: Option<OfferId>,
    /// Free-form detail (e.g. time to interpreter in ms).
    #[serde(default)]
    pub detail: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("interpreter {0} is not in the pool")]
    UnknownInterpreter(InterpreterId),
    #[error("offer {0} is not known")]
    UnknownOffer(OfferId),
    #[error("offer {0} belongs to another interpreter")]
    NotYours(OfferId),
    #[error("offer {0} expired before it was answered")]
    TooLate(OfferId),
    #[error("offer {offer} already ended as {state:?}")]
    AlreadyEnded { offer: OfferId, state: OfferState },
    #[error("interpreter {0} is on a call or has a live offer; finish it first")]
    Engaged(InterpreterId),
    #[error("the pool store is unreachable: {0}")]
    Unavailable(String),
    #[error("the pool store returned data it cannot read: {0}")]
    Corrupt(String),
}

#[async_trait]
pub trait InterpreterPool: Send + Sync + 'static {
    /// Store is reachable (for `/readyz`).
    async fn ping(&self) -> Result<(), PoolError>;

    // --- profiles ---
    /// Inserts or replaces a profile, keeping its live state. A `None` token hash keeps the stored
    /// one (a roster import never wipes a token a university issued).
    async fn upsert(&self, profile: &InterpreterProfile) -> Result<(), PoolError>;
    /// Removes a profile and its state. Refused with `Engaged` while offered or busy.
    async fn remove(&self, id: &InterpreterId) -> Result<bool, PoolError>;
    async fn profile(&self, id: &InterpreterId) -> Result<Option<InterpreterProfile>, PoolError>;
    async fn profiles(&self) -> Result<Vec<InterpreterProfile>, PoolError>;

    // --- presence and status ---
    async fn heartbeat(
        &self,
        id: &InterpreterId,
        now: Millis,
    ) -> Result<InterpreterState, PoolError>;
    /// Available / paused / offline, as the interpreter chooses (also refreshes presence).
    /// Refused with `Engaged` while offered or busy.
    async fn set_availability(
        &self,
        id: &InterpreterId,
        to: Availability,
        now: Millis,
    ) -> Result<InterpreterState, PoolError>;
    async fn state(
        &self,
        id: &InterpreterId,
        now: Millis,
    ) -> Result<Option<InterpreterState>, PoolError>;
    /// Everyone who speaks `language`, with live state (the dispatcher's snapshot).
    async fn states_for(
        &self,
        language: Language,
        now: Millis,
    ) -> Result<Vec<InterpreterState>, PoolError>;

    // --- offers ---
    /// `None` when no candidate is eligible. Repeating with the same offer id returns the same offer.
    async fn claim(&self, req: &ClaimRequest) -> Result<Option<Offer>, PoolError>;
    /// Accept or decline by the offered interpreter. Accept → busy; decline → available.
    async fn respond(
        &self,
        offer: &OfferId,
        by: &InterpreterId,
        accept: bool,
        now: Millis,
    ) -> Result<OfferState, PoolError>;
    /// Withdraws a pending offer (another accepted, or the request ended). Returns the offer's
    /// final state: `Cancelled`, or how it had already ended (e.g. `Accepted`, then release it).
    async fn cancel(&self, offer: &OfferId, now: Millis) -> Result<OfferState, PoolError>;
    /// Ends an accepted offer's call for the interpreter: busy → wrap-up until `now + wrap_up_ms`.
    async fn release(
        &self,
        offer: &OfferId,
        now: Millis,
        wrap_up_ms: u64,
    ) -> Result<OfferState, PoolError>;
    /// Expires every pending offer whose deadline is ≤ `now`.
    async fn sweep(&self, now: Millis, max_missed: u32) -> Result<Vec<Expired>, PoolError>;
    async fn offer(&self, offer: &OfferId) -> Result<Option<(Offer, OfferState)>, PoolError>;

    // --- nodes: leases, call records, recovery (contract in recovery.rs) ---
    /// Renews `node`'s lease until `now + ttl_ms` (takes one if it holds none).
    async fn renew_lease(
        &self,
        node: NodeId,
        now: Millis,
        ttl_ms: u64,
    ) -> Result<LeaseRenewal, PoolError>;
    /// Every lease not yet swept (expired ones included), by node id.
    async fn leases(&self) -> Result<Vec<NodeLease>, PoolError>;
    /// Publishes what `summary.node` holds now (replacing its last summary), for every node's
    /// big screen; it counts until `summary.expires_at`.
    async fn publish_summary(&self, summary: &NodeSummary) -> Result<(), PoolError>;
    /// Every node's latest summary that has not run out by `now`, by node id (run-out ones are
    /// dropped).
    async fn summaries(&self, now: Millis) -> Result<Vec<NodeSummary>, PoolError>;
    /// Records a live call held by `node`. Idempotent: a known call is left as it is.
    async fn call_opened(
        &self,
        call: &CallId,
        node: NodeId,
        token_sha256: &str,
        now: Millis,
    ) -> Result<(), PoolError>;
    /// Ends a call's record; a repeat keeps the first end. `None` when the call is not recorded.
    async fn call_ended(
        &self,
        call: &CallId,
        now: Millis,
        why: &str,
    ) -> Result<Option<CallRecord>, PoolError>;
    async fn call_record(&self, call: &CallId) -> Result<Option<CallRecord>, PoolError>;
    /// Frees what every node whose lease expired by `now` held; returns what it recovered.
    async fn sweep_lost(&self, now: Millis) -> Result<Vec<Recovered>, PoolError>;
    /// Interpreters offered or busy, with their offer, call and node (the administrator's view).
    async fn engagements(&self) -> Result<Vec<Engagement>, PoolError>;
    /// Frees an interpreter whatever holds them (administrator `by`, audited).
    async fn force_release(
        &self,
        id: &InterpreterId,
        now: Millis,
        by: &str,
    ) -> Result<ForcedRelease, PoolError>;
    /// Ends a call's record and frees every interpreter its node's offers hold for it
    /// (administrator `by`, audited). `None` when the call is not recorded.
    async fn force_end_call(
        &self,
        call: &CallId,
        now: Millis,
        by: &str,
    ) -> Result<Option<ForcedEnd>, PoolError>;

    // --- audit ---
    async fn record(&self, event: &PoolEvent) -> Result<(), PoolError>;
    /// The newest `limit` events, oldest first.
    async fn recent_events(&self, limit: usize) -> Result<Vec<PoolEvent>, PoolError>;
}
