//! Pre-dispatch: a queued call whose language is known rings an interpreter before an operator
//! answers, once its caller is there (`engine::caller_wait` decides); the ring is withdrawn when
//! the caller goes.

use super::Driver;
use crate::domain::CallId;
use crate::domain::EventKind;
use crate::drivers::call_registry::Queue;
use crate::drivers::clock::now_ms;
use crate::engine::caller_wait::{predispatch_language, Presence};
use crate::engine::dispatch::Input;
use crate::pool::PoolEvent;

impl Driver {
    /// Pre-dispatch: a queued call whose caller is there (media connected, packets arriving) and
    /// whose language is decided and not the operators' own; a pre-dispatched call whose caller
    /// is no longer there, before any operator answered, is withdrawn.
    pub(super) async fn predispatch_queue(&mut self, queue: &Queue) {
        if self.lifecycle.draining().is_some() {
            return;
        }
        let now = now_ms();
        for item in queue.iter() {
            if self.predispatched.contains(&item.call_id) {
                let unanswered = self.meta.get(&item.call_id).is_some_and(|m| !m.answered);
                if unanswered && item.caller.withdraws_predispatch() {
                    self.withdraw(&item.call_id, item.caller).await;
                }
                continue;
            }
            let Some(language) = predispatch_language(
                item.caller,
                item.language.code,
                f64::from(item.language.confidence),
                self.threshold,
                self.operator_language,
            ) else {
                continue;
            };
            self.predispatched.insert(item.call_id.clone());
            match self
                .request(item.call_id.clone(), language, None, now)
                .await
            {
                Ok(()) => {
                    tracing::info!(call_id = %item.call_id, language = %language, "pre-dispatched")
                }
                Err(e) => tracing::debug!(call_id = %item.call_id, error = %e, "no pre-dispatch"),
            }
        }
    }

    /// Takes back a pre-dispatched request whose caller is not there (`why`): its offers are
    /// withdrawn and an interpreter who accepted is released at once, with an audit event.
    pub(super) async fn withdraw(&mut self, call: &CallId, why: Presence) {
        let now = now_ms();
        let held = self.joined(call);
        let (ringing, language) = self
            .engine
            .request(call)
            .map_or((Vec::new(), None), |r| (r.ringing, Some(r.language)));
        self.predispatched.remove(call);
        if let Err(e) = self
            .engine
            .handle(Input::Withdraw { call: call.clone() }, now)
        {
            tracing::debug!(call_id = %call, error = %e, "nothing to withdraw");
            return;
        }
        for iid in held.iter().chain(ringing.iter()) {
            tracing::info!(call_id = %call, interpreter_id = %iid, why = why.as_str(),
                "pre-dispatch withdrawn: the caller is not there");
            let _ = self.events.send(PoolEvent {
                kind: EventKind::PredispatchWithdrawn,
                at: now,
                call_id: Some(call.clone()),
                interpreter: Some(iid.clone()),
                language,
                offer_id: None,
                detail: why.as_str().into(),
            });
        }
        if let (Some(iid), Some(m)) = (held, self.meta.get_mut(call)) {
            m.invite_pending = None;
            if let Err(e) = m.handle.uninvite(iid).await {
                tracing::debug!(call_id = %call, error = %e, "uninvite");
            }
        }
    }
}
