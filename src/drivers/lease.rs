//! This node's lease in the pool and the sweep that frees what lost nodes held: one task renews
//! the lease and sweeps (any live node may sweep; the pool's script makes each recovery happen
//! once), and `start` also starts the writer of this node's call records (`node.rs`). What to free
//! and how is the pool's (`pool::recovery`); this only runs it on time and tells the dispatcher
//! and the consoles what came free.

use super::call_registry::CallRegistry;
use super::clock::now_ms;
use super::dispatch::DispatchHandle;
use super::lifecycle::Lifecycle;
use super::node::{write_call_records, CallNotes, NodeLease};
use crate::config::NodeSettings;
use crate::domain::EventKind;
use crate::pool::{InterpreterPool, LeaseRenewal, PoolEvent, Recovered};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Starts the lease task and the call-record writer; both stop with `shutdown`.
pub fn start(
    lease: &NodeLease,
    notes: CallNotes,
    pool: Arc<dyn InterpreterPool>,
    settings: &NodeSettings,
    dispatch: DispatchHandle,
    calls: CallRegistry,
    lifecycle: &Lifecycle,
) {
    let task = LeaseTask {
        lease: lease.clone(),
        pool: pool.clone(),
        ttl_ms: settings.lease_ttl_ms,
        dispatch,
        calls,
        held: false,
    };
    let renew = Duration::from_millis(settings.lease_renew_ms);
    let sweep = Duration::from_millis(settings.sweep_every_ms);
    let shutdown = lifecycle.child();
    if !lifecycle.spawn(task.run(renew, sweep, shutdown.clone())) {
        tracing::error!("no tokio runtime: this node holds no lease");
    }
    lifecycle.spawn(write_call_records(pool, lease.node(), notes, shutdown));
}

struct LeaseTask {
    lease: NodeLease,
    pool: Arc<dyn InterpreterPool>,
    ttl_ms: u64,
    dispatch: DispatchHandle,
    calls: CallRegistry,
    /// A lease was taken once: a later `Started` means the node had been swept as lost.
    held: bool,
}

impl LeaseTask {
    async fn run(mut self, renew: Duration, sweep: Duration, shutdown: CancellationToken) {
        let mut renew = tokio::time::interval(renew);
        renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut sweep = tokio::time::interval(sweep);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = renew.tick() => self.renew().await,
                _ = sweep.tick() => self.sweep().await,
            }
        }
    }

    async fn renew(&mut self) {
        let now = now_ms();
        let node = self.lease.node();
        match self.pool.renew_lease(node, now, self.ttl_ms).await {
            Ok(r) => {
                let expires_at = now.saturating_add(self.ttl_ms);
                self.lease.renewed_until(expires_at);
                if r == LeaseRenewal::Started && self.held {
                    self.lost_meanwhile().await;
                } else if r == LeaseRenewal::Started {
                    tracing::info!(node = %node, lease_ttl_ms = self.ttl_ms, expires_at,
                        "node lease taken");
                }
                self.held = true;
            }
            Err(e) => {
                crate::metrics::lease_renew_failed();
                tracing::warn!(node = %node, error = %e, "node lease not renewed");
            }
        }
    }

    /// This node held a lease and the pool has none: other nodes took it for lost (its lease
    /// ran out: the pool was unreachable, or the process stalled) and ended its calls in the
    /// pool, or Redis lost its data (restarted empty: then no call record says ended). Calls the
    /// pool has ended end here too, so nobody talks on in a call whose interpreter may already
    /// be on another one.
    async fn lost_meanwhile(&self) {
        crate::metrics::lease_lost();
        tracing::error!(node = %self.lease.node(),
            "this node's lease was gone at renewal (it ran out and other nodes freed what the \
             node held, or Redis lost its data); ending the calls the pool has ended");
        for call in self.calls.live() {
            let ended = matches!(self.pool.call_record(call.id()).await,
                Ok(Some(r)) if r.ended.is_some());
            if ended {
                tracing::warn!(call_id = %call.id(), "call ended: its node had been taken for lost");
                let _ = call.hang_up().await;
            }
        }
    }

    async fn sweep(&self) {
        let now = now_ms();
        let recovered = match self.pool.sweep_lost(now).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "sweep for lost nodes failed");
                return;
            }
        };
        for r in recovered {
            match r {
                Recovered::Offer { node, offer, was } => {
                    crate::metrics::recovered("offer");
                    crate::metrics::event(&PoolEvent {
                        kind: EventKind::NodeLost,
                        at: now,
                        call_id: Some(offer.call_id.clone()),
                        interpreter: Some(offer.interpreter.clone()),
                        language: Some(offer.language),
                        offer_id: Some(offer.id.clone()),
                        detail: String::new(),
                    });
                    tracing::warn!(node = %node, interpreter_id = %offer.interpreter,
                        call_id = %offer.call_id, offer_id = %offer.id, was = ?was,
                        "interpreter freed: the node holding the offer lost its lease");
                    self.dispatch.recovered(offer.interpreter, now).await;
                }
                Recovered::Call { node, call } => {
                    crate::metrics::recovered("call");
                    crate::metrics::event(&PoolEvent {
                        kind: EventKind::NodeLost,
                        at: now,
                        call_id: Some(call.clone()),
                        interpreter: None,
                        language: None,
                        offer_id: None,
                        detail: String::new(),
                    });
                    tracing::warn!(node = %node, call_id = %call,
                        "call ended: its node lost its lease");
                }
            }
        }
    }
}
