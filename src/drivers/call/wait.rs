//! The call task's side of `engine::caller_wait`: it feeds the engine the caller's sessions and
//! media, and carries out what it decides (the queue's presence for pre-dispatch, the long-wait
//! question to the caller's page, the end of a call whose caller never answered it).

use super::{Asker, CallTask, CallTaskError, CallUpdate, Leaving, CALLER};
use crate::domain::EventKind;
use crate::domain::{EndedBy, Language, Millis, ParticipantId, Role};
use crate::drivers::clock::now_ms;
use crate::drivers::media::MediaEvent;
use crate::engine::caller_wait::{WaitAction, WaitError, WaitInput, NEVER};
use crate::protocol::LeftReason;
use tokio::time::Instant;

impl CallTask {
    /// Feeds the caller's presence engine and carries out its actions.
    pub(super) async fn feed_wait(&mut self, input: WaitInput) {
        let now = now_ms();
        if let Err(e) = self.wait.handle(input, now) {
            tracing::debug!(call_id = %self.call.id(), error = %e, "wait input refused");
        }
        self.carry_out_wait(now).await;
    }

    /// The caller asked to keep waiting: refused when they were not asked.
    pub(super) async fn keep_waiting(&mut self, now: Millis) -> Result<(), CallTaskError> {
        self.wait.handle(WaitInput::KeepWaiting, now)?;
        tracing::info!(call_id = %self.call.id(), "caller keeps waiting");
        self.audit(EventKind::KeepWaiting, now, None, String::new())
            .await;
        self.carry_out_wait(now).await;
        Ok(())
    }

    /// Whether the caller may leave a number to be called back now (on the page only while the
    /// long-wait question is open; a phone caller, who is never asked, while no operator is with
    /// them); the call's language when known.
    pub(super) fn may_leave_number(&self, by: Asker) -> Result<Option<Language>, CallTaskError> {
        match by {
            Asker::Page if self.wait.asked().is_none() => return Err(WaitError::NotAsked.into()),
            Asker::Page => {}
            Asker::Phone => {
                let with_operator = self
                    .call
                    .participants()
                    .iter()
                    .any(|p| p.role == Role::Operator);
                if self.call.state().is_final() || with_operator {
                    return Err(CallTaskError::NotWaiting);
                }
            }
        }
        Ok(self.language.code)
    }

    /// The caller's number is about to be kept (the store is writing it): refused when they
    /// may not leave one now, or are leaving one already. From now on no operator answers the
    /// call, until `kept_number` or `not_kept`. Returns the call's language when known.
    pub(super) fn keeping_number(&mut self, by: Asker) -> Result<Option<Language>, CallTaskError> {
        if self.leaving != Leaving::No {
            return Err(CallTaskError::LeavingNumber);
        }
        let language = self.may_leave_number(by)?;
        self.leaving = Leaving::Keeping;
        Ok(language)
    }

    /// The store did not keep the number: the caller waits on, and may be answered.
    pub(super) fn not_kept(&mut self) {
        if self.leaving == Leaving::Keeping {
            self.leaving = Leaving::No;
        }
    }

    /// The caller's callback request is kept (`number` masked) while they still hear the
    /// goodbye: no operator answers the call, and however it ends (the goodbye over, or the
    /// caller hanging up during it) it ends by callback.
    pub(super) async fn kept_number(
        &mut self,
        number: String,
        by: Asker,
        now: Millis,
    ) -> Result<(), CallTaskError> {
        match self.leaving {
            Leaving::Kept => return Ok(()),
            Leaving::Keeping => {}
            Leaving::No => {
                self.may_leave_number(by)?;
            }
        }
        self.leaving = Leaving::Kept;
        tracing::info!(call_id = %self.call.id(), number = %number, "caller left a number to be called back");
        self.audit(
            EventKind::CallbackRequested,
            now,
            None,
            format!("number={number}"),
        )
        .await;
        Ok(())
    }

    /// The caller's callback request is kept (`number` masked): the call ends, by callback.
    pub(super) async fn left_number(
        &mut self,
        number: String,
        by: Asker,
        now: Millis,
    ) -> Result<(), CallTaskError> {
        self.kept_number(number, by, now).await?;
        self.call.hang_up(now)?;
        self.ended_by = Some(EndedBy::Callback);
        Ok(())
    }

    /// After a caller session opened or closed: the engine learns how many are open.
    pub(super) async fn caller_sessions(&mut self, p: &ParticipantId) {
        if p.as_str() != CALLER {
            return;
        }
        let n = self.call.attendance().sessions(p);
        self.feed_wait(WaitInput::Sessions(n)).await;
    }

    async fn carry_out_wait(&mut self, now: Millis) {
        loop {
            match self.wait.poll_action() {
                WaitAction::WakeAt(t) => {
                    self.wait_wake = t;
                    return;
                }
                WaitAction::Presence(p) => {
                    tracing::debug!(call_id = %self.call.id(), presence = p.as_str(), "caller presence");
                    self.book.set_caller_presence(self.call.id(), p);
                }
                WaitAction::AskKeepWaiting {
                    waited_ms,
                    reply_by,
                } => {
                    tracing::info!(call_id = %self.call.id(), waited_ms, "caller asked to keep waiting");
                    self.audit(
                        EventKind::LongWait,
                        now,
                        None,
                        format!("waited_ms={waited_ms}"),
                    )
                    .await;
                    let _ = self.updates.send(CallUpdate::LongWait {
                        waited_ms,
                        reply_by,
                    });
                }
                WaitAction::GiveUp { waited_ms } => {
                    tracing::info!(call_id = %self.call.id(), waited_ms, "no reply to the long wait question; call ended");
                    self.audit(
                        EventKind::LongWaitNoReply,
                        now,
                        None,
                        format!("waited_ms={waited_ms}"),
                    )
                    .await;
                    let caller = super::CallHandle::caller();
                    if let Err(e) = self.remove(&caller, LeftReason::NoReply, now).await {
                        tracing::debug!(call_id = %self.call.id(), error = %e, "give up");
                    }
                }
            }
        }
    }
}

/// What a media event says about the caller's media, if it is about the caller.
pub(super) fn caller_media(ev: &MediaEvent) -> Option<WaitInput> {
    let is_caller = |p: &ParticipantId| p.as_str() == CALLER;
    match ev {
        MediaEvent::Connected { participant, .. } if is_caller(participant) => {
            Some(WaitInput::MediaConnected)
        }
        MediaEvent::Disconnected { participant, .. } if is_caller(participant) => {
            Some(WaitInput::MediaGone)
        }
        MediaEvent::Silent { participant, .. } if is_caller(participant) => {
            Some(WaitInput::MediaSilent)
        }
        MediaEvent::Levels { levels, .. } if levels.iter().any(|(p, _)| is_caller(p)) => {
            Some(WaitInput::MediaPackets)
        }
        _ => None,
    }
}

/// The tokio instant of a wall-clock wake time (`None` for `NEVER`).
pub(super) fn wake_instant(at: Millis) -> Option<Instant> {
    (at != NEVER)
        .then(|| Instant::now() + std::time::Duration::from_millis(at.saturating_sub(now_ms())))
}
