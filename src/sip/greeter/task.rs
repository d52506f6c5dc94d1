//! The greeter's task, one per waiting phone caller: feeds the `Greeter` the caller's keys and
//! the end of each prompt (media events), the call's queue position (the registry's queue), the
//! operator answering (the call's updates) and time, and plays what it decides to the phone leg
//! alone. Ends when the operator answers, the call ends or the leg is gone.

use super::{Action, Greeter};
use crate::domain::{CallId, Language};
use crate::drivers::call::{CallHandle, CallUpdate, Control};
use crate::drivers::call_registry::{CallRegistry, Queue};
use crate::drivers::media::{MediaEvent, MediaHandle};
use crate::engine::CallState;
use crate::prompts::Prompts;
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

/// What one phone caller's greeting needs.
pub struct Greeting {
    pub call: CallHandle,
    /// The language the number dialled gave, if any (otherwise the menu).
    pub known: Option<Language>,
    /// The caller languages in configured order: the menu's keys 1-9, then 0.
    pub languages: Vec<Language>,
    pub menu_timeout: Duration,
}

/// Runs the greeting until the operator answers, the call ends, or `stop`.
pub async fn run(
    g: Greeting,
    calls: CallRegistry,
    media: MediaHandle,
    prompts: Prompts,
    stop: CancellationToken,
) {
    let id = g.call.id().clone();
    let caller = CallHandle::caller();
    let mut events = media.subscribe();
    let mut updates = g.call.subscribe();
    let mut queue = calls.queue();
    let Ok(english) = Language::parse("en") else {
        return;
    };
    let at = position(&queue.borrow_and_update(), &id);
    let (mut greeter, first) = Greeter::new(
        g.known,
        &g.languages,
        english,
        g.menu_timeout,
        at,
        Instant::now(),
    );
    let run = Run {
        call: &g.call,
        media: &media,
        prompts: &prompts,
    };
    if !run.carry_out(first).await {
        return;
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
            _ = stop.cancelled() => return,
            ev = events.recv() => match ev {
                Ok(MediaEvent::Digit { call, participant, digit })
                    if call == id && participant == caller =>
                {
                    greeter.digit(digit, Instant::now())
                }
                Ok(MediaEvent::PlayoutDone { call, participant })
                    if call == id && participant == caller =>
                {
                    greeter.playout_done(Instant::now());
                    Vec::new()
                }
                Ok(MediaEvent::Disconnected { call, participant })
                    if call == id && participant == caller => return,
                Ok(_) | Err(RecvError::Lagged(_)) => Vec::new(),
                Err(RecvError::Closed) => return,
            },
            u = updates.recv() => match u {
                Ok(CallUpdate::State(view)) if view.state != CallState::Queued => {
                    // The operator is there (or the call is over): the caller hears the call.
                    run.carry_out(greeter.answered()).await;
                    return;
                }
                Ok(CallUpdate::Removed { participant, .. }) if participant == caller => return,
                Ok(_) | Err(RecvError::Lagged(_)) => Vec::new(),
                Err(RecvError::Closed) => return,
            },
            changed = queue.changed() => {
                if changed.is_err() {
                    return;
                }
                let at = position(&queue.borrow_and_update(), &id);
                greeter.position(at, Instant::now())
            }
            _ = due => greeter.timeout(Instant::now()),
        };
        if !run.carry_out(actions).await {
            return;
        }
    }
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
}

impl Run<'_> {
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
