//! One task per live call owns that call: it holds the engine `Call`, carries out its decisions
//! against the media plane (join, leave, set_routes, end_call) and fans the call's state out to the
//! call's signalling sessions. `CallHandle` is the only way in (sessions, the HTTP API, the
//! dispatcher). It decides neither who hears whom (`engine`) nor who may ask (`api`).

use super::clock::now_ms;
use super::lifecycle::Lifecycle;
use super::media::{MediaError, MediaHandle};
use crate::domain::{CallId, CaseNumber, InterpreterId, Language, Millis, ParticipantId, Role};
use crate::domain::{EndedBy, EventKind, LegMedia};
use crate::engine::caller_wait::{CallerWait, Presence, WaitError, WaitInput, WaitPolicy, NEVER};
use crate::engine::{AttendancePolicy, Call, CallError, CallState, Supervision};
use crate::pool::InterpreterPool;
use crate::protocol::LeftReason;
use crate::protocol::{CallView, LanguageView, LevelView, SlotView};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

/// Commands queued to one call task; senders wait when it is full (backpressure on signalling).
pub const COMMAND_CAPACITY: usize = 64;
/// Updates buffered per session; a session that falls further behind skips to the newest state.
pub const UPDATE_CAPACITY: usize = 64;
/// RFC 6464 level (-dBov) below which a participant counts as speaking (the media plane's, which
/// reports a level whenever this flips).
pub use crate::sfu::SPEAKING_BELOW;
/// The caller's participant id in every call.
pub const CALLER: &str = "caller";

