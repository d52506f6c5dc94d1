//! `MemoryPool`: the pool in one process's memory, for the embedded default (one node, nothing
//! survives a restart) and for unit tests. Same contract as `RedisPool`, under one std mutex that
//! is never held across an await.

use super::{
    Availability, CallId, CallRecord, ClaimRequest, Engagement, Expired, ForcedEnd, ForcedRelease,
    InterpreterId, InterpreterPool, InterpreterProfile, InterpreterState, Language, LeaseRenewal,
    NodeId, NodeLease, NodeSummary, Offer, OfferId, OfferState, PoolError, PoolEvent, Recovered,
    Status, DAY_MS,
};
use crate::domain::Millis;
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

mod nodes;
mod offers;

/// Events kept for `recent_events`; older ones are dropped.
const EVENTS_KEPT: usize = 10_000;

#[derive(Debug, Clone)]
struct Live {
    status: Status,
    last_seen: Millis,
    idle_since: Millis,
    offer: Option<OfferId>,
    call: Option<CallId>,
    missed: u32,
    calls_today: u32,
    calls_day: Millis,
}

impl Live {
    fn new() -> Self {
        Self {
            status: Status::Offline,
            last_seen: 0,
            idle_since: 0,
            offer: None,
            call: None,
            missed: 0,
            calls_today: 0,
            calls_day: 0,
        }
    }

    fn view(&self, id: &InterpreterId, now: Millis) -> InterpreterState {
        let status = if self.status == Status::Available && self.idle_since > now {
            Status::WrapUp
        } else {
            self.status
        };
        InterpreterState {
            id: id.clone(),
            status,
            last_seen: self.last_seen,
            idle_since: self.idle_since,
            offer: self.offer.clone(),
            call: self.call.clone(),
            missed: self.missed,
            calls_today: if self.calls_day == now / DAY_MS {
                self.calls_today
            } else {
                0
            },
        }
    }

    fn engaged(&self) -> bool {
        matches!(self.status, Status::Offered | Status::Busy)
    }

    fn free(&mut self) {
        self.status = Status::Available;
        self.offer = None;
        self.call = None;
    }
}

/// An offer, where it stands, and when it ended (`None` while pending or accepted).
#[derive(Debug, Clone)]
struct OfferEntry {
    offer: Offer,
    state: OfferState,
    ended: Option<Millis>,
    /// The node that made it.
    node: NodeId,
    /// When it was accepted, if it was.
    accepted: Option<Millis>,
}

#[derive(Default)]
struct Inner {
    profiles: BTreeMap<InterpreterId, InterpreterProfile>,
    live: HashMap<InterpreterId, Live>,
    offers: HashMap<OfferId, OfferEntry>,
    events: VecDeque<PoolEvent>,
    /// Node leases: when each runs out.
    leases: BTreeMap<NodeId, Millis>,
    calls: HashMap<CallId, CallRecord>,
    summaries: BTreeMap<NodeId, NodeSummary>,
}

#[derive(Default)]
pub struct MemoryPool {
    inner: Mutex<Inner>,
}

impl MemoryPool {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-updated in a way later calls
        // would misread more than losing the whole pool would, so keep serving.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Inner {
    fn live_mut(&mut self, id: &InterpreterId) -> Result<&mut Live, PoolError> {
        self.live
            .get_mut(id)
            .ok_or_else(|| PoolError::UnknownInterpreter(id.clone()))
    }

    fn known_offer(&self, id: &OfferId) -> Result<(Offer, OfferState), PoolError> {
        self.offers
            .get(id)
            .map(|e| (e.offer.clone(), e.state))
            .ok_or_else(|| PoolError::UnknownOffer(id.clone()))
    }

    /// Moves a known offer to `state`; ended states are stamped so `sweep` can forget them later.
    fn set_offer(&mut self, offer: Offer, state: OfferState, now: Millis) {
        let ended = (!matches!(state, OfferState::Pending | OfferState::Accepted)).then_some(now);
        if let Some(e) = self.offers.get_mut(&offer.id) {
            if state == OfferState::Accepted {
                e.accepted = Some(now);
            }
            e.offer = offer;
            e.state = state;
            e.ended = ended;
        }
    }

    fn push_event(&mut self, event: PoolEvent) {
        if self.events.len() == EVENTS_KEPT {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }
}

#[async_trait]
impl InterpreterPool for MemoryPool {
    async fn ping(&self) -> Result<(), PoolError> {
        Ok(())
    }

    async fn upsert(&self, profile: &InterpreterProfile) -> Result<(), PoolError> {
        let mut g = self.lock();
        let mut p = profile.clone();
        if p.token_sha256.is_none() {
            p.token_sha256 = g
                .profiles
                .get(&p.id)
                .and_then(|old| old.token_sha256.clone());
        }
        g.live.entry(p.id.clone()).or_insert_with(Live::new);
        g.profiles.insert(p.id.clone(), p);
        Ok(())
    }

    async fn remove(&self, id: &InterpreterId) -> Result<bool, PoolError> {
        let mut g = self.lock();
        if g.live.get(id).is_some_and(Live::engaged) {
            return Err(PoolError::Engaged(id.clone()));
        }
        g.live.remove(id);
        Ok(g.profiles.remove(id).is_some())
    }

    async fn profile(&self, id: &InterpreterId) -> Result<Option<InterpreterProfile>, PoolError> {
        Ok(self.lock().profiles.get(id).cloned())
    }

    async fn profiles(&self) -> Result<Vec<InterpreterProfile>, PoolError> {
        Ok(self.lock().profiles.values().cloned().collect())
    }

