//! How the dispatch task reaches people: rings, withdrawals and invitations to interpreter
//! consoles (here or over the node bus), expiries found by the sweep, progress to operators and
//! the audit stream, and the operator console's line for each progress event. An offer that
//! rings a phone (`ring_via`) goes to the dialler instead, and so do its end and invitation.

use super::Driver;
use crate::domain::EventKind;
use crate::domain::{CallId, InterpreterId, Millis, OfferId};
use crate::drivers::bus::{offer_node, BusMessage};
use crate::drivers::clock::now_ms;
use crate::drivers::dispatch::PhoneCmd;
use crate::engine::dispatch::{Input, Progress, ProgressEvent, RequestState};
use crate::engine::phone_ring::{ring_via, RingVia};
use crate::pool::{Offer, OfferState, PoolEvent, Status};
use crate::protocol::{OfferEndReason, ServerMessage};
use std::time::Duration;

impl Driver {
    /// Delivers `msg` to `iid`'s console: here when it is connected here, else over the bus to
    /// whichever node it is connected to. False when this node knows it reaches nobody.
    pub(super) fn tell(&self, iid: &InterpreterId, msg: ServerMessage) -> bool {
        if let Some((offer, call)) = self.phone_rung.get(iid) {
            let cmd = match &msg {
                ServerMessage::Invited { call_id, .. } if call_id == call => {
                    Some(PhoneCmd::Invited {
                        offer: offer.clone(),
                    })
                }
                ServerMessage::OfferEnded {
                    offer_id, reason, ..
                } if offer_id == offer => {
                    (*reason != OfferEndReason::Accepted).then(|| PhoneCmd::Ended {
                        offer: offer.clone(),
                    })
                }
                _ => None,
            };
            if let Some(cmd) = cmd {
                return self.phones.send(cmd);
            }
        }
        if self.consoles.is_connected(iid) || !self.bus.is_shared() {
            return self.consoles.send(iid, msg);
        }
        self.bus.publish(
            None,
            BusMessage::Console {
                interpreter: iid.clone(),
                message: Box::new(msg),
            },
        );
        true
    }

    /// The invitation into `call` (which lives here): a console on another node is sent this
    /// node's WebSocket URL, since a call's signalling and media are on its own node.
    pub(super) fn invited(&self, iid: &InterpreterId, call: CallId) -> ServerMessage {
        let elsewhere = self.bus.is_shared() && !self.consoles.is_connected(iid);
        ServerMessage::Invited {
            call_id: call,
            ws_url: if elsewhere { self.ws_url.clone() } else { None },
        }
    }

