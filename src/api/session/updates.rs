//! What a session forwards to its client from its call's task (state, slots, levels, being
//! taken out, the long-wait question) and from the operator queue.

use super::{close, Attached, Next, Session, Who};
use crate::domain::Role;
use crate::drivers::call::CallUpdate;
use crate::drivers::call_registry::{queue_entries, Queue};
use crate::drivers::clock::now_ms;
use crate::protocol::{CallState, CallView, LeftReason, ServerMessage};
use axum::extract::ws::Message;
use futures::Sink;
use tokio::sync::{broadcast, watch};

impl<W: Sink<Message> + Unpin> Session<W> {
    pub(super) async fn update(
        &mut self,
        update: Result<CallUpdate, broadcast::error::RecvError>,
    ) -> Next {
        let Some(a) = self.attached.as_ref() else {
            return Next::Continue;
        };
        let me = a.me.clone();
        match update {
            Ok(CallUpdate::State(view)) => self.call_state((*view).clone()).await,
            Ok(CallUpdate::Slots { participant, slots }) if participant == me => {
                self.send(ServerMessage::Slots { slots }).await
            }
            Ok(CallUpdate::Slots { .. }) => {}
            // The caller's page shows no speaking indicators.
            Ok(CallUpdate::Levels(_)) if matches!(self.who, Some(Who::Caller(_))) => {}
            Ok(CallUpdate::Levels(levels)) => {
                self.send(ServerMessage::Levels {
                    levels: (*levels).clone(),
                })
                .await
            }
            Ok(CallUpdate::Removed {
                participant,
                reason,
            }) if participant == me => {
                if let Some(a) = self.attached.take() {
                    self.send(ServerMessage::Left {
                        call_id: a.call.id().clone(),
                        reason,
                    })
                    .await;
                }
            }
            Ok(CallUpdate::Removed { .. }) => {}
            Ok(CallUpdate::LongWait {
                waited_ms,
                reply_by,
            }) if matches!(self.who, Some(Who::Caller(_))) => {
                self.send(ServerMessage::LongWait {
                    waited_ms,
                    reply_by,
                    now: now_ms(),
                    callback: self.state.records.is_some(),
                })
                .await
            }
            Ok(CallUpdate::LongWait { .. }) => {}
            // The phone's greeter reads it out; sessions already show the number.
            Ok(CallUpdate::ReadCaseNumber { .. }) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => {
                let call = a.call.clone();
                if let Ok(view) = call.view().await {
                    self.call_state(view).await;
                }
            }
            // The call's task is gone: the call is over for everyone in it.
            Err(broadcast::error::RecvError::Closed) => {
                if let Some(a) = self.attached.take() {
                    self.send(ServerMessage::Left {
                        call_id: a.call.id().clone(),
                        reason: LeftReason::CallEnded,
                    })
                    .await;
                }
            }
        }
        // The caller's session ends with its call; others go back to the queue.
        let over = self
            .attached
            .as_ref()
            .and_then(|a| a.last.as_ref())
            .is_some_and(|v| v.state.is_final());
        if over {
            if let Some(a) = self.attached.take() {
                self.send(ServerMessage::Left {
                    call_id: a.call.id().clone(),
                    reason: LeftReason::CallEnded,
                })
                .await;
            }
            if matches!(self.who, Some(Who::Caller(_))) {
                return Next::Close(close::NORMAL, "the call has ended");
            }
        }
        // A caller's session, or one opened for one call (by a console on another node), has
        // nothing left to do once it is out of its call, however it left.
        let one_call = self.call_only || matches!(self.who, Some(Who::Caller(_)));
        if one_call && self.attached.is_none() {
            return Next::Close(close::NORMAL, "out of the call");
        }
        Next::Continue
    }

    /// Sends the call's state with the queue position filled in.
    pub(super) async fn call_state(&mut self, mut view: CallView) {
        // A place in the queue while the call waits for an operator (first, or again after
        // its operator left).
        let waiting = view.state == CallState::Queued
            || (!view.state.is_final()
                && !view.participants.iter().any(|p| p.role == Role::Operator));
        if let (Some(q), true) = (&self.queue, waiting) {
            view.position = q
                .borrow()
                .iter()
                .position(|i| i.call_id == view.call_id)
                .map(|i| i + 1);
            if view.position.is_some() {
                view.typical_wait_ms = self.state.calls.typical_wait(now_ms());
            }
        }
        if let Some(a) = self.attached.as_mut() {
            a.last = Some(view.clone());
        }
        self.send(ServerMessage::CallState { call: view }).await;
    }

    pub(super) async fn queue_update(&mut self, queue: Queue) {
        match self.who {
            Some(Who::Operator(_)) => {
                self.send(ServerMessage::Queue {
                    now: now_ms(),
                    calls: queue_entries(&queue, now_ms()),
                })
                .await
            }
            Some(Who::Caller(_)) => {
                let last = self.attached.as_ref().and_then(|a| a.last.clone());
                if let Some(view) = last {
                    let position = queue
                        .iter()
                        .position(|i| i.call_id == view.call_id)
                        .map(|i| i + 1);
                    // Out of the queue means answered or ended: that state update follows.
                    if position.is_some() && position != view.position {
                        self.call_state(view).await;
                    }
                }
            }
            _ => {}
        }
    }
}

pub(super) async fn next_update(
    attached: &mut Option<Attached>,
) -> Result<CallUpdate, broadcast::error::RecvError> {
    match attached {
        Some(a) => a.updates.recv().await,
        None => std::future::pending().await,
    }
}

/// Resolves when the operator's login ends; never for other sessions.
pub(super) async fn signed_out(token: &Option<tokio_util::sync::CancellationToken>) {
    match token {
        Some(t) => t.cancelled().await,
        None => std::future::pending().await,
    }
}

/// The queue when it changed; never resolves without a queue subscription.
pub(super) async fn queue_changed(queue: &mut Option<watch::Receiver<Queue>>) -> Option<Queue> {
    match queue {
        Some(rx) => match rx.changed().await {
            Ok(()) => Some(rx.borrow_and_update().clone()),
            Err(_) => {
                *queue = None;
                None
            }
        },
        None => std::future::pending().await,
    }
}
