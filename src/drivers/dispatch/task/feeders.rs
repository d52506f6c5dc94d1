//! The tasks that feed the dispatch task from elsewhere: the watcher that follows each call, the
//! inbox from other nodes, and the writer of the audit stream.

use super::handle::{Cmd, DispatchHandle};
use crate::drivers::bus::{BusMessage, Inbox};
use crate::drivers::call::{CallHandle, CallUpdate};
use crate::drivers::lifecycle::Lifecycle;
use crate::pool::{InterpreterPool, PoolEvent};
use crate::protocol::CallState;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// Follows one call for the dispatcher (on the node's tracker): answered, ended, an
/// interpreter out.
pub(super) fn watch_call(handle: CallHandle, tx: mpsc::WeakSender<Cmd>, lifecycle: &Lifecycle) {
    let mut updates = handle.subscribe();
    let call = handle.id().clone();
    lifecycle.spawn(async move {
        let mut answered = false;
        loop {
            let cmd = match updates.recv().await {
                Ok(CallUpdate::State(v)) if v.state.is_final() => Cmd::CallEnded(call.clone()),
                Ok(CallUpdate::State(v)) if !answered && v.state != CallState::Queued => {
                    answered = true;
                    Cmd::Answered(call.clone())
                }
                Ok(CallUpdate::Removed {
                    participant,
                    reason,
                }) => Cmd::Gone {
                    call: call.clone(),
                    participant,
                    reason,
                },
                Err(broadcast::error::RecvError::Closed) => Cmd::CallEnded(call.clone()),
                _ => continue,
            };
            let over = matches!(cmd, Cmd::CallEnded(_));
            let Some(tx) = tx.upgrade() else { return };
            if tx.send(cmd).await.is_err() || over {
                return;
            }
        }
    });
}

/// Passes what other nodes send on: console messages to this node's consoles, offer ends and
/// freed interpreters to the dispatch task. Stops with the task or the node.
pub(super) async fn from_other_nodes(
    mut inbox: Inbox,
    handle: DispatchHandle,
    stop: CancellationToken,
) {
    let consoles = handle.consoles.clone();
    let tx = handle.tx.downgrade();
    drop(handle);
    loop {
        let m = tokio::select! {
            _ = stop.cancelled() => return,
            m = inbox.recv() => match m {
                Some(m) => m,
                None => return,
            },
        };
        let cmd = match m {
            BusMessage::Console {
                interpreter,
                message,
            } => {
                if consoles.is_connected(&interpreter) {
                    consoles.send(&interpreter, *message);
                }
                continue;
            }
            BusMessage::OfferEnded {
                offer,
                state,
                paused,
            } => Cmd::Ended {
                offer,
                state,
                paused,
            },
            BusMessage::Freed { interpreter } => Cmd::Available(interpreter),
            BusMessage::InviteAgain { interpreter } => Cmd::InviteAgain(interpreter),
            BusMessage::EndCall { call } => Cmd::EndCall(call),
            BusMessage::SendOut { call } => {
                // Nobody waits for the answer: the pool has freed the interpreter already.
                let (reply, _) = oneshot::channel();
                Cmd::Cancel { call, reply }
            }
        };
        let Some(tx) = tx.upgrade() else { return };
        if tx.send(cmd).await.is_err() {
            return;
        }
    }
}

/// Writes audit events in order, off the dispatch loop.
pub(super) async fn record_events(
    pool: Arc<dyn InterpreterPool>,
    mut rx: mpsc::UnboundedReceiver<PoolEvent>,
) {
    while let Some(e) = rx.recv().await {
        crate::metrics::event(&e);
        if let Err(err) = pool.record(&e).await {
            tracing::warn!(kind = %e.kind, error = %err, "dispatch event not recorded");
        }
    }
}
