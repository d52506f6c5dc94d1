//! How offers and requests end: accepts (withdrawing parallel losers), declines and expiries
//! (moving on), cancellations, call ends and wrap-up, a lost interpreter's replacement, and the
//! timer (escalation, sweeps, wrap-up ends).

use super::request::{LiveOffer, Request};
use super::types::{Escalation, LostWhy, NewRequest, Phase, ProgressEvent, RequestState};
use super::{Action, DispatchError, Dispatcher, SWEEP_GRACE_MS};
use crate::domain::pool_state::OfferState;
use crate::domain::{CallId, InterpreterId, Language, Millis, OfferId};

impl Dispatcher {
    pub(super) fn on_offer_ended(
        &mut self,
        offer: &OfferId,
        state: OfferState,
        paused: bool,
        now: Millis,
    ) -> Result<(), DispatchError> {
        if state == OfferState::Pending {
            return Err(DispatchError::NotEnded(offer.clone()));
        }
        if let Some(who) = self.orphans.remove(offer) {
            if state == OfferState::Accepted {
                self.release(offer.clone(), who);
            }
            return Ok(());
        }
        let Some(call) = self.offer_calls.remove(offer) else {
            return Ok(()); // another node's offer
        };
        let Some(r) = self.requests.get_mut(&call) else {
            return Ok(());
        };
        let Some(idx) = r.offers.iter().position(|o| &o.id == offer) else {
            return Ok(());
        };
        let live = r.offers.remove(idx);
        let language = r.language;
        let Some(who) = live.interpreter else {
            // An end reported before its claim result: the driver broke the protocol. Make sure
            // nobody stays held by it, then look for someone else.
            if state == OfferState::Accepted {
                self.release(offer.clone(), None);
            }
            self.retry(&call);
            return Ok(());
        };
        match state {
            OfferState::Accepted => self.accepted(&call, offer.clone(), who, now),
            OfferState::Declined => {
                self.notify(
                    &call,
                    language,
                    ProgressEvent::Declined {
                        interpreter: who.clone(),
                    },
                );
                self.freed(&who);
                self.retry(&call);
            }
            _ => {
                // Expired by a sweep, or withdrawn after the grace: either way unanswered in time.
                self.notify(
                    &call,
                    language,
                    ProgressEvent::TimedOut {
                        interpreter: who.clone(),
                        paused,
                    },
                );
                if !paused {
                    self.freed(&who);
                }
                self.retry(&call);
            }
        }
        Ok(())
    }

    pub(super) fn accepted(
        &mut self,
        call: &CallId,
        offer: OfferId,
        who: InterpreterId,
        now: Millis,
    ) {
        let Some(r) = self.requests.get_mut(call) else {
            return;
        };
        r.state = RequestState::Accepted;
        r.accepted = Some((offer.clone(), who.clone()));
        r.position = None;
        r.escalate_at = None;
        let language = r.language;
        let waited_ms = now.saturating_sub(r.requested_at);
        let relay = match r.phase {
            Phase::Relay { language } => Some(language),
            _ => None,
        };
        let others: Vec<LiveOffer> = r.offers.drain(..).collect();
        self.notify(
            call,
            language,
            ProgressEvent::Accepted {
                name: self.name_of(&who),
                interpreter: who,
                offer,
                waited_ms,
                relay,
            },
        );
        for o in others {
            self.withdraw(call, language, o);
        }
    }

    pub(super) fn withdraw(&mut self, call: &CallId, language: Language, o: LiveOffer) {
        self.offer_calls.remove(&o.id);
        self.orphans.insert(o.id.clone(), o.interpreter.clone());
        if let Some(interpreter) = o.interpreter {
            self.actions.push_back(Action::Cancel(o.id.clone()));
            self.notify(
                call,
                language,
                ProgressEvent::Withdrawn {
                    interpreter,
                    offer: o.id,
                },
            );
        }
        // A claim still in flight is cancelled when its result arrives.
    }

    pub(super) fn release(&mut self, offer: OfferId, who: Option<InterpreterId>) {
        self.release_after(offer, who, self.policy.wrap_up_ms);
    }

    /// Releases an accepted offer; its interpreter may be offered again after `wrap_up_ms`.
    fn release_after(&mut self, offer: OfferId, who: Option<InterpreterId>, wrap_up_ms: u64) {
        self.actions.push_back(Action::Release {
            offer,
            wrap_up_ms,
            at: self.now,
        });
        match who {
            Some(who) if wrap_up_ms == 0 => self.freed(&who),
            Some(who) => self
                .wrap_ups
                .entry(self.now.saturating_add(wrap_up_ms))
                .or_default()
                .push(who),
            None => {}
        }
    }

    /// Ends a request: withdraws its offers or releases its interpreter. With `tell` the operator
    /// hears how: `Removed` when an interpreter had joined, else `Cancelled`.
    pub(super) fn end(&mut self, call: &CallId, tell: bool) -> Option<Language> {
        let r = self.requests.remove(call)?;
        let language = r.language;
        for o in r.offers {
            self.withdraw(call, language, o);
        }
        let joined = r.accepted.map(|(offer, who)| {
            self.release(offer, Some(who.clone()));
            who
        });
        if tell {
            let event = match joined {
                Some(who) => ProgressEvent::Removed {
                    name: self.name_of(&who),
                    interpreter: who,
                },
                None => ProgressEvent::Cancelled,
            };
            self.notify(call, language, event);
        }
        self.update_positions(language);
        Some(language)
    }

