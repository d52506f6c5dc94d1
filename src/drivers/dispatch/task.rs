//! The dispatch task: one per node, owning the `Dispatcher` engine. It is fed by operators' and
//! pre-dispatch requests, interpreters' answers and availability, call watchers (answered, ended,
//! interpreter gone) and timers; it carries the engine's actions out against the pool, rings the
//! consoles, invites the accepting interpreter into the call and tells operators how it goes.
//! It decides nothing itself: ordering, retries, queueing and escalation are the engine's.

use super::{carry_out, Consoles};
use crate::api::messages::{CallStateView, OfferEndReason, ServerMessage};
use crate::config::Settings;
use crate::domain::{CallId, InterpreterId, Language, Millis, OfferId, ParticipantId};
use crate::drivers::bus::{offer_node, Bus, BusMessage, Inbox};
use crate::drivers::call::{
    interpreter_participant, CallHandle, CallUpdate, GONE_DISCONNECTED, GONE_MEDIA_SILENT,
};
use crate::drivers::call_registry::{CallRegistry, Queue};
use crate::drivers::clock::now_ms;
use crate::engine::dispatch::{
    Action, DispatchError, Dispatcher, Escalation, Input, LostWhy, NewRequest, Policy, Progress,
    ProgressEvent, RequestState, NEVER,
};
use crate::pool::{InterpreterPool, Offer, OfferState, PoolEvent, Status};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};
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
/// Sleep used when the engine has nothing scheduled.
const IDLE_WAKE: Duration = Duration::from_secs(3600);

#[derive(Debug, thiserror::Error)]
pub enum DispatchRefused {
    #[error(transparent)]
    Engine(#[from] DispatchError),
    #[error("no live call {0}")]
    NoCall(CallId),
    #[error("the dispatcher is not running")]
    Stopped,
}

type Reply = oneshot::Sender<Result<(), DispatchRefused>>;

enum Cmd {
    Request {
        call: CallId,
        language: Language,
        reply: Option<Reply>,
    },
    /// Stop the search, or send the joined interpreter out (to wrap-up).
    Cancel {
        call: CallId,
        reply: Reply,
    },
    /// Send the joined interpreter out and find another.
    Replace {
        call: CallId,
        reply: Reply,
    },
    Ended {
        offer: OfferId,
        state: OfferState,
        /// An expiry that paused the interpreter (reported by another node's sweep).
        paused: bool,
    },
    Available(InterpreterId),
    Gone {
        call: CallId,
        participant: ParticipantId,
        reason: String,
    },
    Answered(CallId),
    CallEnded(CallId),
    /// The interpreter's console on another node reconnected: invite them again into the call
    /// they hold here.
    InviteAgain(InterpreterId),
}

/// Cheap to clone; every clone talks to the same task.
#[derive(Clone)]
pub struct DispatchHandle {
    tx: mpsc::Sender<Cmd>,
    consoles: Consoles,
    progress: broadcast::Sender<Progress>,
    bus: Bus,
}

impl DispatchHandle {
    /// Starts this node's dispatch task (it stops with `shutdown` or when every handle is gone).
    /// `bus` reaches the other nodes sharing the pool (`Bus::local` for a single node); `inbox`
    /// is what they send this one.
    pub fn start(
        pool: Arc<dyn InterpreterPool>,
        calls: CallRegistry,
        settings: &Settings,
        bus: Bus,
        inbox: Option<Inbox>,
        shutdown: CancellationToken,
    ) -> Self {
        let (tx, rx) = mpsc::channel(COMMAND_CAPACITY);
        let (progress, _) = broadcast::channel(PROGRESS_CAPACITY);
        let handle = Self {
            tx: tx.clone(),
            consoles: Consoles::default(),
            progress: progress.clone(),
            bus: bus.clone(),
        };
        let (events, events_rx) = mpsc::unbounded_channel();
        let driver = Driver {
            engine: Dispatcher::new(Policy::from_settings(&settings.dispatch), bus.node()),
            bus,
            pool: pool.clone(),
            calls,
            consoles: handle.consoles.clone(),
            progress,
            tx: tx.downgrade(),
            events,
            offers: HashMap::new(),
            accepted: HashMap::new(),
            meta: HashMap::new(),
            predispatched: HashSet::new(),
            last: HashMap::new(),
            profiles_at: None,
            predispatch: settings.dispatch.predispatch,
            threshold: settings.detect.threshold,
            operator_language: settings.languages.operator,
            ws_url: settings.server.ws_url(),
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                if let Some(inbox) = inbox {
                    rt.spawn(from_other_nodes(inbox, handle.clone()));
                }
                rt.spawn(driver.run(rx, shutdown));
                rt.spawn(record_events(pool, events_rx));
            }
            Err(_) => tracing::error!("no tokio runtime: the dispatcher is not running"),
        }
        handle
    }

