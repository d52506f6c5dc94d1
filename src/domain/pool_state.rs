//! An interpreter's live state as the pool keeps it (status, availability, missed offers) and
//! the offers that ring them: plain data, shared by the dispatch engine, the pool's stores and
//! the wire protocol. The pool re-exports them.

use super::{CallId, InterpreterId, Language, Millis, NodeId, OfferId};
use serde::{Deserialize, Serialize};

/// An interpreter's live status. `WrapUp` is reported while a released interpreter's wrap-up time
/// runs; it becomes `Available` by itself when that time has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Offline,
    Available,
    Offered,
    Busy,
    WrapUp,
    Paused,
}

/// What an interpreter may set for themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Available,
    Paused,
    Offline,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterpreterState {
    pub id: InterpreterId,
    pub status: Status,
    /// Last heartbeat; 0 when never seen.
    pub last_seen: Millis,
    /// Since when the interpreter has been idle; in the future during wrap-up.
    pub idle_since: Millis,
    /// The live offer or accepted call, if any.
    pub offer: Option<OfferId>,
    pub call: Option<CallId>,
    /// Consecutive offers that expired unanswered.
    pub missed: u32,
    /// Calls accepted since the pool's day began (UTC midnight).
    pub calls_today: u32,
}

impl InterpreterState {
    /// Present = heartbeat within `ttl_ms` of `now`.
    pub fn present(&self, now: Millis, ttl_ms: u64) -> bool {
        self.last_seen.saturating_add(ttl_ms) >= now && self.last_seen > 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRequest {
    pub offer_id: OfferId,
    /// The node making the offer (it holds the call); freed by `sweep_lost` if the node is lost.
    pub node: NodeId,
    pub call_id: CallId,
    pub language: Language,
    /// Preference order decided by the dispatch engine; `claim` takes the first eligible one.
    pub candidates: Vec<InterpreterId>,
    pub now: Millis,
    pub deadline: Millis,
    pub presence_ttl_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub id: OfferId,
    pub call_id: CallId,
    pub interpreter: InterpreterId,
    pub language: Language,
    pub created: Millis,
    pub deadline: Millis,
}

/// Where an offer ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferState {
    Pending,
    Accepted,
    Declined,
    Expired,
    Cancelled,
    Released,
}

/// Result of an expiry found by `sweep`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expired {
    pub offer: Offer,
    /// The interpreter reached `max_missed` and was paused.
    pub paused: bool,
}