#[derive(Debug, thiserror::Error)]
pub enum CallTaskError {
    #[error(transparent)]
    Call(#[from] CallError),
    #[error("interpreter {0} has not been invited to this call")]
    NotInvited(InterpreterId),
    #[error(transparent)]
    Media(#[from] MediaError),
    #[error("this service runs without a media plane")]
    NoMedia,
    #[error("the call is over")]
    Gone,
    #[error(transparent)]
    Wait(#[from] WaitError),
    #[error("the call has no case number yet")]
    NoCase,
    #[error("the caller is not on a phone: their page shows the case number")]
    NotAPhone,
    /// A phone caller's call-back is refused: an operator is with them, or the call is over.
    #[error("the caller is no longer waiting for an operator")]
    NotWaiting,
    /// The caller has left a number to be called back and is hearing the goodbye.
    #[error("the caller has left a number to be called back")]
    LeavingNumber,
}

/// What a call tells its sessions. Targeted updates name their participant.
#[derive(Debug, Clone)]
pub enum CallUpdate {
    State(Arc<CallView>),
    Slots {
        participant: ParticipantId,
        slots: Vec<SlotView>,
    },
    Levels(Arc<Vec<LevelView>>),
    /// The participant is out of the call (removed, or left); its session leaves too.
    Removed {
        participant: ParticipantId,
        reason: LeftReason,
    },
    /// For the caller: the call has waited `waited_ms` for an operator; keep waiting (answer
    /// before `reply_by`) or call again later.
    LongWait {
        waited_ms: u64,
        reply_by: Millis,
    },
    /// For the phone caller's greeter: read the case number out, in `language` (English while
    /// the call's language is unknown).
    ReadCaseNumber {
        number: CaseNumber,
        language: Option<Language>,
    },
}

/// What a call task tells the book of live calls and the operator queue about itself
/// (`CallRegistry` keeps it; the task never names the registry).
pub(crate) trait CallBook: Send + Sync {
    /// The call left the queue (answered).
    fn dequeue(&self, id: &CallId);
    /// The call needs an operator again; back in the queue at its original time.
    fn requeue(&self, id: &CallId, language: LanguageView, queued_at: Millis);
    /// The queued call's caller presence changed (pre-dispatch follows the queue).
    fn set_caller_presence(&self, id: &CallId, caller: Presence);
    /// The operator set the queued call's language.
    fn set_queue_language(&self, id: &CallId, language: LanguageView);
    /// The task has ended the call.
    fn finish(&self, id: &CallId);
}

/// A caller leaving a number to be called back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leaving {
    No,
    /// The store is writing the number.
    Keeping,
    /// The number is kept (the caller may still be hearing the goodbye).
    Kept,
}

/// A change an operator (or a participant to itself) asks for.
#[derive(Debug, Clone)]
pub enum Control {
    Mute {
        participant: ParticipantId,
        muted: bool,
        /// Who asks, when it is not the participant themselves (the operator).
        by: Option<Role>,
    },
    Hold(bool),
    Consult(bool),
    /// A supervisor in the call listens, whispers to the operators or barges in (their own).
    Supervise {
        participant: ParticipantId,
        mode: Supervision,
    },
    Language(Language),
    /// The caller chose the call's language themselves (a phone caller's key in the menu).
    CallerChose(Language),
}

/// Where a caller asks to be called back from: the page (answering the long-wait question) or
/// the phone (star, once offered by the greeting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asker {
    Page,
    Phone,
}

mod controls;
mod handle;
mod media;
mod report;
mod wait;

use wait::{caller_media, wake_instant};

use handle::Command;
pub use handle::{
    interpreter_participant, operator_participant, supervisor_participant, CallHandle,
};

pub(crate) struct Spawn {
    pub id: CallId,
    pub token_sha256: String,
    pub language: LanguageView,
    pub now: Millis,
    pub grace: Duration,
    pub interpreter_silence: Option<Duration>,
    pub wait: WaitPolicy,
    pub media: Option<MediaHandle>,
    pub pool: Arc<dyn InterpreterPool>,
    pub book: Arc<dyn CallBook>,
    /// The task runs on the node's tracker and ends the call when the node stops.
    pub lifecycle: Lifecycle,
}

/// Starts the task of a new, queued call.
pub(crate) fn spawn(s: Spawn) -> CallHandle {
    let (tx, rx) = mpsc::channel(COMMAND_CAPACITY);
    let (updates, _) = broadcast::channel(UPDATE_CAPACITY);
    let handle = CallHandle {
        id: s.id.clone(),
        token_sha256: s.token_sha256.into(),
        commands: tx,
        updates: updates.clone(),
    };
    let policy = AttendancePolicy {
        grace_ms: s.grace.as_millis() as Millis,
        interpreter_silence_ms: s.interpreter_silence.map(|d| d.as_millis() as Millis),
    };
    let task = CallTask {
        call: Call::with_policy(s.id, CallHandle::caller(), s.now, policy),
        language: s.language,
        created_at: s.now,
        answered_at: None,
        ended_at: None,
        names: BTreeMap::new(),
        interpreters: BTreeMap::new(),
        media_kinds: BTreeMap::new(),
        invited: BTreeSet::new(),
        muted_by: BTreeMap::new(),
        ended_by: None,
        leaving: Leaving::No,
        case: None,
        returning_case: None,
        brief: None,
        case_category: None,
        wait: CallerWait::new(s.wait, s.now),
        wait_wake: NEVER,
        media: s.media,
        pool: s.pool,
        book: s.book,
        updates,
    };
    let stop = s.lifecycle.child();
    s.lifecycle.spawn(task.run(rx, stop));
    handle
}

struct CallTask {
    call: Call,
    language: LanguageView,
    created_at: Millis,
    answered_at: Option<Millis>,
    ended_at: Option<Millis>,
    names: BTreeMap<ParticipantId, String>,
    /// Which interpreter each interpreter participant is (for the audit stream).
    interpreters: BTreeMap<ParticipantId, InterpreterId>,
    /// What carried each participant's audio, once it connected (for the call's record).
    media_kinds: BTreeMap<ParticipantId, LegMedia>,
    invited: BTreeSet<InterpreterId>,
    /// Participants muted by someone else (the operator), and by whom.
    muted_by: BTreeMap<ParticipantId, Role>,
    /// Who or what ended the call, once it has.
    ended_by: Option<EndedBy>,
    /// Whether the caller is leaving a number to be called back: while it is kept and once it
    /// is, no operator answers, and the call ends by callback however it ends.
    leaving: Leaving,
    /// The call's case number, once it has one (`CallView::case_number`).
    case: Option<CaseNumber>,
    /// The case a returning caller named (`CallView::returning_case`).
    returning_case: Option<CaseNumber>,
    /// The operator's brief for the interpreter (`CallView::brief`).
    brief: Option<String>,
    /// The case's category (`CallView::case_category`).
    case_category: Option<String>,
    /// Whether the queued caller is there, and the longest queue wait (`wait`).
    wait: CallerWait,
    /// When `wait` wants its timer (`NEVER`: not at all).
    wait_wake: Millis,
    media: Option<MediaHandle>,
    pool: Arc<dyn InterpreterPool>,
    book: Arc<dyn CallBook>,
    updates: broadcast::Sender<CallUpdate>,
}

impl CallTask {
    async fn run(mut self, mut rx: mpsc::Receiver<Command>, stop: CancellationToken) {
        let id = self.call.id().clone();
        tracing::info!(call_id = %id, "call queued");
        loop {
            // The engine's next deadline (an absence, a silence) and the queue wait's timer.
            let wake = self
                .call
                .next_deadline()
                .unwrap_or(NEVER)
                .min(self.wait_wake);
            let cmd = tokio::select! {
                // The node stops (the drain has already ended its calls, or this is a test).
                _ = stop.cancelled() => break,
                cmd = rx.recv() => match cmd {
                    Some(c) => c,
                    None => break,
                },
                _ = sleep_until(wake_instant(wake)) => {
                    self.timer().await;
                    if self.call.state().is_final() { break; }
                    continue;
                }
            };
            self.handle(cmd).await;
            if self.call.state().is_final() {
                break;
            }
        }
        self.finish().await;
        // Whatever is still queued is dropped with its reply sender: the asker gets `Gone`.
        rx.close();
        tracing::info!(call_id = %id, state = ?self.call.state(), "call over");
    }

