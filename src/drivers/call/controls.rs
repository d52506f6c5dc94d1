//! The operator's controls (mute, hold, consult, the call's language; a phone caller's pick in
//! the menu too) and a participant taken
//! out of the call: the engine decides, the task carries it out and tells everyone.

use super::{CallTask, CallTaskError, CallUpdate, Control, Leaving};
use crate::domain::{EndedBy, EventKind, Millis, ParticipantId, Role};
use crate::engine::{CallError, Supervision};
use crate::protocol::{LanguageSource, LanguageView, LeftReason};

impl CallTask {
    pub(super) async fn control(&mut self, c: Control, now: Millis) -> Result<(), CallTaskError> {
        match c {
            Control::Mute {
                participant,
                muted,
                by,
            } => {
                self.call.set_muted(&participant, muted, now)?;
                match by.filter(|_| muted) {
                    Some(role) => self.muted_by.insert(participant, role),
                    None => self.muted_by.remove(&participant),
                };
            }
            Control::Hold(on) => self.call.set_hold(on, now)?,
            Control::Supervise { participant, mode } => {
                let before = self.call.controls().supervision.get(&participant).copied();
                self.call.set_supervision(&participant, mode, now)?;
                if before.unwrap_or_default() != mode {
                    let name = self.names.get(&participant).cloned().unwrap_or_default();
                    tracing::info!(call_id = %self.call.id(), supervisor = %name, mode = ?mode, "supervision");
                    self.supervised(&name, mode, now).await;
                }
            }
            Control::Consult(on) => self.call.set_consult(on, now)?,
            Control::Language(l) | Control::CallerChose(l) => {
                if self.call.state().is_final() {
                    return Err(CallError::Ended.into());
                }
                let source = match c {
                    Control::CallerChose(_) => LanguageSource::Chosen,
                    _ => LanguageSource::Operator,
                };
                self.language = LanguageView {
                    code: Some(l),
                    source,
                    confidence: 1.0,
                };
                self.book
                    .set_queue_language(self.call.id(), self.language.clone());
            }
        }
        self.changed().await;
        Ok(())
    }

    /// The audit stream's record that a supervisor listens, whispers or barges in.
    pub(super) async fn supervised(&self, name: &str, mode: Supervision, now: Millis) {
        let detail = serde_json::json!({ "supervisor": name, "mode": mode }).to_string();
        self.audit(EventKind::Supervise, now, None, detail).await;
    }

    pub(super) async fn remove(
        &mut self,
        p: &ParticipantId,
        reason: LeftReason,
        now: Millis,
    ) -> Result<(), CallTaskError> {
        let role = self.call.role_of(p);
        self.call.remove(p, now)?;
        self.muted_by.remove(p);
        if role == Some(Role::Caller) {
            // A caller who hangs up while hearing "we will call you back" left a number.
            self.ended_by = Some(if self.leaving != Leaving::No {
                EndedBy::Callback
            } else {
                EndedBy::caller_out(reason)
            });
        }
        if role == Some(Role::Interpreter) {
            let iid = self.interpreters.remove(p);
            self.audit(EventKind::Leave, now, iid, reason.as_str().to_owned())
                .await;
        }
        if let Some(m) = &self.media {
            if let Err(e) = m.leave(self.call.id().clone(), p.clone()).await {
                tracing::debug!(call_id = %self.call.id(), participant = %p, error = %e, "leave");
            }
        }
        let _ = self.updates.send(CallUpdate::Removed {
            participant: p.clone(),
            reason,
        });
        tracing::info!(call_id = %self.call.id(), participant = %p, reason = reason.as_str(), "participant left");
        if !self.call.state().is_final() {
            self.changed().await;
            let operator_left = role == Some(Role::Operator)
                && !self
                    .call
                    .participants()
                    .iter()
                    .any(|x| x.role == Role::Operator);
            if operator_left {
                // Nobody answers the caller now: back to the queue, at its original place, so
                // another operator takes it over (`answer`) instead of the call being orphaned.
                self.book
                    .requeue(self.call.id(), self.language.clone(), self.created_at);
            }
        }
        Ok(())
    }
}
