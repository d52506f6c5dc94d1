//! `RecordingPool`: the pool every part of the node already uses, which also hands each audit
//! event it is given (`record`) to the record's writer. So the record is fed from the events the
//! call tasks, the dispatcher and the registry already write, with no hook of its own anywhere
//! else. Everything else goes straight to the pool underneath.

use super::Recorder;
use crate::domain::{CallId, InterpreterId, InterpreterProfile, Language, Millis, NodeId, OfferId};
use crate::pool::{
    Availability, CallRecord, ClaimRequest, Engagement, Expired, ForcedEnd, ForcedRelease,
    InterpreterPool, InterpreterState, LeaseRenewal, NodeLease, NodeSummary, Offer, OfferState,
    PoolError, PoolEvent, Recovered,
};
use async_trait::async_trait;
use std::sync::Arc;

pub struct RecordingPool {
    inner: Arc<dyn InterpreterPool>,
    recorder: Recorder,
}

impl RecordingPool {
    pub fn new(inner: Arc<dyn InterpreterPool>, recorder: Recorder) -> Self {
        Self { inner, recorder }
    }
}

#[async_trait]
impl InterpreterPool for RecordingPool {
    async fn ping(&self) -> Result<(), PoolError> {
        self.inner.ping().await
    }

    async fn upsert(&self, profile: &InterpreterProfile) -> Result<(), PoolError> {
        self.inner.upsert(profile).await
    }

    async fn remove(&self, id: &InterpreterId) -> Result<bool, PoolError> {
        self.inner.remove(id).await
    }

    async fn profile(&self, id: &InterpreterId) -> Result<Option<InterpreterProfile>, PoolError> {
        self.inner.profile(id).await
    }

    async fn profiles(&self) -> Result<Vec<InterpreterProfile>, PoolError> {
        self.inner.profiles().await
    }

    async fn heartbeat(
        &self,
        id: &InterpreterId,
        now: Millis,
    ) -> Result<InterpreterState, PoolError> {
        self.inner.heartbeat(id, now).await
    }

    async fn set_availability(
        &self,
        id: &InterpreterId,
        to: Availability,
        now: Millis,
    ) -> Result<InterpreterState, PoolError> {
        self.inner.set_availability(id, to, now).await
    }

    async fn state(
        &self,
        id: &InterpreterId,
        now: Millis,
    ) -> Result<Option<InterpreterState>, PoolError> {
        self.inner.state(id, now).await
    }

    async fn states_for(
        &self,
        language: Language,
        now: Millis,
    ) -> Result<Vec<InterpreterState>, PoolError> {
        self.inner.states_for(language, now).await
    }

    async fn claim(&self, req: &ClaimRequest) -> Result<Option<Offer>, PoolError> {
        self.inner.claim(req).await
    }

    async fn respond(
        &self,
        offer: &OfferId,
        by: &InterpreterId,
        accept: bool,
        now: Millis,
    ) -> Result<OfferState, PoolError> {
        self.inner.respond(offer, by, accept, now).await
    }

    async fn cancel(&self, offer: &OfferId, now: Millis) -> Result<OfferState, PoolError> {
        self.inner.cancel(offer, now).await
    }

    async fn release(
        &self,
        offer: &OfferId,
        now: Millis,
        wrap_up_ms: u64,
    ) -> Result<OfferState, PoolError> {
        self.inner.release(offer, now, wrap_up_ms).await
    }

    async fn sweep(&self, now: Millis, max_missed: u32) -> Result<Vec<Expired>, PoolError> {
        self.inner.sweep(now, max_missed).await
    }

    async fn offer(&self, offer: &OfferId) -> Result<Option<(Offer, OfferState)>, PoolError> {
        self.inner.offer(offer).await
    }

    async fn renew_lease(
        &self,
        node: NodeId,
        now: Millis,
        ttl_ms: u64,
    ) -> Result<LeaseRenewal, PoolError> {
        self.inner.renew_lease(node, now, ttl_ms).await
    }

    async fn leases(&self) -> Result<Vec<NodeLease>, PoolError> {
        self.inner.leases().await
    }

    async fn publish_summary(&self, summary: &NodeSummary) -> Result<(), PoolError> {
        self.inner.publish_summary(summary).await
    }

    async fn summaries(&self, now: Millis) -> Result<Vec<NodeSummary>, PoolError> {
        self.inner.summaries(now).await
    }

    async fn call_opened(
        &self,
        call: &CallId,
        node: NodeId,
        token_sha256: &str,
        now: Millis,
    ) -> Result<(), PoolError> {
        self.inner.call_opened(call, node, token_sha256, now).await
    }

    async fn call_ended(
        &self,
        call: &CallId,
        now: Millis,
        why: &str,
    ) -> Result<Option<CallRecord>, PoolError> {
        self.inner.call_ended(call, now, why).await
    }

    async fn call_record(&self, call: &CallId) -> Result<Option<CallRecord>, PoolError> {
        self.inner.call_record(call).await
    }

    async fn sweep_lost(&self, now: Millis) -> Result<Vec<Recovered>, PoolError> {
        self.inner.sweep_lost(now).await
    }

    async fn engagements(&self) -> Result<Vec<Engagement>, PoolError> {
        self.inner.engagements().await
    }

    async fn force_release(
        &self,
        id: &InterpreterId,
        now: Millis,
        by: &str,
    ) -> Result<ForcedRelease, PoolError> {
        self.inner.force_release(id, now, by).await
    }

    async fn force_end_call(
        &self,
        call: &CallId,
        now: Millis,
        by: &str,
    ) -> Result<Option<ForcedEnd>, PoolError> {
        self.inner.force_end_call(call, now, by).await
    }

    /// Written to the pool as before, and handed to the record's queue (never waits).
    async fn record(&self, event: &PoolEvent) -> Result<(), PoolError> {
        self.recorder.event(event);
        self.inner.record(event).await
    }

    async fn recent_events(&self, limit: usize) -> Result<Vec<PoolEvent>, PoolError> {
        self.inner.recent_events(limit).await
    }
}
