//! What the call task tells others: its view to every session, and when it is over the media
//! closed, the book told, and the record (with its legs) written to the audit stream.

use super::{CallTask, CallUpdate};
use crate::domain::{EndedBy, EventKind, InterpreterId, Leg, LegMedia, Millis, Role};
use crate::drivers::clock::now_ms;
use crate::pool::PoolEvent;
use crate::protocol::{CallView, ParticipantView};
use std::sync::Arc;

impl CallTask {
    pub(super) fn broadcast_state(&self) {
        let _ = self.updates.send(CallUpdate::State(Arc::new(self.view())));
    }

    pub(super) fn view(&self) -> CallView {
        let controls = self.call.controls();
        CallView {
            call_id: self.call.id().clone(),
            state: self.call.state(),
            language: self.language.clone(),
            participants: self
                .call
                .participants()
                .iter()
                .map(|p| ParticipantView {
                    id: p.id.clone(),
                    role: p.role,
                    name: self.names.get(&p.id).cloned(),
                    connected: self.call.attendance().is_connected(&p.id),
                    muted: controls.muted.contains(&p.id),
                    muted_by: self.muted_by.get(&p.id).copied(),
                    supervision: (p.role == Role::Supervisor)
                        .then(|| controls.supervision.get(&p.id).copied().unwrap_or_default()),
                })
                .collect(),
            hold: controls.hold,
            consult: controls.consult,
            position: None,
            typical_wait_ms: None,
            created_at: self.created_at,
            answered_at: self.answered_at,
            ended_at: self.ended_at,
            ended_by: self.ended_by,
            invited: self.invited.iter().cloned().collect(),
            case_number: self.case.clone(),
            returning_case: self.returning_case.clone(),
            caller_on_phone: self.media_kinds.get(&super::CallHandle::caller())
                == Some(&LegMedia::Phone),
            job_number: crate::domain::job_number(self.call.id()),
            brief: self.brief.clone(),
            case_category: self.case_category.clone(),
        }
    }

    /// The call is over: media closed, sessions told, the record written, the registry updated.
    pub(super) async fn finish(&mut self) {
        let now = now_ms();
        if !self.call.state().is_final() {
            let _ = self.call.hang_up(now);
        }
        if self.ended_by.is_none() {
            self.ended_by = Some(EndedBy::Hotline);
        }
        // The end is when the call was hung up (the legs still in it left then), which may be
        // a moment before this runs.
        let now = self.call.ended_at().unwrap_or(now);
        self.ended_at = Some(now);
        if let Some(m) = &self.media {
            if let Err(e) = m.end_call(self.call.id().clone()).await {
                tracing::debug!(call_id = %self.call.id(), error = %e, "end_call");
            }
        }
        self.broadcast_state();
        self.book.finish(self.call.id());
        let detail = serde_json::json!({
            "state": self.call.state(),
            "created_at": self.created_at,
            "answered_at": self.answered_at,
            "ended_at": now,
            "language": self.language,
            "timeline": self.call.timeline(),
            "legs": self.legs(),
        });
        self.audit(EventKind::CallEnded, now, None, detail.to_string())
            .await;
    }

    /// The call's legs with what carried each one's audio and which interpreter it was.
    fn legs(&self) -> Vec<Leg> {
        let mut legs = self.call.legs();
        for l in &mut legs {
            l.interpreter = self.interpreters.get(&l.participant).cloned();
            l.media = self
                .media_kinds
                .get(&l.participant)
                .copied()
                .unwrap_or(LegMedia::None);
        }
        legs
    }

    /// Writes one event of this call to the pool's audit stream (a failure is logged: the call
    /// goes on without its record).
    pub(super) async fn audit(
        &self,
        kind: EventKind,
        at: Millis,
        interpreter: Option<InterpreterId>,
        detail: String,
    ) {
        let event = PoolEvent {
            kind,
            at,
            call_id: Some(self.call.id().clone()),
            interpreter,
            language: self.language.code,
            offer_id: None,
            detail,
        };
        crate::metrics::event(&event);
        if let Err(e) = self.pool.record(&event).await {
            tracing::warn!(call_id = %self.call.id(), kind = kind.as_str(), error = %e, "call event not recorded");
        }
    }
}