    async fn handle(&mut self, cmd: Command) {
        let now = now_ms();
        match cmd {
            Command::Attach(p, reply) => {
                let r = match self.call.attach(&p) {
                    Ok(_) => Ok(self.view()),
                    Err(e) => Err(e.into()),
                };
                let _ = reply.send(r);
                self.caller_sessions(&p).await;
            }
            Command::Detach(p) => {
                self.call.detach(&p, now);
                self.caller_sessions(&p).await;
            }
            Command::Answer(p, name, reply) => {
                let r = if self.call.role_of(&p) == Some(Role::Operator) {
                    Ok(())
                } else if self.leaving != Leaving::No {
                    Err(CallTaskError::LeavingNumber)
                } else {
                    let queued = self.call.state() == CallState::Queued;
                    let r = self.call.answer(p.clone(), now);
                    if r.is_ok() {
                        self.names.insert(p, name.clone());
                        if queued {
                            self.answered_at = Some(now);
                            self.feed_wait(WaitInput::Answered).await;
                        }
                        tracing::info!(call_id = %self.call.id(), operator = %name, "call answered");
                        // State first: a caller must never see "queued" without a position.
                        self.changed().await;
                        // Also a take-over of a call whose operator had left (it was requeued).
                        self.book.dequeue(self.call.id());
                    }
                    r.map_err(Into::into)
                };
                let _ = reply.send(r);
            }
            Command::Invite(iid, reply) => {
                let r = if self.call.state().is_final() {
                    Err(CallError::Ended.into())
                } else {
                    if self.invited.insert(iid.clone()) {
                        tracing::info!(call_id = %self.call.id(), interpreter_id = %iid, "interpreter invited");
                        self.broadcast_state();
                    }
                    Ok(())
                };
                let _ = reply.send(r);
            }
            Command::Uninvite(iid, reply) => {
                if self.invited.remove(&iid) {
                    tracing::info!(call_id = %self.call.id(), interpreter_id = %iid, "invitation taken back");
                    self.broadcast_state();
                }
                let _ = reply.send(Ok(()));
            }
            Command::JoinInterpreter(iid, reply) => {
                let p = interpreter_participant(&iid);
                let r = if self.call.role_of(&p) == Some(Role::Interpreter) {
                    Ok(p)
                } else if !self.invited.contains(&iid) {
                    Err(CallTaskError::NotInvited(iid))
                } else {
                    match self.call.add_interpreter(p.clone(), now) {
                        Ok(()) => {
                            self.invited.remove(&iid);
                            // Shown to the others by name; the id only if the profile is gone.
                            let name = match self.pool.profile(&iid).await {
                                Ok(Some(profile)) => profile.name,
                                _ => iid.to_string(),
                            };
                            self.names.insert(p.clone(), name);
                            self.interpreters.insert(p.clone(), iid.clone());
                            tracing::info!(call_id = %self.call.id(), interpreter_id = %iid, "interpreter joined");
                            self.audit(EventKind::Join, now, Some(iid.clone()), String::new())
                                .await;
                            self.changed().await;
                            Ok(p)
                        }
                        Err(e) => Err(e.into()),
                    }
                };
                let _ = reply.send(r);
            }
            Command::JoinSupervisor(name, reply) => {
                let p = supervisor_participant(&name);
                let r = if self.call.role_of(&p) == Some(Role::Supervisor) {
                    Ok(p)
                } else {
                    match self.call.add_supervisor(p.clone(), now) {
                        Ok(()) => {
                            tracing::info!(call_id = %self.call.id(), supervisor = %name, "supervisor joined, listening");
                            self.names.insert(p.clone(), name.clone());
                            self.supervised(&name, Supervision::Listen, now).await;
                            self.changed().await;
                            Ok(p)
                        }
                        Err(e) => Err(e.into()),
                    }
                };
                let _ = reply.send(r);
            }
            Command::Remove(p, reason, reply) => {
                let r = self.remove(&p, reason, now).await;
                let _ = reply.send(r);
            }
            Command::Offer(p, sdp, reply) => {
                let r = self.join_media(p, sdp).await;
                let _ = reply.send(r);
            }
            Command::Candidate(p, candidate, reply) => {
                let r = match (&self.media, self.call.role_of(&p)) {
                    (_, None) => Err(CallError::NotInCall(p).into()),
                    (None, _) => Err(CallTaskError::NoMedia),
                    (Some(m), Some(_)) => m
                        .add_candidate(self.call.id().clone(), p, candidate)
                        .await
                        .map_err(Into::into),
                };
                let _ = reply.send(r);
            }
            Command::Control(c, reply) => {
                let r = self.control(c, now).await;
                let _ = reply.send(r);
            }
            Command::HangUp(by, reply) => {
                let r = self.call.hang_up(now).map_err(Into::into);
                if r.is_ok() {
                    self.ended_by = Some(by);
                }
                let _ = reply.send(r);
            }
            Command::SetCase(number) => {
                if self.case.as_ref() != Some(&number) {
                    tracing::info!(call_id = %self.call.id(), case = %number, "case of the call");
                    self.case = Some(number);
                    self.broadcast_state();
                }
            }
            Command::Returning(number) => {
                self.returning_case = Some(number);
                self.broadcast_state();
            }
            Command::View(reply) => {
                let _ = reply.send(Ok(self.view()));
            }
            Command::KeepWaiting(reply) => {
                let r = self.keep_waiting(now).await;
                let _ = reply.send(r);
            }
            Command::KeepingNumber(by, reply) => {
                let _ = reply.send(self.keeping_number(by));
            }
            Command::NotKept => self.not_kept(),
            Command::KeptNumber(masked, by, reply) => {
                let r = self.kept_number(masked, by, now).await;
                let _ = reply.send(r);
            }
            Command::LeftNumber(masked, by, reply) => {
                let r = self.left_number(masked, by, now).await;
                let _ = reply.send(r);
            }
            Command::ReadCaseNumber(reply) => {
                let _ = reply.send(self.read_case_number());
            }
            Command::Brief(brief, reply) => {
                if self.brief != brief {
                    self.brief = brief;
                    self.broadcast_state();
                }
                let _ = reply.send(Ok(()));
            }
            Command::Category(category) => {
                if self.case_category != category {
                    self.case_category = category;
                    self.broadcast_state();
                }
            }
            Command::Media(ev) => {
                let caller = caller_media(&ev);
                self.media_event(ev, now);
                if let Some(input) = caller {
                    self.feed_wait(input).await;
                }
            }
        }
    }

