//! The interpreter consoles connected to this node: one outbox per interpreter (the newest session
//! wins), so the dispatcher can ring them and take offers back. Holds no dispatch state and never
//! blocks: a console that does not keep up loses messages and is told by its next status.

use crate::domain::InterpreterId;
use crate::protocol::ServerMessage;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;

/// Messages buffered per console.
pub const CONSOLE_CAPACITY: usize = 64;

/// Interpreter → (session ticket, outbox).
type Outboxes = HashMap<InterpreterId, (u64, mpsc::Sender<ServerMessage>)>;

/// Cheap to clone; every clone is the same directory.
#[derive(Clone, Default)]
pub struct Consoles {
    inner: Arc<Mutex<Outboxes>>,
    next: Arc<AtomicU64>,
}

impl Consoles {
    fn lock(&self) -> MutexGuard<'_, Outboxes> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A console session for `iid` opens; returns its ticket and outbox. An older session of the
    /// same interpreter no longer receives anything.
    pub fn register(&self, iid: &InterpreterId) -> (u64, mpsc::Receiver<ServerMessage>) {
        let ticket = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(CONSOLE_CAPACITY);
        self.lock().insert(iid.clone(), (ticket, tx));
        (ticket, rx)
    }

    /// The session with `ticket` closed (a newer session of the same interpreter stays).
    pub fn unregister(&self, iid: &InterpreterId, ticket: u64) {
        let mut map = self.lock();
        if map.get(iid).is_some_and(|(t, _)| *t == ticket) {
            map.remove(iid);
        }
    }

    pub fn is_connected(&self, iid: &InterpreterId) -> bool {
        self.lock().contains_key(iid)
    }

    /// Every interpreter whose console is connected here.
    pub fn connected(&self) -> Vec<InterpreterId> {
        self.lock().keys().cloned().collect()
    }

    /// Delivers `msg` to `iid`'s console on this node; false when none is connected here.
    pub fn send(&self, iid: &InterpreterId, msg: ServerMessage) -> bool {
        let tx = self.lock().get(iid).map(|(_, tx)| tx.clone());
        match tx {
            Some(tx) => {
                if let Err(e) = tx.try_send(msg) {
                    tracing::warn!(interpreter_id = %iid, error = %e, "console message dropped");
                    return false;
                }
                true
            }
            None => false,
        }
    }
}
