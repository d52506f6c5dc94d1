//! The dispatch task's handle: `DispatchHandle` (cheap, in `AppState`) and the commands it
//! queues. The tasks that feed it from elsewhere are in `feeders.rs`.

use super::{feeders, Driver, COMMAND_CAPACITY, PROGRESS_CAPACITY};
use crate::config::Settings;
use crate::domain::{CallId, InterpreterId, Language, Millis, NodeId, OfferId, ParticipantId};
use crate::drivers::bus::{offer_node, Bus, BusMessage, Inbox};
use crate::drivers::call_registry::CallRegistry;
use crate::drivers::dispatch::{Consoles, Phones};
use crate::drivers::lifecycle::Lifecycle;
use crate::engine::dispatch::{DispatchError, Dispatcher, Policy, Progress};
use crate::pool::{InterpreterPool, OfferState, PoolError, Status};
use crate::protocol::{LeftReason, ServerMessage};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, oneshot};

#[derive(Debug, thiserror::Error)]
pub enum DispatchRefused {
    #[error(transparent)]
    Engine(#[from] DispatchError),
    #[error("no live call {0}")]
    NoCall(CallId),
    #[error("the dispatcher is not running")]
    Stopped,
    #[error("this node is shutting down and makes no new offers; calls in progress go on")]
    Draining,
}

type Reply = oneshot::Sender<Result<(), DispatchRefused>>;

pub(super) enum Cmd {
    Request {
        call: CallId,
        language: Language,
        /// The interpreter the operator asked for by name, rung first.
        preferred: Option<InterpreterId>,
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
        reason: LeftReason,
    },
    Answered(CallId),
    CallEnded(CallId),
    /// The interpreter's console on another node reconnected: invite them again into the call
    /// they hold here.
    InviteAgain(InterpreterId),
    /// An administrator ended the call in the pool: hang it up.
    EndCall(CallId),
    /// The node stops (its calls have ended): withdraw every offer still pending, release every
    /// interpreter still held, then stop.
    Finish(oneshot::Sender<()>),
}

/// Cheap to clone; every clone talks to the same task.
#[derive(Clone)]
pub struct DispatchHandle {
    pub(super) tx: mpsc::Sender<Cmd>,
    pub(super) consoles: Consoles,
    phones: Phones,
    progress: broadcast::Sender<Progress>,
    bus: Bus,
    pool: Arc<dyn InterpreterPool>,
}

impl DispatchHandle {
    /// Starts this node's dispatch task on `lifecycle`'s tracker (it stops with `finish`, when
    /// the node stops, or when every handle is gone; while the node drains it takes no new
    /// requests). `bus` reaches the other nodes sharing the pool (`Bus::local` for a single
    /// node); `inbox` is what they send this one.
    pub fn start(
        pool: Arc<dyn InterpreterPool>,
        calls: CallRegistry,
        settings: &Settings,
        bus: Bus,
        inbox: Option<Inbox>,
        lifecycle: &Lifecycle,
    ) -> Self {
        let (tx, rx) = mpsc::channel(COMMAND_CAPACITY);
        let (progress, _) = broadcast::channel(PROGRESS_CAPACITY);
        let handle = Self {
            tx: tx.clone(),
            consoles: Consoles::default(),
            phones: Phones::default(),
            progress: progress.clone(),
            bus: bus.clone(),
            pool: pool.clone(),
        };
        let (events, events_rx) = mpsc::unbounded_channel();
        let driver = Driver {
            engine: Dispatcher::new(Policy::from_settings(&settings.dispatch), bus.node()),
            bus,
            pool: pool.clone(),
            calls,
            consoles: handle.consoles.clone(),
            phones: handle.phones.clone(),
            phone_rung: HashMap::new(),
            progress,
            tx: tx.downgrade(),
            events,
            offers: HashMap::new(),
            accepted: HashMap::new(),
            unsettled: Default::default(),
            unjoined: HashSet::new(),
            meta: HashMap::new(),
            predispatched: HashSet::new(),
            last: HashMap::new(),
            profiles_at: None,
            predispatch: settings.dispatch.predispatch,
            threshold: settings.detect.threshold,
            operator_language: settings.languages.operator,
            ws_url: settings.server.ws_url(),
            lifecycle: lifecycle.clone(),
        };
        if let Some(inbox) = inbox {
            lifecycle.spawn(feeders::from_other_nodes(
                inbox,
                handle.clone(),
                lifecycle.child(),
            ));
        }
        lifecycle.spawn(driver.run(rx, lifecycle.child()));
        lifecycle.spawn(feeders::record_events(pool, events_rx));
        handle
    }