    /// The operator asks for the case number to be read to the phone caller: the greeter plays it.
    fn read_case_number(&self) -> Result<(), CallTaskError> {
        if self.call.state() != CallState::Answered {
            return Err(CallError::NotAnswered.into());
        }
        let number = self.case.clone().ok_or(CallTaskError::NoCase)?;
        if self.media_kinds.get(&CallHandle::caller()) != Some(&LegMedia::Phone) {
            return Err(CallTaskError::NotAPhone);
        }
        tracing::info!(call_id = %self.call.id(), case = %number, "case number read out to the phone caller");
        let _ = self.updates.send(CallUpdate::ReadCaseNumber {
            number,
            language: self.language.code,
        });
        Ok(())
    }

    /// A timer went off: the engine names who is out (an absence, a silence), and the queue
    /// wait gets its turn.
    async fn timer(&mut self) {
        let now = now_ms();
        for (p, reason) in self.call.due(now) {
            if reason == LeftReason::MediaSilent {
                tracing::info!(call_id = %self.call.id(), participant = %p, "interpreter media silent; taken out");
            }
            if let Err(e) = self.remove(&p, reason, now).await {
                tracing::debug!(call_id = %self.call.id(), participant = %p, error = %e, "expire");
            }
        }
        if !self.call.state().is_final() && self.wait_wake <= now {
            self.feed_wait(WaitInput::Timer).await;
        }
    }

    /// After every change of participants or controls: new routes to the media plane, new state
    /// to the sessions.
    async fn changed(&mut self) {
        self.push_routes().await;
        self.broadcast_state();
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