    pub fn consoles(&self) -> &Consoles {
        &self.consoles
    }

    /// Progress of every request on this node (operator sessions filter by their call).
    pub fn progress(&self) -> broadcast::Receiver<Progress> {
        self.progress.subscribe()
    }

    pub async fn request(&self, call: CallId, language: Language) -> Result<(), DispatchRefused> {
        self.ask(|reply| Cmd::Request {
            call,
            language,
            reply: Some(reply),
        })
        .await
    }

    /// Cancels the search, or removes the joined interpreter (who goes to wrap-up).
    pub async fn cancel(&self, call: CallId) -> Result<(), DispatchRefused> {
        self.ask(|reply| Cmd::Cancel { call, reply }).await
    }

    /// Removes the joined interpreter and seeks another.
    pub async fn replace(&self, call: CallId) -> Result<(), DispatchRefused> {
        self.ask(|reply| Cmd::Replace { call, reply }).await
    }

    /// An interpreter answered an offer in the pool (`respond` returned `state`) on a console of
    /// this node. The node that made the offer is told (over the bus when it is another one); a
    /// decline frees the interpreter for every node's waiting requests.
    pub async fn offer_ended(&self, offer: OfferId, state: OfferState, by: &InterpreterId) {
        let owner = offer_node(&offer).unwrap_or(self.bus.node());
        let mine = owner == self.bus.node();
        if state == OfferState::Declined {
            self.bus.publish(
                None,
                BusMessage::Freed {
                    interpreter: by.clone(),
                },
            );
            if !mine {
                let _ = self.tx.send(Cmd::Available(by.clone())).await;
            }
        }
        if mine {
            let _ = self
                .tx
                .send(Cmd::Ended {
                    offer,
                    state,
                    paused: false,
                })
                .await;
        } else {
            self.bus.publish(
                Some(owner),
                BusMessage::OfferEnded {
                    offer,
                    state,
                    paused: false,
                },
            );
        }
    }

    /// An interpreter's console (re)connected here while they hold the call of `offer`: when that
    /// call lives on another node, that node invites them again (with its `ws_url`), so a reloaded
    /// console finds its way back into the call. A call here is resumed by the session itself.
    pub fn invite_again(&self, iid: &InterpreterId, offer: &OfferId) {
        match offer_node(offer) {
            Some(owner) if owner != self.bus.node() => self.bus.publish(
                Some(owner),
                BusMessage::InviteAgain {
                    interpreter: iid.clone(),
                },
            ),
            _ => {}
        }
    }

    /// An interpreter set themselves available: this node's and every other node's waiting
    /// requests look again.
    pub async fn available(&self, iid: InterpreterId) {
        self.bus.publish(
            None,
            BusMessage::Freed {
                interpreter: iid.clone(),
            },
        );
        let _ = self.tx.send(Cmd::Available(iid)).await;
    }

    async fn ask(&self, cmd: impl FnOnce(Reply) -> Cmd) -> Result<(), DispatchRefused> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(cmd(tx))
            .await
            .map_err(|_| DispatchRefused::Stopped)?;
        rx.await.map_err(|_| DispatchRefused::Stopped)?
    }
}

/// What the task remembers about a call it dispatches for.
struct CallMeta {
    handle: CallHandle,
    created_at: Millis,
    answered: bool,
    /// Accepted while the call was still queued: invite once an operator answers.
    invite_pending: Option<InterpreterId>,
}

struct Driver {
    engine: Dispatcher,
    bus: Bus,
    pool: Arc<dyn InterpreterPool>,
    calls: CallRegistry,
    consoles: Consoles,
    progress: broadcast::Sender<Progress>,
    tx: mpsc::WeakSender<Cmd>,
    events: mpsc::UnboundedSender<PoolEvent>,
    /// Offers made by this node and still ringing.
    offers: HashMap<OfferId, Offer>,
    /// Accepted offers until released.
    accepted: HashMap<OfferId, Offer>,
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
}

