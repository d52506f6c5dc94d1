//! This node's lease in the pool, the sweep that frees what lost nodes held, and the records of
//! this node's calls in the pool. Two tasks: one renews the lease and sweeps (any live node may
//! sweep; the pool's script makes each recovery happen once), one writes call records in order.
//! What to free and how is the pool's (`pool::recovery`); this only runs it on time and tells
//! the dispatcher and the consoles what came free.

use super::call_registry::CallRegistry;
use super::clock::now_ms;
use super::dispatch::DispatchHandle;
use super::lifecycle::Lifecycle;
use crate::config::NodeSettings;
use crate::domain::EventKind;
use crate::domain::{CallId, Millis, NodeId};
use crate::pool::{InterpreterPool, LeaseRenewal, PoolEvent, Recovered};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Call records waiting to be written; past this, notes are dropped (and logged): the sweep of
/// a lost node then misses those calls, and the interpreters are still freed by their offers.
pub const CALL_NOTES_CAPACITY: usize = 4096;
/// Why a call's record ends when its task ends it.
pub const ENDED: &str = "ended";

/// What the call registry tells the pool about this node's calls.
#[derive(Debug)]
enum CallNote {
    Opened { call: CallId, token_sha256: String },
    Ended { call: CallId },
}

/// This node's identity and lease, as the rest of the node sees it. Cheap to clone.
#[derive(Clone)]
pub struct NodeLease {
    node: NodeId,
    /// When the lease last renewed runs out (Unix ms); 0 until the first renewal.
    expires_at: Arc<AtomicU64>,
    notes: mpsc::Sender<CallNote>,
}

/// The receiving side of the call notes, handed to `start`.
pub struct CallNotes(mpsc::Receiver<CallNote>);

impl NodeLease {
    /// A node's lease handle (nothing runs until `start`).
    pub fn new(node: NodeId) -> (Self, CallNotes) {
        let (notes, rx) = mpsc::channel(CALL_NOTES_CAPACITY);
        let lease = Self {
            node,
            expires_at: Arc::new(AtomicU64::new(0)),
            notes,
        };
        (lease, CallNotes(rx))
    }

    pub fn node(&self) -> NodeId {
        self.node
    }

    /// When the lease runs out, as last renewed; `None` before the first renewal.
    pub fn expires_at(&self) -> Option<Millis> {
        Some(self.expires_at.load(Ordering::Relaxed)).filter(|t| *t > 0)
    }

    pub(crate) fn call_opened(&self, call: &CallId, token_sha256: &str) {
        self.note(CallNote::Opened {
            call: call.clone(),
            token_sha256: token_sha256.to_owned(),
        });
    }

    pub(crate) fn call_ended(&self, call: &CallId) {
        self.note(CallNote::Ended { call: call.clone() });
    }

    fn note(&self, note: CallNote) {
        if let Err(e) = self.notes.try_send(note) {
            tracing::warn!(error = %e, "call record not written: the pool writer is behind");
        }
    }
}

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
    lifecycle.spawn(write_call_records(pool, lease.node, notes, shutdown));
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
        let node = self.lease.node;
        match self.pool.renew_lease(node, now, self.ttl_ms).await {
            Ok(r) => {
                let expires_at = now.saturating_add(self.ttl_ms);
                self.lease.expires_at.store(expires_at, Ordering::Relaxed);
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
        tracing::error!(node = %self.lease.node,
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

/// Writes this node's call records in the order the registry noted them. When the node stops,
/// the notes already made are still written (a drain's last calls end just before it), so a
/// node that stopped cleanly leaves no open record for another node's sweep.
async fn write_call_records(
    pool: Arc<dyn InterpreterPool>,
    node: NodeId,
    mut notes: CallNotes,
    shutdown: CancellationToken,
) {
    loop {
        let note = tokio::select! {
            _ = shutdown.cancelled() => break,
            n = notes.0.recv() => match n {
                Some(n) => n,
                None => return,
            },
        };
        write_call_record(pool.as_ref(), node, note).await;
    }
    while let Ok(note) = notes.0.try_recv() {
        write_call_record(pool.as_ref(), node, note).await;
    }
}

async fn write_call_record(pool: &dyn InterpreterPool, node: NodeId, note: CallNote) {
    let now = now_ms();
    let (call, written) = match note {
        CallNote::Opened { call, token_sha256 } => {
            let r = pool.call_opened(&call, node, &token_sha256, now).await;
            (call, r.map(|_| ()))
        }
        CallNote::Ended { call } => {
            let r = pool.call_ended(&call, now, ENDED).await;
            (call, r.map(|_| ()))
        }
    };
    if let Err(e) = written {
        tracing::warn!(call_id = %call, error = %e, "call record not written");
    }
}
