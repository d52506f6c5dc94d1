//! This node as the rest of the node sees it: its id, its lease's expiry (renewed by the lease
//! task, `lease.rs`), and the records of its calls in the pool, noted by the call registry and
//! written in order by one writer task, so another node's sweep can end them if this one dies.

use super::clock::now_ms;
use crate::domain::{CallId, Millis, NodeId};
use crate::pool::InterpreterPool;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
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

    /// The lease task renewed the lease until `expires_at`.
    pub(super) fn renewed_until(&self, expires_at: Millis) {
        self.expires_at.store(expires_at, Ordering::Relaxed);
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

/// Writes this node's call records in the order the registry noted them. When the node stops,
/// the notes already made are still written (a drain's last calls end just before it), so a
/// node that stopped cleanly leaves no open record for another node's sweep.
pub(super) async fn write_call_records(
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
