//! The dispatch task: one per node, owning the `Dispatcher` engine. It is fed by operators' and
//! pre-dispatch requests, interpreters' answers and availability, call watchers (answered, ended,
//! interpreter gone) and timers; it carries the engine's actions out against the pool, rings the
//! consoles, invites the accepting interpreter into the call and tells operators how it goes.
//! It decides nothing itself: ordering, retries, queueing and escalation are the engine's.

use super::{failed, settlement, try_carry_out, Consoles, Phones};
use crate::domain::EventKind;
use crate::domain::{CallId, InterpreterId, Language, Millis, OfferId};
use crate::drivers::bus::Bus;
use crate::drivers::call::{interpreter_participant, CallHandle};
use crate::drivers::call_registry::CallRegistry;
use crate::drivers::clock::now_ms;
use crate::drivers::lifecycle::Lifecycle;
use crate::engine::caller_wait::Presence;
use crate::engine::dispatch::{Action, Dispatcher, Input, LostWhy, Progress, NEVER};
use crate::pool::{InterpreterPool, Offer, OfferState, PoolEvent, Status};
use crate::protocol::LeftReason;
use crate::protocol::ServerMessage;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

/// Commands queued to the dispatch task.
pub const COMMAND_CAPACITY: usize = 4096;
/// Progress events buffered per operator session.
pub const PROGRESS_CAPACITY: usize = 1024;
/// How stale the engine's profile directory (names, levels, shifts) may get.
pub const PROFILE_REFRESH_MS: Millis = 10_000;
/// How often the pool is swept for offers past their deadline, whoever made them (a node that
/// died leaves its offers to the others' sweeps).
pub const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// How often waiting requests look at the pool again without an event: a safety net for what no
/// event reports (a bus message lost between nodes, a wrap-up timed by another node's clock).
pub const RESCAN_EVERY: Duration = Duration::from_secs(5);
/// Pool writes kept for repeating while the pool is unreachable; past this the oldest is dropped
/// (and logged): its offer then ends by the sweep, or by the node lease.
pub const UNSETTLED_CAPACITY: usize = 10_000;
/// Sleep used when the engine has nothing scheduled.
const IDLE_WAKE: Duration = Duration::from_secs(3600);

mod feeders;
mod handle;
mod notify;
mod predispatch;
mod requests;
mod retries;
mod stop;

use handle::Cmd;
pub use handle::{DispatchHandle, DispatchRefused};

/// What the task remembers about a call it dispatches for.
struct CallMeta {
    handle: CallHandle,
    created_at: Millis,
    answered: bool,
    /// Accepted while the call was still queued: invite once an operator answers.
    invite_pending: Option<InterpreterId>,
    /// The operator's brief, shown to each interpreter rung.
    brief: Option<String>,
}

struct Driver {
    engine: Dispatcher,
    bus: Bus,
    pool: Arc<dyn InterpreterPool>,
    calls: CallRegistry,
    consoles: Consoles,
    /// The dialler, for offers that ring a phone.
    phones: Phones,
    /// Interpreters whose latest offer rang their phone: their offer and its call. Invitations
    /// and offer ends for them go to the dialler instead of a console.
    phone_rung: HashMap<InterpreterId, (OfferId, CallId)>,
    progress: broadcast::Sender<Progress>,
    tx: mpsc::WeakSender<Cmd>,
    events: mpsc::UnboundedSender<PoolEvent>,
    /// Offers made by this node and still ringing.
    offers: HashMap<OfferId, Offer>,
    /// Accepted offers until released.
    accepted: HashMap<OfferId, Offer>,
    /// Pool writes (and snapshots) that failed because the pool was unreachable, repeated on
    /// every sweep tick until it answers (`settlement`), oldest first, each once.
    unsettled: VecDeque<Action>,
    /// Accepted offers whose interpreter was invited but not in the call at the last rescan.
    unjoined: HashSet<OfferId>,
    meta: HashMap<CallId, CallMeta>,
    predispatched: HashSet<CallId>,
    /// The latest progress per call, repeated to an operator who asks again.
    last: HashMap<CallId, Progress>,
    profiles_at: Option<Millis>,
    predispatch: bool,
    threshold: f64,
    operator_language: Language,
    /// This node's signalling URL for consoles on other nodes (`server.public_url`).
    ws_url: Option<String>,
    /// Whether the node drains (no new requests), and the tracker the call watchers run on.
    lifecycle: Lifecycle,
}

