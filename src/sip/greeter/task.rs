//! The greeter's task, one per waiting phone caller: feeds the `Greeter` the caller's keys and
//! the end of each prompt (media events), the call's queue position (the registry's queue), the
//! operator answering (the call's updates) and time, and plays what it decides to the phone leg
//! alone; once answered, the comfort tone while the call is held. Ends when the call ends or the
//! leg is gone.

use super::{Action, Greeter, HoldTone, Notices};
use crate::domain::{CallId, CallbackNumber, Language, Role};
use crate::drivers::call::{Asker, CallHandle, CallUpdate, Control};
use crate::drivers::call_registry::{CallRegistry, Queue};
use crate::drivers::callbacks::keep_number;
use crate::drivers::media::{MediaEvent, MediaHandle};
use crate::drivers::records::Recorder;
use crate::prompts::Prompts;
use crate::protocol::CallView;
use crate::sfu::Playout;
use std::time::{Duration, Instant};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// What one phone caller's greeting needs.
pub struct Greeting {
    pub call: CallHandle,
    /// The language the number dialled gave, if any (otherwise the menu).
    pub known: Option<Language>,
    /// The caller languages in configured order: the menu's keys 1-9, then 0.
    pub languages: Vec<Language>,
    pub menu_timeout: Duration,
    /// The call is recorded (`records.recording`): the caller is told as the wait starts.
    pub recorded: bool,
    /// The caller may be called back after a long wait (a record is kept).
    pub callback: Option<CallBack>,
}

/// A phone caller's call-back: offered after `after` in the queue, kept in `records`; at
/// `number`, the one they call from, or when none came with the call (or it is not one to
/// call), at one they key in.
pub struct CallBack {
    pub number: Option<CallbackNumber>,
    pub after: Duration,
    pub records: Recorder,
}

/// Runs the greeting until the operator answers; if the operator later leaves (the call goes back
/// in the queue with nobody to talk to the caller), greets again, in the call's language, until
/// another operator takes it over. Ends when the call ends, the leg is gone, or `stop`.
pub async fn run(
    g: Greeting,
    calls: CallRegistry,
    media: MediaHandle,
    prompts: Prompts,
    stop: CancellationToken,
) {
    let id = g.call.id().clone();
    let mut events = media.subscribe();
    let mut updates = g.call.subscribe();
    let mut queue = calls.queue();
    let Ok(english) = Language::parse("en") else {
        return;
    };
    let run = Run {
        call: &g.call,
        media: &media,
        prompts: &prompts,
        callback: g.callback.as_ref(),
    };
    let notices = Notices {
        recorded: g.recorded,
        callback_after: g.callback.as_ref().map(|c| c.after),
        callback_keyed: g.callback.as_ref().is_some_and(|c| c.number.is_none()),
    };
    let mut known = g.known;
    loop {
        let at = position(&queue.borrow_and_update(), &id);
        let (greeter, first) = Greeter::new(
            known,
            &g.languages,
            english,
            g.menu_timeout,
            at,
            notices,
            Instant::now(),
        );
        let inputs = Inputs {
            events: &mut events,
            updates: &mut updates,
            queue: &mut queue,
            stop: &stop,
        };
        let Outcome::Answered { hold, consult } = run.greet(greeter, first, inputs).await else {
            return;
        };
        // With the operator: the comfort tone while held (a call held when its operator left is
        // still held when the next one answers), until a requeue (the operator left, nobody took
        // over yet).
        let mut held = HoldTone::default();
        if let Some(tone) = held.controls(hold, consult) {
            if !run.carry_out(vec![tone]).await {
                return;
            }
        }
        let language = loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                u = updates.recv() => match u {
                    Ok(CallUpdate::State(view)) if view.state.is_final() => return,
                    Ok(CallUpdate::State(view)) if !with_operator(&view) => {
                        break view.language.code;
                    }
                    Ok(CallUpdate::State(view)) => {
                        if let Some(tone) = held.controls(view.hold, view.consult) {
                            tracing::info!(call_id = %id, on = matches!(tone, Action::Play(..)),
                                "the phone caller's hold tone");
                            if !run.carry_out(vec![tone]).await {
                                return;
                            }
                        }
                    }
                    Ok(CallUpdate::Removed { participant, .. })
                        if participant == CallHandle::caller() => return,
                    Ok(CallUpdate::ReadCaseNumber { number, language }) => {
                        let parts = crate::prompts::case_number(
                            number.as_str(),
                            language.unwrap_or(english),
                        );
                        // Over the conversation, to the caller alone; then the comfort tone
                        // again if the call is held.
                        let then = if held.held() { Playout::Comfort } else { Playout::Silence };
                        if !run.carry_out(vec![Action::Play(parts, then)]).await {
                            return;
                        }
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return,
                },
                ev = events.recv() => match ev {
                    Ok(MediaEvent::Disconnected { call, participant })
                        if call == id && participant == CallHandle::caller() => return,
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return,
                },
            }
        };
        tracing::info!(call_id = %id, "the operator left: the phone caller is greeted again while requeued");
        // The menu is over for this caller: announcements in its language (English if unknown).
        known = Some(language.unwrap_or(english));
    }
}