impl Driver {
    async fn run(mut self, mut rx: mpsc::Receiver<Cmd>, shutdown: CancellationToken) {
        let mut queue = self.calls.queue();
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
                    Some(c) => self.command(c).await,
                    None => break,
                },
                _ = tokio::time::sleep(sleep) => self.feed(Input::Timer),
                _ = sweep.tick() => self.sweep().await,
                _ = rescan.tick() => self.feed(Input::Rescan),
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
        let inputs = carry_out(self.pool.as_ref(), &action, now).await;
        if let Action::Release {
            offer,
            wrap_up_ms,
            at,
        } = &action
        {
            if let Some(o) = self.accepted.remove(offer) {
                let until = at.saturating_add(*wrap_up_ms);
                self.record("release", &o, now, format!("wrap_up_until={until}"));
                self.freed_elsewhere(&o.interpreter, Duration::from_millis(*wrap_up_ms));
                self.tell(
                    &o.interpreter,
                    ServerMessage::InterpreterStatus {
                        status: Status::WrapUp,
                        until: Some(until),
                        now,
                    },
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

    /// Delivers `msg` to `iid`'s console: here when it is connected here, else over the bus to
    /// whichever node it is connected to. False when this node knows it reaches nobody.
    fn tell(&self, iid: &InterpreterId, msg: ServerMessage) -> bool {
        if self.consoles.is_connected(iid) || !self.bus.is_shared() {
            return self.consoles.send(iid, msg);
        }
        self.bus.publish(
            None,
            BusMessage::Console {
                interpreter: iid.clone(),
                message: msg,
            },
        );
        true
    }

    /// The invitation into `call` (which lives here): a console on another node is sent this
    /// node's WebSocket URL, since a call's signalling and media are on its own node.
    fn invited(&self, iid: &InterpreterId, call: CallId) -> ServerMessage {
        let elsewhere = self.bus.is_shared() && !self.consoles.is_connected(iid);
        ServerMessage::Invited {
            call_id: call,
            ws_url: if elsewhere { self.ws_url.clone() } else { None },
        }
    }

    /// `iid` may take calls again from `after` on: other nodes' waiting requests look again then
    /// (this node's engine keeps its own wrap-up timers).
    fn freed_elsewhere(&self, iid: &InterpreterId, after: Duration) {
        if !self.bus.is_shared() {
            return;
        }
        let bus = self.bus.clone();
        let msg = BusMessage::Freed {
            interpreter: iid.clone(),
        };
        if after.is_zero() {
            bus.publish(None, msg);
        } else {
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                bus.publish(None, msg);
            });
        }
    }

    fn ring(&mut self, o: Offer, now: Millis) {
        let created = self.meta.get(&o.call_id).map_or(now, |m| m.created_at);
        self.record("offer", &o, now, String::new());
        let delivered = self.tell(
            &o.interpreter,
            ServerMessage::Ring {
                offer_id: o.id.clone(),
                call_id: o.call_id.clone(),
                language: o.language,
                caller_waited_ms: now.saturating_sub(created),
                deadline: o.deadline,
                now,
            },
        );
        if !delivered {
            tracing::info!(interpreter_id = %o.interpreter, call_id = %o.call_id,
                "offered interpreter has no console; it rings out");
        }
        self.offers.insert(o.id.clone(), o);
    }

    fn withdrawn(&mut self, offer: &OfferId, now: Millis) {
        let Some(o) = self.offers.remove(offer) else {
            return;
        };
        let taken = self
            .engine
            .request(&o.call_id)
            .is_some_and(|r| r.state == RequestState::Accepted);
        let (reason, message) = if taken {
            (OfferEndReason::Taken, "taken by another interpreter")
        } else {
            (OfferEndReason::Cancelled, "cancelled")
        };
        self.record("cancel", &o, now, message.into());
        self.tell(
            &o.interpreter,
            ServerMessage::OfferEnded {
                offer_id: o.id.clone(),
                call_id: o.call_id.clone(),
                reason,
                message: message.into(),
            },
        );
    }

    async fn sweep(&mut self) {
        let now = now_ms();
        let max_missed = self.engine.policy().max_missed;
        let expired = match self.pool.sweep(now, max_missed).await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "sweep failed");
                return;
            }
        };
        for x in expired {
            let o = x.offer;
            self.offers.remove(&o.id);
            let owner = offer_node(&o.id).unwrap_or(self.bus.node());
            if owner != self.bus.node() {
                // Another node's offer: it learns of the expiry now, not after its grace.
                self.bus.publish(
                    Some(owner),
                    BusMessage::OfferEnded {
                        offer: o.id.clone(),
                        state: OfferState::Expired,
                        paused: x.paused,
                    },
                );
                if !x.paused {
                    self.feed(Input::InterpreterAvailable {
                        interpreter: o.interpreter.clone(),
                    });
                }
            }
            if !x.paused {
                self.freed_elsewhere(&o.interpreter, Duration::ZERO);
            }
            self.record("expire", &o, now, format!("paused={}", x.paused));
            let message = if x.paused {
                "not answered in time; you were paused after missed calls"
            } else {
                "not answered in time"
            };
            self.tell(
                &o.interpreter,
                ServerMessage::OfferEnded {
                    offer_id: o.id.clone(),
                    call_id: o.call_id.clone(),
                    reason: OfferEndReason::Expired,
                    message: message.into(),
                },
            );
            let status = if x.paused {
                Status::Paused
            } else {
                Status::Available
            };
            self.tell(
                &o.interpreter,
                ServerMessage::InterpreterStatus {
                    status,
                    until: None,
                    now,
                },
            );
            self.feed(Input::OfferEnded {
                offer: o.id,
                state: OfferState::Expired,
                paused: x.paused,
            });
        }
    }

    async fn notify(&mut self, p: Progress) {
        let now = p.at;
        let event = |kind: &str, interpreter: Option<&InterpreterId>, detail: String| PoolEvent {
            kind: kind.into(),
            at: now,
            call_id: Some(p.call.clone()),
            interpreter: interpreter.cloned(),
            language: Some(p.language),
            offer_id: None,
            detail,
        };
        let e = match &p.event {
            ProgressEvent::Declined { interpreter } => {
                Some(event("decline", Some(interpreter), String::new()))
            }
            ProgressEvent::Escalated { to, .. } => {
                Some(event("escalate", None, format!("{to:?}").to_lowercase()))
            }
            ProgressEvent::Accepted {
                interpreter,
                offer,
                waited_ms,
                ..
            } => {
                self.accepted_offer(&p.call, interpreter, offer).await;
                Some(event(
                    "accept",
                    Some(interpreter),
                    format!("time_to_interpreter_ms={waited_ms}"),
                ))
            }
            ProgressEvent::Failed { reason } => Some(event("fail", None, format!("{reason:?}"))),
            ProgressEvent::ReplacementRequested { lost, why } => {
                Some(event("replace", Some(lost), format!("{why:?}")))
            }
            _ => None,
        };
        if let Some(e) = e {
            let _ = self.events.send(e);
        }
        self.last.insert(p.call.clone(), p.clone());
        let _ = self.progress.send(p);
    }

    async fn accepted_offer(&mut self, call: &CallId, iid: &InterpreterId, offer: &OfferId) {
        let Some(o) = self.offers.remove(offer) else {
            return;
        };
        self.accepted.insert(offer.clone(), o);
        self.tell(
            iid,
            ServerMessage::OfferEnded {
                offer_id: offer.clone(),
                call_id: call.clone(),
                reason: OfferEndReason::Accepted,
                message: "accepted".into(),
            },
        );
        let Some(meta) = self.meta.get_mut(call) else {
            return;
        };
        if let Err(e) = meta.handle.add_interpreter(iid.clone()).await {
            tracing::warn!(call_id = %call, interpreter_id = %iid, error = %e, "invite failed");
            return;
        }
        if meta.answered {
            let invited = self.invited(iid, call.clone());
            self.tell(iid, invited);
        } else {
            meta.invite_pending = Some(iid.clone());
        }
    }

    async fn command(&mut self, cmd: Cmd) {
        let now = now_ms();
        match cmd {
            Cmd::Request {
                call,
                language,
                reply,
            } => {
                let r = self.request(call, language, now).await;
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
                let input = match reason.as_str() {
                    GONE_DISCONNECTED => Input::InterpreterLost {
                        call,
                        why: LostWhy::Disconnected,
                    },
                    GONE_MEDIA_SILENT => Input::InterpreterLost {
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
            Cmd::CallEnded(call) => {
                self.feed(Input::CallEnded { call: call.clone() });
                self.meta.remove(&call);
                self.predispatched.remove(&call);
                self.last.remove(&call);
            }
        }
    }

    async fn request(
        &mut self,
        call: CallId,
        language: Language,
        now: Millis,
    ) -> Result<(), DispatchRefused> {
        let handle = self
            .calls
            .get(&call)
            .ok_or_else(|| DispatchRefused::NoCall(call.clone()))?;
        let view = handle
            .view()
            .await
            .map_err(|_| DispatchRefused::NoCall(call.clone()))?;
        if view.state.is_over() {
            return Err(DispatchRefused::NoCall(call));
        }
        self.refresh_profiles(now, false).await;
        let new = NewRequest {
            call: call.clone(),
            language,
            priority: 0,
        };
        match self.engine.handle(Input::Request(new), now) {
            Ok(()) => {}
            // Pre-dispatched (or asked twice): the asker sees where the search stands.
            Err(DispatchError::AlreadyRequested(_)) => {
                if let Some(p) = self.last.get(&call) {
                    let _ = self.progress.send(p.clone());
                }
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
        let _ = self.events.send(PoolEvent {
            kind: "request".into(),
            at: now,
            call_id: Some(call.clone()),
            interpreter: None,
            language: Some(language),
            offer_id: None,
            detail: String::new(),
        });
        if !self.meta.contains_key(&call) {
            watch_call(handle.clone(), self.tx.clone());
            self.meta.insert(
                call,
                CallMeta {
                    handle,
                    created_at: view.created_at,
                    answered: view.state != CallStateView::Queued,
                    invite_pending: None,
                },
            );
        }
        Ok(())
    }

    /// The interpreter who accepted `call`'s request, if any.
    fn joined(&self, call: &CallId) -> Option<InterpreterId> {
        self.accepted
            .values()
            .find(|o| &o.call_id == call)
            .map(|o| o.interpreter.clone())
    }

    /// Takes a sent-out interpreter out of the call (if they had joined it).
    async fn send_out(&mut self, call: &CallId, iid: Option<InterpreterId>) {
        let Some(iid) = iid else { return };
        if let Some(m) = self.meta.get_mut(call) {
            m.invite_pending = None;
            let _ = m
                .handle
                .remove_participant(interpreter_participant(&iid))
                .await;
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

    /// Pre-dispatch: a queued call whose language is decided and not the operators' own.
    async fn predispatch_queue(&mut self, queue: &Queue) {
        let now = now_ms();
        for item in queue.iter() {
            let Some(language) = item.language.code else {
                continue;
            };
            let decided = f64::from(item.language.confidence) >= self.threshold;
            if !decided
                || language == self.operator_language
                || self.predispatched.contains(&item.call_id)
            {
                continue;
            }
            self.predispatched.insert(item.call_id.clone());
            match self.request(item.call_id.clone(), language, now).await {
                Ok(()) => {
                    tracing::info!(call_id = %item.call_id, language = %language, "pre-dispatched")
                }
                Err(e) => tracing::debug!(call_id = %item.call_id, error = %e, "no pre-dispatch"),
            }
        }
    }

    fn record(&self, kind: &str, o: &Offer, now: Millis, detail: String) {
        let _ = self.events.send(PoolEvent {
            kind: kind.into(),
            at: now,
            call_id: Some(o.call_id.clone()),
            interpreter: Some(o.interpreter.clone()),
            language: Some(o.language),
            offer_id: Some(o.id.clone()),
            detail,
        });
    }
}

/// Follows one call for the dispatcher: answered, ended, an interpreter out.
fn watch_call(handle: CallHandle, tx: mpsc::WeakSender<Cmd>) {
    let mut updates = handle.subscribe();
    let call = handle.id().clone();
    tokio::spawn(async move {
        let mut answered = false;
        loop {
            let cmd = match updates.recv().await {
                Ok(CallUpdate::State(v)) if v.state.is_over() => Cmd::CallEnded(call.clone()),
                Ok(CallUpdate::State(v)) if !answered && v.state != CallStateView::Queued => {
                    answered = true;
                    Cmd::Answered(call.clone())
                }
                Ok(CallUpdate::Removed {
                    participant,
                    reason,
                }) => Cmd::Gone {
                    call: call.clone(),
                    participant,
                    reason,
                },
                Err(broadcast::error::RecvError::Closed) => Cmd::CallEnded(call.clone()),
                _ => continue,
            };
            let over = matches!(cmd, Cmd::CallEnded(_));
            let Some(tx) = tx.upgrade() else { return };
            if tx.send(cmd).await.is_err() || over {
                return;
            }
        }
    });
}

/// Passes what other nodes send on: console messages to this node's consoles, offer ends and
/// freed interpreters to the dispatch task. Stops with the task.
async fn from_other_nodes(mut inbox: Inbox, handle: DispatchHandle) {
    let consoles = handle.consoles.clone();
    let tx = handle.tx.downgrade();
    drop(handle);
    while let Some(m) = inbox.recv().await {
        let cmd = match m {
            BusMessage::Console {
                interpreter,
                message,
            } => {
                if consoles.is_connected(&interpreter) {
                    consoles.send(&interpreter, message);
                }
                continue;
            }
            BusMessage::OfferEnded {
                offer,
                state,
                paused,
            } => Cmd::Ended {
                offer,
                state,
                paused,
            },
            BusMessage::Freed { interpreter } => Cmd::Available(interpreter),
            BusMessage::InviteAgain { interpreter } => Cmd::InviteAgain(interpreter),
        };
        let Some(tx) = tx.upgrade() else { return };
        if tx.send(cmd).await.is_err() {
            return;
        }
    }
}

/// Writes audit events in order, off the dispatch loop.
async fn record_events(pool: Arc<dyn InterpreterPool>, mut rx: mpsc::UnboundedReceiver<PoolEvent>) {
    while let Some(e) = rx.recv().await {
        if let Err(err) = pool.record(&e).await {
            tracing::warn!(kind = %e.kind, error = %err, "dispatch event not recorded");
        }
    }
}

/// The operator console's line for one progress event.
pub fn progress_line(p: &Progress) -> String {
    match &p.event {
        ProgressEvent::Ringing {
            name,
            university,
            level,
            ..
        } => {
            let univ = university
                .as_ref()
                .map_or_else(|| "?".to_owned(), |u| format!("Univ. {u}"));
            let level = level.map_or_else(String::new, |l| format!(", {l:?}").to_lowercase());
            format!("ringing {name} ({univ}, {}{level})", p.language)
        }
        ProgressEvent::Declined { interpreter } => format!("{interpreter} declined"),
        ProgressEvent::TimedOut {
            interpreter,
            paused,
        } => {
            let paused = if *paused { " (now paused)" } else { "" };
            format!("{interpreter} did not answer{paused}")
        }
        ProgressEvent::RingingNext => "ringing next".into(),
        ProgressEvent::Waiting { position } => format!(
            "waiting: nobody free for {}, position {position}",
            p.language
        ),
        ProgressEvent::Escalated { to, .. } => match to {
            Escalation::OffShift => "escalated to off-shift interpreters".into(),
            Escalation::Relay { language } => format!("escalated to relay via {language}"),
        },
        ProgressEvent::Accepted {
            name, waited_ms, ..
        } => format!(
            "{name} accepted after {:.1} s; joining",
            *waited_ms as f64 / 1000.0
        ),
        ProgressEvent::Withdrawn { interpreter, .. } => {
            format!("offer to {interpreter} withdrawn")
        }
        ProgressEvent::Failed { .. } => format!("failed: no interpreter for {}", p.language),
        ProgressEvent::Cancelled => "cancelled".into(),
        ProgressEvent::ReplacementRequested { lost, why } => match why {
            LostWhy::Disconnected => {
                format!("{lost}'s connection dropped; finding a replacement")
            }
            LostWhy::MediaSilent => format!("{lost}'s audio stopped; finding a replacement"),
            LostWhy::Replaced => format!("replacing {lost}; finding another interpreter"),
        },
    }
}