    async fn heartbeat(
        &self,
        id: &InterpreterId,
        now: Millis,
    ) -> Result<InterpreterState, PoolError> {
        let mut g = self.lock();
        let live = g.live_mut(id)?;
        live.last_seen = live.last_seen.max(now);
        Ok(live.view(id, now))
    }

    async fn set_availability(
        &self,
        id: &InterpreterId,
        to: Availability,
        now: Millis,
    ) -> Result<InterpreterState, PoolError> {
        let mut g = self.lock();
        let live = g.live_mut(id)?;
        if live.engaged() {
            return Err(PoolError::Engaged(id.clone()));
        }
        live.last_seen = live.last_seen.max(now);
        match to {
            Availability::Available => {
                if live.status != Status::Available {
                    live.idle_since = live.idle_since.max(now);
                }
                live.status = Status::Available;
                live.missed = 0;
            }
            Availability::Paused => live.status = Status::Paused,
            Availability::Offline => live.status = Status::Offline,
        }
        Ok(live.view(id, now))
    }

    async fn state(
        &self,
        id: &InterpreterId,
        now: Millis,
    ) -> Result<Option<InterpreterState>, PoolError> {
        Ok(self.lock().live.get(id).map(|l| l.view(id, now)))
    }

    async fn states_for(
        &self,
        language: Language,
        now: Millis,
    ) -> Result<Vec<InterpreterState>, PoolError> {
        let g = self.lock();
        Ok(g.profiles
            .values()
            .filter(|p| p.level_in(language).is_some())
            .filter_map(|p| g.live.get(&p.id).map(|l| l.view(&p.id, now)))
            .collect())
    }

    async fn claim(&self, req: &ClaimRequest) -> Result<Option<Offer>, PoolError> {
        self.lock().claim(req)
    }

    async fn respond(
        &self,
        offer: &OfferId,
        by: &InterpreterId,
        accept: bool,
        now: Millis,
    ) -> Result<OfferState, PoolError> {
        self.lock().respond(offer, by, accept, now)
    }

    async fn cancel(&self, offer: &OfferId, now: Millis) -> Result<OfferState, PoolError> {
        self.lock().cancel(offer, now)
    }

    async fn release(
        &self,
        offer: &OfferId,
        now: Millis,
        wrap_up_ms: u64,
    ) -> Result<OfferState, PoolError> {
        self.lock().release(offer, now, wrap_up_ms)
    }

    async fn sweep(&self, now: Millis, max_missed: u32) -> Result<Vec<Expired>, PoolError> {
        self.lock().sweep(now, max_missed)
    }

    async fn offer(&self, offer: &OfferId) -> Result<Option<(Offer, OfferState)>, PoolError> {
        Ok(self
            .lock()
            .offers
            .get(offer)
            .map(|e| (e.offer.clone(), e.state)))
    }

    async fn renew_lease(
        &self,
        node: NodeId,
        now: Millis,
        ttl_ms: u64,
    ) -> Result<LeaseRenewal, PoolError> {
        Ok(self.lock().renew_lease(node, now, ttl_ms))
    }

    async fn leases(&self) -> Result<Vec<NodeLease>, PoolError> {
        Ok(self.lock().leases())
    }

    async fn publish_summary(&self, summary: &NodeSummary) -> Result<(), PoolError> {
        self.lock().summaries.insert(summary.node, summary.clone());
        Ok(())
    }

    async fn summaries(&self, now: Millis) -> Result<Vec<NodeSummary>, PoolError> {
        let mut inner = self.lock();
        inner.summaries.retain(|_, s| s.expires_at > now);
        Ok(inner.summaries.values().cloned().collect())
    }

    async fn call_opened(
        &self,
        call: &CallId,
        node: NodeId,
        token_sha256: &str,
        now: Millis,
    ) -> Result<(), PoolError> {
        self.lock().call_opened(call, node, token_sha256, now);
        Ok(())
    }

    async fn call_ended(
        &self,
        call: &CallId,
        now: Millis,
        why: &str,
    ) -> Result<Option<CallRecord>, PoolError> {
        Ok(self.lock().call_ended(call, now, why))
    }

    async fn call_record(&self, call: &CallId) -> Result<Option<CallRecord>, PoolError> {
        Ok(self.lock().calls.get(call).cloned())
    }

    async fn sweep_lost(&self, now: Millis) -> Result<Vec<Recovered>, PoolError> {
        Ok(self.lock().sweep_lost(now))
    }

    async fn engagements(&self) -> Result<Vec<Engagement>, PoolError> {
        Ok(self.lock().engagements())
    }

    async fn force_release(
        &self,
        id: &InterpreterId,
        now: Millis,
        by: &str,
    ) -> Result<ForcedRelease, PoolError> {
        self.lock().force_release(id, now, by)
    }

    async fn force_end_call(
        &self,
        call: &CallId,
        now: Millis,
        by: &str,
    ) -> Result<Option<ForcedEnd>, PoolError> {
        Ok(self.lock().force_end_call(call, now, by))
    }

    async fn record(&self, event: &PoolEvent) -> Result<(), PoolError> {
        self.lock().push_event(event.clone());
        Ok(())
    }

    async fn recent_events(&self, limit: usize) -> Result<Vec<PoolEvent>, PoolError> {
        let g = self.lock();
        let skip = g.events.len().saturating_sub(limit);
        Ok(g.events.iter().skip(skip).cloned().collect())
    }
}

#[cfg(test)]
mod tests;
