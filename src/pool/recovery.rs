//! What the pool knows about nodes and what they hold: node leases, call records, what a sweep of
//! lost nodes recovered, and the administrator's view and forced releases. Plain types; the
//! transitions are the pool implementations'.
//!
//! Contract, for both implementations (time passed in, as everywhere in the pool):
//! - A node's lease runs until `now + ttl` of its last `renew_lease`; it is alive while
//!   `now < expires_at`. Every offer records the node that made it (`ClaimRequest::node`) and
//!   every live call the node that holds it (`call_opened`).
//! - `sweep_lost` takes every node whose lease expired, exactly once (a repeat finds nothing):
//!   its pending offers are cancelled and its accepted ones released, the interpreter available
//!   again at once (no wrap-up: the call is gone); its live calls are ended (`why` =
//!   [`NODE_LOST`]); each with an audit event of kind [`NODE_LOST`]. Then the node has no lease.
//! - A node swept while it was in fact alive finds out at its next `renew_lease` (`Started`).
//! - `force_release` and `force_end_call` are the administrator's: they free what they name
//!   whatever holds it, and write an audit event naming who did it.

use crate::domain::{CallId, EventKind, InterpreterId, Language, Millis, NodeId, OfferId};
use serde::{Deserialize, Serialize};

use super::{Offer, OfferState, Status};

/// Call end reason of a call a sweep recovered from a lost node (its audit events are of kind
/// `EventKind::NodeLost`, named the same).
pub const NODE_LOST: &str = EventKind::NodeLost.as_str();
/// Call end reason of a call ended by an administrator (`EventKind::AdminEndCall`).
pub const ADMIN_END_CALL: &str = EventKind::AdminEndCall.as_str();

/// What `renew_lease` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaseRenewal {
    /// The node held a lease (perhaps expired, but not yet swept); it runs on.
    Renewed,
    /// The node held none: its first renewal, or it was swept as lost meanwhile.
    Started,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeLease {
    pub node: NodeId,
    pub expires_at: Millis,
}

/// What one node holds now, for every node's big screen: its calls waiting for an operator and
/// its answered calls in progress, per language (`None`: not known yet). Published by the node's
/// dashboard feed; it runs out at `expires_at`, so a node that stops leaves no stale figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSummary {
    pub node: NodeId,
    pub expires_at: Millis,
    pub waiting: Vec<(Option<Language>, u32)>,
    pub live: Vec<(Option<Language>, u32)>,
}

impl NodeLease {
    pub fn alive(&self, now: Millis) -> bool {
        now < self.expires_at
    }
}

/// A call as the pool records it for its node (the call itself lives in that node's memory).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    pub call: CallId,
    pub node: NodeId,
    pub created: Millis,
    /// SHA-256 hex of the caller token, so another node can recognise the caller.
    pub token_sha256: String,
    /// `None` while live.
    pub ended: Option<Millis>,
    /// Why it ended (`hung_up`, [`NODE_LOST`], [`ADMIN_END_CALL`], …); empty while live.
    pub why: String,
}

/// One thing a sweep took back from a lost node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum Recovered {
    /// An offer the node had made; `was` is `Pending` (now cancelled) or `Accepted` (now
    /// released). Its interpreter is available again.
    Offer {
        node: NodeId,
        offer: Offer,
        was: OfferState,
    },
    /// A live call the node held, now ended.
    Call { node: NodeId, call: CallId },
}

/// An interpreter held by an offer or a call, as an administrator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Engagement {
    pub interpreter: InterpreterId,
    /// `Offered` or `Busy`.
    pub status: Status,
    pub offer: Option<OfferId>,
    pub offer_state: Option<OfferState>,
    pub call: Option<CallId>,
    pub language: Option<Language>,
    /// The node that made the offer.
    pub node: Option<NodeId>,
    /// When the offer was made, or accepted once it was; 0 when unknown.
    pub since: Millis,
    /// When the node's lease runs out; `None` when it holds none (lost, or unknown).
    pub lease_expires_at: Option<Millis>,
}

impl Engagement {
    /// Whether the node holding this is alive (its lease runs at `now`).
    pub fn node_alive(&self, now: Millis) -> bool {
        self.lease_expires_at.is_some_and(|t| now < t)
    }
}

/// What `force_release` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ForcedRelease {
    /// The interpreter was not offered or busy; nothing changed.
    NotHeld { status: Status },
    /// Freed: their offer (if any) ended (pending → cancelled, accepted → released) and they are
    /// available again.
    Released {
        was: Status,
        offer: Option<OfferId>,
        offer_was: Option<OfferState>,
        call: Option<CallId>,
        node: Option<NodeId>,
    },
}

/// What `force_end_call` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForcedEnd {
    pub node: NodeId,
    /// The record was live (now ended by the administrator); false: it had already ended.
    pub was_live: bool,
    /// Interpreters whose offers for the call ended, with the offer and its state before.
    pub freed: Vec<(InterpreterId, OfferId, OfferState)>,
}
