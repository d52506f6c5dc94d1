//! One interpretation request's bookkeeping inside the engine: its live offers, what has been
//! tried, where it stands in the queue. Data only; the decisions are the `Dispatcher`'s.

use super::types::{NewRequest, Phase, RequestState};
use crate::domain::{CallId, InterpreterId, Language, Millis, OfferId};
use std::cmp::Reverse;
use std::collections::HashSet;

#[derive(Debug)]
pub(super) struct LiveOffer {
    pub(super) id: OfferId,
    /// `None` while the claim is in flight.
    pub(super) interpreter: Option<InterpreterId>,
    pub(super) deadline: Millis,
    pub(super) sweep_asked: bool,
    pub(super) withdrawn: bool,
}

#[derive(Debug)]
pub(super) struct Request {
    pub(super) call: CallId,
    pub(super) language: Language,
    pub(super) priority: u8,
    /// Rung first at the next look, then forgotten (`NewRequest::preferred`).
    pub(super) preferred: Option<InterpreterId>,
    pub(super) requested_at: Millis,
    pub(super) seq: u64,
    pub(super) state: RequestState,
    pub(super) phase: Phase,
    /// Offered in the current phase; cleared when the request escalates.
    pub(super) tried: HashSet<InterpreterId>,
    pub(super) offers: Vec<LiveOffer>,
    pub(super) accepted: Option<(OfferId, InterpreterId)>,
    pub(super) position: Option<usize>,
    /// `None` once escalated or accepted.
    pub(super) escalate_at: Option<Millis>,
    pub(super) attempts: u32,
}

impl Request {
    pub(super) fn new(r: NewRequest, now: Millis, seq: u64, escalate_after: u64) -> Self {
        Self {
            call: r.call,
            language: r.language,
            priority: r.priority,
            preferred: r.preferred,
            requested_at: now,
            seq,
            state: RequestState::Searching,
            phase: Phase::Direct,
            tried: HashSet::new(),
            offers: Vec::new(),
            accepted: None,
            position: None,
            escalate_at: Some(now.saturating_add(escalate_after)),
            attempts: 0,
        }
    }

    /// Wants more offers than it has live (an accepted request wants none).
    pub(super) fn wants_offers(&self, k: usize) -> bool {
        self.state != RequestState::Accepted && self.offers.len() < k
    }

    pub(super) fn serve_key(&self) -> (Reverse<u8>, Millis, u64) {
        (Reverse(self.priority), self.requested_at, self.seq)
    }
}