/// An operator is in the call (a queued call has none; one whose operator left has none).
fn with_operator(view: &CallView) -> bool {
    view.participants.iter().any(|p| p.role == Role::Operator)
}

/// How a greeting ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// An operator is with the caller, with the call's hold and consult as they were then.
    Answered { hold: bool, consult: bool },
    /// The call or the leg is over, or the greeting was stopped.
    Over,
}

/// What a greeting listens to.
struct Inputs<'a> {
    events: &'a mut broadcast::Receiver<MediaEvent>,
    updates: &'a mut broadcast::Receiver<CallUpdate>,
    queue: &'a mut watch::Receiver<Queue>,
    stop: &'a CancellationToken,
}

/// The call's 1-based place in the queue.
fn position(queue: &Queue, id: &CallId) -> Option<u32> {
    queue
        .iter()
        .position(|q| &q.call_id == id)
        .and_then(|i| u32::try_from(i + 1).ok())
}

struct Run<'a> {
    call: &'a CallHandle,
    media: &'a MediaHandle,
    prompts: &'a Prompts,
    callback: Option<&'a CallBack>,
}

impl Run<'_> {
    /// Plays `first`, then feeds `greeter` until an operator is with the caller.
    async fn greet(&self, mut greeter: Greeter, first: Vec<Action>, i: Inputs<'_>) -> Outcome {
        let id = self.call.id().clone();
        let caller = CallHandle::caller();
        // The caller's number once kept (masked, for the call's log), until the call ends.
        let mut kept: Option<String> = None;
        if !self.carry_out(first).await {
            return Outcome::Over;
        }
        loop {
            let deadline = greeter.deadline();
            let due = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d.into()).await,
                    None => std::future::pending().await,
                }
            };
            let actions = tokio::select! {
                _ = i.stop.cancelled() => return Outcome::Over,
                ev = i.events.recv() => match ev {
                    Ok(MediaEvent::Digit { call, participant, digit })
                        if call == id && participant == caller =>
                    {
                        greeter.digit(digit, Instant::now())
                    }
                    Ok(MediaEvent::PlayoutDone { call, participant })
                        if call == id && participant == caller =>
                    {
                        greeter.playout_done(Instant::now())
                    }
                    Ok(MediaEvent::Disconnected { call, participant })
                        if call == id && participant == caller => return Outcome::Over,
                    Ok(_) | Err(RecvError::Lagged(_)) => Vec::new(),
                    Err(RecvError::Closed) => return Outcome::Over,
                },
                u = i.updates.recv() => match u {
                    Ok(CallUpdate::State(view)) if view.state.is_final() => {
                        self.carry_out(greeter.answered()).await;
                        return Outcome::Over;
                    }
                    Ok(CallUpdate::State(view)) if with_operator(&view) => {
                        // The operator is there: the caller hears the call.
                        if !self.carry_out(greeter.answered()).await {
                            return Outcome::Over;
                        }
                        return Outcome::Answered { hold: view.hold, consult: view.consult };
                    }
                    Ok(CallUpdate::Removed { participant, .. }) if participant == caller => {
                        return Outcome::Over
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => Vec::new(),
                    Err(RecvError::Closed) => return Outcome::Over,
                },
                changed = i.queue.changed() => {
                    if changed.is_err() {
                        return Outcome::Over;
                    }
                    let at = position(&i.queue.borrow_and_update(), &id);
                    greeter.position(at, Instant::now())
                }
                _ = due => greeter.timeout(Instant::now()),
            };
            let mut actions = actions;
            let keep = actions.iter().find_map(|a| match a {
                Action::KeepNumber(keyed) => Some(keyed.clone()),
                _ => None,
            });
            if let Some(keyed) = keep {
                actions.retain(|a| !matches!(a, Action::KeepNumber(_)));
                kept = self.keep_number(keyed).await;
                actions.extend(match &kept {
                    Some(_) => greeter.number_kept(),
                    None => greeter.leave_failed(Instant::now()),
                });
            }
            if let Some(i) = actions.iter().position(|a| *a == Action::EndCall) {
                actions.remove(i);
                if let Some(masked) = kept.take() {
                    self.end_call(masked).await;
                }
            }
            if !self.carry_out(actions).await {
                return Outcome::Over;
            }
        }
    }

    /// Keeps the caller's number to be called back (the call goes on while they hear the
    /// goodbye; hanging up then still leaves the number); its masked form, or `None` if it was
    /// not kept (the call waits on).
    async fn keep_number(&self, keyed: Option<String>) -> Option<String> {
        let id = self.call.id();
        let cb = self.callback?;
        let number = match keyed {
            Some(digits) => match CallbackNumber::parse(&digits) {
                Ok(n) => n,
                Err(e) => {
                    tracing::info!(call_id = %id, error = %e, "the keyed number is not one to call");
                    return None;
                }
            },
            None => cb.number.clone()?,
        };
        match keep_number(
            &cb.records,
            self.call,
            number,
            None,
            String::new(),
            Asker::Phone,
        )
        .await
        {
            Ok(kept) => {
                let masked = kept.number.masked();
                tracing::info!(call_id = %id, number = %masked,
                    "the phone caller left their number to be called back");
                Some(masked)
            }
            Err(e) => {
                tracing::warn!(call_id = %id, error = %e, "the phone caller's number was not kept");
                None
            }
        }
    }

    /// The goodbye has played: the call ends, by callback.
    async fn end_call(&self, masked: String) {
        if let Err(e) = self.call.left_number(masked, Asker::Phone).await {
            tracing::info!(call_id = %self.call.id(), error = %e, "the call was over before its goodbye");
        }
    }

    /// Carries out `actions`; false if the leg can no longer be played to.
    async fn carry_out(&self, actions: Vec<Action>) -> bool {
        let (id, caller) = (self.call.id().clone(), CallHandle::caller());
        for action in actions {
            let r = match action {
                Action::Play(parts, then) => {
                    let audio = self.prompts.concat(&parts);
                    self.media
                        .play(id.clone(), caller.clone(), audio, then)
                        .await
                }
                Action::Stop => self.media.stop_playing(id.clone(), caller.clone()).await,
                // Taken out by `greet` before the rest is carried out.
                Action::KeepNumber(_) | Action::EndCall => Ok(()),
                Action::Chose(language) => {
                    tracing::info!(call_id = %id, %language, "the phone caller chose a language");
                    if let Err(e) = self.call.control(Control::CallerChose(language)).await {
                        tracing::info!(call_id = %id, error = %e, "language not set");
                    }
                    Ok(())
                }
            };
            if let Err(e) = r {
                tracing::info!(call_id = %id, error = %e, "prompts stop: the phone leg cannot be played to");
                return false;
            }
        }
        true
    }
}
