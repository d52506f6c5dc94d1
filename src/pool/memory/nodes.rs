//! `MemoryPool`'s node leases, call records, recovery of lost nodes and the administrator's forced
//! releases: the same contract as the Redis scripts (`recovery.rs`), over the pool's maps. With
//! one node this is mostly bookkeeping, but it behaves exactly as the shared pool does.

use super::{
    CallId, CallRecord, Engagement, ForcedEnd, ForcedRelease, Inner, InterpreterId, LeaseRenewal,
    Millis, NodeId, NodeLease, Offer, OfferId, OfferState, PoolError, PoolEvent, Recovered, Status,
};
use crate::domain::EventKind;
use crate::pool::{ADMIN_END_CALL, NODE_LOST};

impl Inner {
    pub(super) fn renew_lease(&mut self, node: NodeId, now: Millis, ttl_ms: u64) -> LeaseRenewal {
        match self.leases.insert(node, now.saturating_add(ttl_ms)) {
            Some(_) => LeaseRenewal::Renewed,
            None => LeaseRenewal::Started,
        }
    }

    pub(super) fn leases(&self) -> Vec<NodeLease> {
        self.leases
            .iter()
            .map(|(node, t)| NodeLease {
                node: *node,
                expires_at: *t,
            })
            .collect()
    }

    pub(super) fn call_opened(&mut self, call: &CallId, node: NodeId, token: &str, now: Millis) {
        self.calls
            .entry(call.clone())
            .or_insert_with(|| CallRecord {
                call: call.clone(),
                node,
                created: now,
                token_sha256: token.to_owned(),
                ended: None,
                why: String::new(),
            });
    }

    /// Ends a live record; true if it was live.
    fn end_call(&mut self, call: &CallId, now: Millis, why: &str) -> bool {
        match self.calls.get_mut(call) {
            Some(c) if c.ended.is_none() => {
                c.ended = Some(now);
                c.why = why.to_owned();
                true
            }
            _ => false,
        }
    }

    pub(super) fn call_ended(
        &mut self,
        call: &CallId,
        now: Millis,
        why: &str,
    ) -> Option<CallRecord> {
        self.end_call(call, now, why);
        self.calls.get(call).cloned()
    }

    /// Takes a live offer back from whoever held it (pending → cancelled, accepted → released);
    /// its interpreter, if still theirs, is available at once (idle since `now` after a call).
    fn take_back(&mut self, id: &OfferId, now: Millis) -> Option<(Offer, OfferState)> {
        let e = self.offers.get(id)?;
        let was = e.state;
        if !matches!(was, OfferState::Pending | OfferState::Accepted) {
            return None;
        }
        let offer = e.offer.clone();
        if let Some(live) = self.live.get_mut(&offer.interpreter) {
            if live.offer.as_ref() == Some(id) {
                live.free();
                if was == OfferState::Accepted {
                    live.idle_since = now;
                }
            }
        }
        let to = if was == OfferState::Pending {
            OfferState::Cancelled
        } else {
            OfferState::Released
        };
        self.set_offer(offer.clone(), to, now);
        Some((offer, was))
    }

    /// Live offers `node` made, in id order.
    fn live_offers_of(&self, node: NodeId) -> Vec<OfferId> {
        let mut ids: Vec<OfferId> = self
            .offers
            .values()
            .filter(|e| e.node == node && e.ended.is_none())
            .map(|e| e.offer.id.clone())
            .collect();
        ids.sort();
        ids
    }

    fn event(
        &mut self,
        kind: EventKind,
        now: Millis,
        o: Option<&Offer>,
        call: &CallId,
        detail: String,
    ) {
        self.push_event(PoolEvent {
            kind,
            at: now,
            call_id: Some(call.clone()),
            interpreter: o.map(|o| o.interpreter.clone()),
            language: o.map(|o| o.language),
            offer_id: o.map(|o| o.id.clone()),
            detail,
        });
    }