impl Driver {
    async fn run(mut self, mut rx: mpsc::Receiver<Cmd>, shutdown: CancellationToken) {
        let mut queue = self.calls.queue_with_presence();
        let mut sweep = tokio::time::interval(SWEEP_EVERY);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut rescan = tokio::time::interval(RESCAN_EVERY);
        rescan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            let wake = self.drain().await;
            let sleep = if wake == NEVER {
                IDLE_WAKE
            } else {
                Duration::from_millis(wake.saturating_sub(now_ms()))
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                cmd = rx.recv() => match cmd {
                    Some(Cmd::Finish(done)) => {
                        self.finish().await;
                        let _ = done.send(());
                        break;
                    }
                    Some(c) => self.command(c).await,
                    None => break,
                },
                _ = tokio::time::sleep(sleep) => self.feed(Input::Timer),
                _ = sweep.tick() => {
                    self.settle().await;
                    self.sweep().await
                }
                _ = rescan.tick() => {
                    self.feed(Input::Rescan);
                    self.invite_unjoined_again().await;
                }
                changed = queue.changed(), if self.predispatch => match changed {
                    Ok(()) => {
                        let q = queue.borrow_and_update().clone();
                        self.predispatch_queue(&q).await;
                    }
                    Err(_) => self.predispatch = false,
                },
            }
        }
        tracing::info!("dispatcher stopped");
    }

    fn feed(&mut self, input: Input) {
        if let Err(e) = self.engine.handle(input, now_ms()) {
            tracing::debug!(error = %e, "dispatch input refused");
        }
    }

    /// Carries out the engine's actions until it has nothing more to do; returns its wake time.
    async fn drain(&mut self) -> Millis {
        loop {
            match self.engine.poll_action() {
                Action::WakeAt(t) => return t,
                Action::Notify(p) => self.notify(p).await,
                Action::Sweep { .. } => self.sweep().await,
                a => self.act(a).await,
            }
        }
    }

    async fn act(&mut self, action: Action) {
        let now = now_ms();
        let inputs = match try_carry_out(self.pool.as_ref(), &action, now).await {
            Ok(inputs) => inputs,
            Err(e) => {
                if let Some(again) = settlement(&action, &e).filter(|a| !self.unsettled.contains(a))
                {
                    self.unsettled.push_back(again);
                    if self.unsettled.len() > UNSETTLED_CAPACITY {
                        let dropped = self.unsettled.pop_front();
                        tracing::error!(action = ?dropped, "pool write dropped: too many unsettled");
                    }
                    metrics::gauge!(crate::metrics::UNSETTLED_WRITES)
                        .set(self.unsettled.len() as f64);
                }
                failed(&action, &e)
            }
        };
        if let Action::Release {
            offer,
            wrap_up_ms,
            at,
        } = &action
        {
            if let Some(o) = self.accepted.remove(offer) {
                let until = at.saturating_add(*wrap_up_ms);
                self.record(
                    EventKind::Release,
                    &o,
                    now,
                    format!("wrap_up_until={until}"),
                );
                self.freed_elsewhere(&o.interpreter, Duration::from_millis(*wrap_up_ms));
                // Released without wrap-up (a pre-dispatch taken back): available at once.
                let (status, until) = if *wrap_up_ms == 0 {
                    (Status::Available, None)
                } else {
                    (Status::WrapUp, Some(until))
                };
                self.tell(
                    &o.interpreter,
                    ServerMessage::InterpreterStatus { status, until, now },
                );
            }
        }
        for input in inputs {
            let ring = match &input {
                Input::Claimed {
                    result: Some(o), ..
                } => Some(o.clone()),
                _ => None,
            };
            let withdrawn = match &input {
                // Withdrawn, or accepted just before the withdrawal (then released): either way
                // the console loses the ring.
                Input::OfferEnded {
                    offer,
                    state: OfferState::Cancelled | OfferState::Accepted,
                    ..
                } => Some(offer.clone()),
                _ => None,
            };
            self.feed(input);
            if let Some(o) = ring {
                self.ring(o, now);
            }
            if let Some(offer) = withdrawn {
                self.withdrawn(&offer, now);
            }
        }
    }

    async fn command(&mut self, cmd: Cmd) {
        let now = now_ms();
        match cmd {
            Cmd::Request {
                call,
                language,
                preferred,
                reply,
            } => {
                let r = self.request(call, language, preferred, now).await;
                if let Some(reply) = reply {
                    let _ = reply.send(r);
                }
            }
            Cmd::Cancel { call, reply } => {
                let joined = self.joined(&call);
                let r = self
                    .engine
                    .handle(Input::Cancel { call: call.clone() }, now)
                    .map_err(Into::into);
                if r.is_ok() {
                    self.send_out(&call, joined).await;
                }
                let _ = reply.send(r);
            }
            Cmd::Replace { call, reply } => {
                let joined = self.joined(&call);
                let r = self
                    .engine
                    .handle(
                        Input::InterpreterLost {
                            call: call.clone(),
                            why: LostWhy::Replaced,
                        },
                        now,
                    )
                    .map_err(Into::into);
                if r.is_ok() {
                    self.send_out(&call, joined).await;
                }
                let _ = reply.send(r);
            }
            Cmd::Ended {
                offer,
                state,
                paused,
            } => {
                if matches!(state, OfferState::Declined | OfferState::Expired) {
                    self.offers.remove(&offer);
                }
                self.feed(Input::OfferEnded {
                    offer,
                    state,
                    paused,
                });
            }
            Cmd::Available(iid) => {
                self.refresh_profiles(now, false).await;
                self.feed(Input::InterpreterAvailable { interpreter: iid });
            }
            Cmd::Gone {
                call,
                participant,
                reason,
            } => {
                let Some(iid) = self.joined(&call) else {
                    return;
                };
                if interpreter_participant(&iid) != participant {
                    return;
                }
                // Gone without a word (console or media): replaced; sent out or left: not.
                let input = match reason {
                    LeftReason::YouLeft => Input::InterpreterLeft { call },
                    LeftReason::Disconnected => Input::InterpreterLost {
                        call,
                        why: LostWhy::Disconnected,
                    },
                    LeftReason::MediaSilent => Input::InterpreterLost {
                        call,
                        why: LostWhy::MediaSilent,
                    },
                    _ => Input::Cancel { call },
                };
                self.feed(input);
            }
            Cmd::Answered(call) => {
                if let Some(m) = self.meta.get_mut(&call) {
                    m.answered = true;
                    if let Some(iid) = m.invite_pending.take() {
                        let invited = self.invited(&iid, call);
                        self.tell(&iid, invited);
                    }
                }
            }
            Cmd::InviteAgain(iid) => {
                let held = self
                    .accepted
                    .values()
                    .find(|o| o.interpreter == iid)
                    .map(|o| o.call_id.clone());
                let Some(call) = held else { return };
                if self.meta.get(&call).is_some_and(|m| m.answered) {
                    let invited = self.invited(&iid, call);
                    self.tell(&iid, invited);
                }
            }
            Cmd::EndCall(call) => {
                if let Some(h) = self.calls.get(&call) {
                    tracing::warn!(call_id = %call, "call ended by an administrator");
                    // Off the dispatch loop: the call task tells this loop it ended.
                    tokio::spawn(async move {
                        let _ = h.hang_up().await;
                    });
                }
            }
            Cmd::CallEnded(call) => {
                let unanswered = self.meta.get(&call).is_some_and(|m| !m.answered);
                if unanswered && self.predispatched.contains(&call) {
                    // Nobody served it: whoever was taken for it is let go without wrap-up.
                    self.withdraw(&call, Presence::Ended).await;
                } else {
                    self.feed(Input::CallEnded { call: call.clone() });
                }
                self.meta.remove(&call);
                self.predispatched.remove(&call);
                self.last.remove(&call);
            }
            // Taken by `run` before it gets here.
            Cmd::Finish(done) => {
                let _ = done.send(());
            }
        }
    }

    async fn refresh_profiles(&mut self, now: Millis, force: bool) {
        let fresh = self
            .profiles_at
            .is_some_and(|t| now.saturating_sub(t) < PROFILE_REFRESH_MS);
        if fresh && !force {
            return;
        }
        match self.pool.profiles().await {
            Ok(p) => {
                self.engine.set_profiles(p);
                self.profiles_at = Some(now);
            }
            Err(e) => tracing::warn!(error = %e, "profiles not refreshed"),
        }
    }

    fn record(&self, kind: EventKind, o: &Offer, now: Millis, detail: String) {
        let _ = self.events.send(PoolEvent {
            kind,
            at: now,
            call_id: Some(o.call_id.clone()),
            interpreter: Some(o.interpreter.clone()),
            language: Some(o.language),
            offer_id: Some(o.id.clone()),
            detail,
        });
    }
}
