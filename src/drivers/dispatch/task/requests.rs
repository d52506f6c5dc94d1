//! A request for an interpreter enters the engine (or is refused); an interpreter sent out of
//! a call goes to wrap-up.

use super::feeders::watch_call;
use super::{CallMeta, DispatchRefused, Driver};
use crate::domain::EventKind;
use crate::domain::{CallId, InterpreterId, Language, Millis};
use crate::drivers::call::interpreter_participant;
use crate::engine::dispatch::{DispatchError, Input, NewRequest};
use crate::pool::PoolEvent;
use crate::protocol::CallState;

impl Driver {
    pub(super) async fn request(
        &mut self,
        call: CallId,
        language: Language,
        preferred: Option<InterpreterId>,
        now: Millis,
    ) -> Result<(), DispatchRefused> {
        // A node that drains rings nobody for a new request (a search already under way for a
        // call in progress goes on).
        if self.lifecycle.draining().is_some() && self.engine.request(&call).is_none() {
            return Err(DispatchRefused::Draining);
        }
        let handle = self
            .calls
            .get(&call)
            .ok_or_else(|| DispatchRefused::NoCall(call.clone()))?;
        let view = handle
            .view()
            .await
            .map_err(|_| DispatchRefused::NoCall(call.clone()))?;
        if view.state.is_final() {
            return Err(DispatchRefused::NoCall(call));
        }
        self.refresh_profiles(now, false).await;
        let by_name = preferred.is_some();
        // The brief as the call has it now (the operator sets it just before asking).
        if let Some(m) = self.meta.get_mut(&call) {
            m.brief = view.brief.clone();
        }
        let new = NewRequest {
            call: call.clone(),
            language,
            priority: 0,
            preferred,
        };
        match self.engine.handle(Input::Request(new), now) {
            Ok(()) => {}
            // Pre-dispatched (or asked twice): the asker sees where the search stands. An
            // operator asking for one interpreter by name is told the search is under way.
            Err(DispatchError::AlreadyRequested(_)) if !by_name => {
                if let Some(p) = self.last.get(&call) {
                    let _ = self.progress.send(p.clone());
                }
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
        let _ = self.events.send(PoolEvent {
            kind: EventKind::Request,
            at: now,
            call_id: Some(call.clone()),
            interpreter: None,
            language: Some(language),
            offer_id: None,
            detail: String::new(),
        });
        if !self.meta.contains_key(&call) {
            watch_call(handle.clone(), self.tx.clone(), &self.lifecycle);
            self.meta.insert(
                call,
                CallMeta {
                    handle,
                    created_at: view.created_at,
                    answered: view.state != CallState::Queued,
                    invite_pending: None,
                    brief: view.brief.clone(),
                },
            );
        }
        Ok(())
    }

    /// The interpreter who accepted `call`'s request, if any.
    pub(super) fn joined(&self, call: &CallId) -> Option<InterpreterId> {
        self.accepted
            .values()
            .find(|o| &o.call_id == call)
            .map(|o| o.interpreter.clone())
    }

    /// Takes a sent-out interpreter out of the call (if they had joined it).
    pub(super) async fn send_out(&mut self, call: &CallId, iid: Option<InterpreterId>) {
        let Some(iid) = iid else { return };
        if let Some(m) = self.meta.get_mut(call) {
            m.invite_pending = None;
            let _ = m
                .handle
                .remove_participant(interpreter_participant(&iid))
                .await;
        }
    }
}