    pub(super) fn sweep_lost(&mut self, now: Millis) -> Vec<Recovered> {
        let lost: Vec<NodeId> = self
            .leases
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(n, _)| *n)
            .collect();
        let mut out = Vec::new();
        for node in lost {
            let why = format!("node {node} lost its lease; ");
            for id in self.live_offers_of(node) {
                if let Some((offer, was)) = self.take_back(&id, now) {
                    let state = if was == OfferState::Pending {
                        "pending"
                    } else {
                        "accepted"
                    };
                    let detail = format!("{why}{state} offer ended");
                    self.event(
                        EventKind::NodeLost,
                        now,
                        Some(&offer),
                        &offer.call_id,
                        detail,
                    );
                    out.push(Recovered::Offer { node, offer, was });
                }
            }
            let mut calls: Vec<CallId> = self
                .calls
                .values()
                .filter(|c| c.node == node && c.ended.is_none())
                .map(|c| c.call.clone())
                .collect();
            calls.sort();
            for call in calls {
                if self.end_call(&call, now, NODE_LOST) {
                    self.event(
                        EventKind::NodeLost,
                        now,
                        None,
                        &call,
                        format!("{why}call ended"),
                    );
                    out.push(Recovered::Call { node, call });
                }
            }
            self.leases.remove(&node);
        }
        out
    }

    pub(super) fn engagements(&self) -> Vec<Engagement> {
        let mut out: Vec<Engagement> = self
            .live
            .iter()
            .filter(|(_, l)| l.engaged())
            .map(|(id, l)| {
                let entry = l.offer.as_ref().and_then(|o| self.offers.get(o));
                let node = entry.map(|e| e.node);
                Engagement {
                    interpreter: id.clone(),
                    status: l.status,
                    offer: l.offer.clone(),
                    offer_state: entry.map(|e| e.state),
                    call: l.call.clone(),
                    language: entry.map(|e| e.offer.language),
                    node,
                    since: entry.map_or(0, |e| e.accepted.unwrap_or(e.offer.created)),
                    lease_expires_at: node.and_then(|n| self.leases.get(&n).copied()),
                }
            })
            .collect();
        out.sort_by(|a, b| a.interpreter.cmp(&b.interpreter));
        out
    }

    pub(super) fn force_release(
        &mut self,
        id: &InterpreterId,
        now: Millis,
        by: &str,
    ) -> Result<ForcedRelease, PoolError> {
        let live = self
            .live
            .get(id)
            .ok_or_else(|| PoolError::UnknownInterpreter(id.clone()))?;
        if !live.engaged() {
            return Ok(ForcedRelease::NotHeld {
                status: live.status,
            });
        }
        let (was, offer_id, call) = (live.status, live.offer.clone(), live.call.clone());
        let entry = offer_id.as_ref().and_then(|o| self.offers.get(o));
        let node = entry.map(|e| e.node);
        let offer = entry.map(|e| e.offer.clone());
        let offer_was = offer_id
            .as_ref()
            .and_then(|o| self.take_back(o, now))
            .map(|(_, was)| was);
        if let Some(live) = self.live.get_mut(id) {
            live.free();
            live.idle_since = now;
        }
        self.push_event(PoolEvent {
            kind: EventKind::AdminRelease,
            at: now,
            call_id: call.clone(),
            interpreter: Some(id.clone()),
            language: offer.as_ref().map(|o| o.language),
            offer_id: offer_id.clone(),
            detail: format!("by {by}; was {}", status_word(was)),
        });
        Ok(ForcedRelease::Released {
            was,
            offer: offer_id,
            offer_was,
            call,
            node,
        })
    }

    pub(super) fn force_end_call(
        &mut self,
        call: &CallId,
        now: Millis,
        by: &str,
    ) -> Option<ForcedEnd> {
        let record = self.calls.get(call)?;
        let node = record.node;
        let was_live = record.ended.is_none();
        let mut freed = Vec::new();
        for id in self.live_offers_of(node) {
            let of_call = self
                .offers
                .get(&id)
                .is_some_and(|e| &e.offer.call_id == call);
            if !of_call {
                continue;
            }
            if let Some((offer, was)) = self.take_back(&id, now) {
                self.event(
                    EventKind::AdminRelease,
                    now,
                    Some(&offer),
                    call,
                    format!("by {by}; call ended"),
                );
                freed.push((offer.interpreter, offer.id, was));
            }
        }
        if self.end_call(call, now, ADMIN_END_CALL) {
            self.event(EventKind::AdminEndCall, now, None, call, format!("by {by}"));
        }
        Some(ForcedEnd {
            node,
            was_live,
            freed,
        })
    }
}

/// A status as the Redis hash writes it (for audit details that read the same on both pools).
fn status_word(s: Status) -> &'static str {
    match s {
        Status::Offline => "offline",
        Status::Available | Status::WrapUp => "available",
        Status::Offered => "offered",
        Status::Busy => "busy",
        Status::Paused => "paused",
    }
}