    /// The node stops: every offer this node still has pending is withdrawn and every
    /// interpreter it still holds released (to wrap-up), then the task stops. Returns when done
    /// (at once if the task has already stopped).
    pub async fn finish(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Cmd::Finish(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    pub fn consoles(&self) -> &Consoles {
        &self.consoles
    }

    /// The line to the dialler (connected by the SIP edge when it can dial).
    pub fn phones(&self) -> &Phones {
        &self.phones
    }

    /// Progress of every request on this node (operator sessions filter by their call).
    pub fn progress(&self) -> broadcast::Receiver<Progress> {
        self.progress.subscribe()
    }

    pub async fn request(&self, call: CallId, language: Language) -> Result<(), DispatchRefused> {
        self.ask(|reply| Cmd::Request {
            call,
            language,
            preferred: None,
            reply: Some(reply),
        })
        .await
    }

    /// Asks for an interpreter, ringing `preferred` (the operator's pick) first; after their
    /// decline or timeout the search goes on as for any request.
    pub async fn request_preferring(
        &self,
        call: CallId,
        language: Language,
        preferred: InterpreterId,
    ) -> Result<(), DispatchRefused> {
        self.ask(|reply| Cmd::Request {
            call,
            language,
            preferred: Some(preferred),
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

    /// An interpreter's answer to an offer, from a console of this node: settled in the pool
    /// (where the offer may have expired or been taken back meanwhile), then the node that made
    /// the offer is told. Returns how the offer ended.
    pub async fn respond(
        &self,
        offer: &OfferId,
        by: &InterpreterId,
        accept: bool,
        now: Millis,
    ) -> Result<OfferState, PoolError> {
        match self.pool.respond(offer, by, accept, now).await {
            Ok(state) => {
                self.offer_ended(offer.clone(), state, by).await;
                Ok(state)
            }
            Err(e @ PoolError::TooLate(_)) => {
                // Expired in the pool before the owner's timer noticed: end the ring now.
                self.offer_ended(offer.clone(), OfferState::Expired, by)
                    .await;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// `offer` ended as `state` by `by`'s answer. The node that made the offer is told (over the
    /// bus when it is another one); a decline frees the interpreter for every node's waiting
    /// requests.
    async fn offer_ended(&self, offer: OfferId, state: OfferState, by: &InterpreterId) {
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

    /// An interpreter the pool freed after their node was lost (`drivers::lease`): their console
    /// hears they are available, and every node's waiting requests look again.
    pub async fn recovered(&self, iid: InterpreterId, now: Millis) {
        let msg = ServerMessage::InterpreterStatus {
            status: Status::Available,
            until: None,
            now,
        };
        if !self.consoles.send(&iid, msg.clone()) {
            self.bus.publish(
                None,
                BusMessage::Console {
                    interpreter: iid.clone(),
                    message: Box::new(msg),
                },
            );
        }
        self.available(iid).await;
    }

    /// An administrator ended `call` in the pool: the node holding it (this one or another)
    /// hangs it up.
    pub async fn end_call_on(&self, node: NodeId, call: CallId) {
        if node.get() == self.bus.node() {
            let _ = self.tx.send(Cmd::EndCall(call)).await;
        } else {
            self.bus
                .publish(Some(node.get()), BusMessage::EndCall { call });
        }
    }

    /// An administrator freed the interpreter of `call` in the pool: the node holding the call
    /// takes them out of it (or stops its search).
    pub async fn send_out_on(&self, node: NodeId, call: CallId) {
        if node.get() == self.bus.node() {
            let _ = self.cancel(call).await;
        } else {
            self.bus
                .publish(Some(node.get()), BusMessage::SendOut { call });
        }
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