    /// The interpreter's name for the operator's console (the id if the profile is gone).
    pub(super) fn name_of(&self, who: &InterpreterId) -> String {
        self.profiles
            .get(who)
            .map_or_else(|| who.to_string(), |p| p.name.clone())
    }

    /// The joined interpreter left on their own: released to wrap-up, the request is over.
    pub(super) fn on_left(&mut self, call: &CallId) -> Result<(), DispatchError> {
        let r = self
            .requests
            .get(call)
            .ok_or_else(|| DispatchError::NoRequest(call.clone()))?;
        let Some((_, who)) = r.accepted.clone() else {
            return Err(DispatchError::NoInterpreter(call.clone()));
        };
        if let Some(language) = self.end(call, false) {
            let event = ProgressEvent::Left {
                name: self.name_of(&who),
                interpreter: who,
            };
            self.notify(call, language, event);
        }
        Ok(())
    }

    pub(super) fn on_cancel(&mut self, call: &CallId, _now: Millis) -> Result<(), DispatchError> {
        self.end(call, true)
            .map(|_| ())
            .ok_or_else(|| DispatchError::NoRequest(call.clone()))
    }

    /// Takes back a pre-dispatched request: offers withdrawn, an accepted interpreter released
    /// without wrap-up, so nobody stays held for a caller who is not there.
    pub(super) fn on_withdraw(&mut self, call: &CallId, _now: Millis) -> Result<(), DispatchError> {
        let r = self
            .requests
            .remove(call)
            .ok_or_else(|| DispatchError::NoRequest(call.clone()))?;
        let language = r.language;
        for o in r.offers {
            self.withdraw(call, language, o);
        }
        if let Some((offer, who)) = r.accepted {
            self.release_after(offer, Some(who), 0);
        }
        self.notify(call, language, ProgressEvent::Cancelled);
        self.update_positions(language);
        Ok(())
    }

    pub(super) fn on_call_ended(&mut self, call: &CallId, _now: Millis) {
        let searching = self
            .requests
            .get(call)
            .is_some_and(|r| r.state != RequestState::Accepted);
        self.end(call, searching);
    }

    pub(super) fn on_lost(
        &mut self,
        call: &CallId,
        why: LostWhy,
        now: Millis,
    ) -> Result<(), DispatchError> {
        let r = self
            .requests
            .get_mut(call)
            .ok_or_else(|| DispatchError::NoRequest(call.clone()))?;
        let Some((offer, lost)) = r.accepted.take() else {
            return Err(DispatchError::NoInterpreter(call.clone()));
        };
        let (language, priority) = (r.language, r.priority.saturating_add(1));
        self.requests.remove(call);
        self.release(offer, Some(lost.clone()));
        self.next_seq += 1;
        let mut req = Request::new(
            NewRequest {
                call: call.clone(),
                language,
                priority,
                preferred: None,
            },
            now,
            self.next_seq,
            self.policy.escalate_after_ms,
        );
        req.tried.insert(lost.clone());
        req.attempts = 1;
        self.requests.insert(call.clone(), req);
        self.notify(
            call,
            language,
            ProgressEvent::ReplacementRequested { lost, why },
        );
        self.need_snapshot.insert(language);
        Ok(())
    }

    pub(super) fn on_timer(&mut self, now: Millis) {
        let mut escalate = Vec::new();
        let mut sweep = false;
        let mut withdraw = Vec::new();
        for r in self.requests.values_mut() {
            if r.escalate_at.is_some_and(|e| e <= now) {
                r.escalate_at = None;
                if r.phase == Phase::Direct {
                    r.phase = Phase::OffShift;
                    r.tried.clear();
                    escalate.push((r.call.clone(), r.language));
                }
            }
            for o in r.offers.iter_mut().filter(|o| o.interpreter.is_some()) {
                if o.deadline <= now && !o.sweep_asked {
                    o.sweep_asked = true;
                    sweep = true;
                }
                if o.deadline.saturating_add(SWEEP_GRACE_MS) <= now && !o.withdrawn {
                    o.withdrawn = true;
                    withdraw.push(o.id.clone());
                }
            }
        }
        for (call, language) in escalate {
            self.notify(
                &call,
                language,
                ProgressEvent::Escalated {
                    to: Escalation::OffShift,
                    operator_language: None,
                },
            );
            self.need_snapshot.insert(language);
        }
        if sweep {
            self.actions.push_back(Action::Sweep {
                max_missed: self.policy.max_missed,
            });
        }
        // The offer stays live until `cancel` says how it ended (expired, or cancelled now).
        self.actions
            .extend(withdraw.into_iter().map(Action::Cancel));
        let later = self.wrap_ups.split_off(&now.saturating_add(1));
        let due = std::mem::replace(&mut self.wrap_ups, later);
        for who in due.into_values().flatten() {
            self.freed(&who);
        }
    }
}