    /// `iid` may take calls again from `after` on: other nodes' waiting requests look again then
    /// (this node's engine keeps its own wrap-up timers).
    pub(super) fn freed_elsewhere(&self, iid: &InterpreterId, after: Duration) {
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
            let stop = self.lifecycle.child();
            self.lifecycle.spawn(async move {
                tokio::select! {
                    _ = stop.cancelled() => {}
                    _ = tokio::time::sleep(after) => bus.publish(None, msg),
                }
            });
        }
    }

    pub(super) fn ring(&mut self, o: Offer, now: Millis) {
        let created = self.meta.get(&o.call_id).map_or(now, |m| m.created_at);
        let brief = self.meta.get(&o.call_id).and_then(|m| m.brief.clone());
        self.record(EventKind::Offer, &o, now, String::new());
        if self.ring_phone(&o) {
            self.offers.insert(o.id.clone(), o);
            return;
        }
        let delivered = self.tell(
            &o.interpreter,
            ServerMessage::Ring {
                offer_id: o.id.clone(),
                call_id: o.call_id.clone(),
                language: o.language,
                caller_waited_ms: now.saturating_sub(created),
                deadline: o.deadline,
                now,
                job_number: crate::domain::job_number(&o.call_id),
                brief,
            },
        );
        if !delivered {
            tracing::info!(interpreter_id = %o.interpreter, call_id = %o.call_id,
                "offered interpreter has no console; it rings out");
        }
        self.offers.insert(o.id.clone(), o);
    }

    /// Rings `o` on the interpreter's phone when their profile asks for it and a dialler runs;
    /// false when it rings their console instead.
    fn ring_phone(&mut self, o: &Offer) -> bool {
        let iid = &o.interpreter;
        let Some(profile) = self.engine.profile(iid) else {
            self.phone_rung.remove(iid);
            return false;
        };
        let console_open = self.consoles.is_connected(iid);
        let via = ring_via(
            profile.ring,
            profile.phone.as_ref(),
            console_open,
            self.phones.can_dial(),
        );
        if via == RingVia::App {
            self.phone_rung.remove(iid);
            return false;
        }
        let cmd = PhoneCmd::Ring {
            offer: o.clone(),
            profile: Box::new(profile.clone()),
            operator: self.operator_language,
        };
        self.phone_rung
            .insert(iid.clone(), (o.id.clone(), o.call_id.clone()));
        if !self.phones.send(cmd) {
            tracing::warn!(interpreter_id = %iid, call_id = %o.call_id,
                "phone not rung: the dialler is not taking rings; the offer rings out");
        }
        true
    }

    pub(super) fn withdrawn(&mut self, offer: &OfferId, now: Millis) {
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
        self.record(EventKind::Cancel, &o, now, message.into());
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

    pub(super) async fn sweep(&mut self) {
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
            self.record(EventKind::Expire, &o, now, format!("paused={}", x.paused));
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

    pub(super) async fn notify(&mut self, p: Progress) {
        let now = p.at;
        let event =
            |kind: EventKind, interpreter: Option<&InterpreterId>, detail: String| PoolEvent {
                kind,
                at: now,
                call_id: Some(p.call.clone()),
                interpreter: interpreter.cloned(),
                language: Some(p.language),
                offer_id: None,
                detail,
            };
        let e = match &p.event {
            ProgressEvent::Declined { interpreter } => {
                Some(event(EventKind::Decline, Some(interpreter), String::new()))
            }
            ProgressEvent::Escalated { to, .. } => Some(event(
                EventKind::Escalate,
                None,
                format!("{to:?}").to_lowercase(),
            )),
            ProgressEvent::Accepted {
                interpreter,
                offer,
                waited_ms,
                ..
            } => {
                self.accepted_offer(&p.call, interpreter, offer).await;
                crate::metrics::time_to_interpreter(p.language, *waited_ms);
                Some(PoolEvent {
                    offer_id: Some(offer.clone()),
                    ..event(
                        EventKind::Accept,
                        Some(interpreter),
                        format!("time_to_interpreter_ms={waited_ms}"),
                    )
                })
            }
            ProgressEvent::Failed { reason } => {
                Some(event(EventKind::Fail, None, format!("{reason:?}")))
            }
            ProgressEvent::ReplacementRequested { lost, why } => {
                Some(event(EventKind::Replace, Some(lost), format!("{why:?}")))
            }
            _ => None,
        };
        if let Some(e) = e {
            let _ = self.events.send(e);
        }
        self.last.insert(p.call.clone(), p.clone());
        let _ = self.progress.send(p);
    }

    pub(super) async fn accepted_offer(
        &mut self,
        call: &CallId,
        iid: &InterpreterId,
        offer: &OfferId,
    ) {
        let o = match self.offers.remove(offer) {
            Some(o) => o,
            None if self.accepted.contains_key(offer) => return,
            // The accept's own message never came (a console on another node whose bus
            // message a Redis failover lost); the ring was withdrawn at its timeout, and the
            // withdrawal found the offer accepted in the pool. The interpreter is booked for
            // this call: invite them now, or they would sit booked for a call they never join.
            None => match self.pool.offer(offer).await {
                Ok(Some((o, OfferState::Accepted))) => {
                    tracing::info!(call_id = %call, interpreter_id = %iid, offer_id = %offer,
                        "accept learned from the pool after its ring was withdrawn: inviting");
                    o
                }
                other => {
                    tracing::warn!(call_id = %call, interpreter_id = %iid, offer_id = %offer,
                        found = ?other.map(|f| f.map(|(_, state)| state)),
                        "an accepted offer this dispatcher cannot find: nobody invited");
                    return;
                }
            },
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
}
