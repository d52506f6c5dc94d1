//! Finding interpreters: taking requests, ranking the pool's snapshot into ordered claims,
//! queueing when nobody is free, and looking again whenever someone may have become free.

use super::request::{LiveOffer, Request};
use super::types::{Escalation, FailReason, NewRequest, Phase, ProgressEvent, RequestState};
use super::{rank, Action, DispatchError, Dispatcher, Filter};
use crate::domain::pool_state::{ClaimRequest, InterpreterState, Offer};
use crate::domain::{CallId, InterpreterId, Language, Millis, NodeId, OfferId};
use std::collections::HashSet;

impl Dispatcher {
    pub(super) fn on_request(&mut self, r: NewRequest, now: Millis) -> Result<(), DispatchError> {
        if self.requests.contains_key(&r.call) {
            return Err(DispatchError::AlreadyRequested(r.call));
        }
        self.next_seq += 1;
        let req = Request::new(r, now, self.next_seq, self.policy.escalate_after_ms);
        self.need_snapshot.insert(req.language);
        self.requests.insert(req.call.clone(), req);
        Ok(())
    }

    pub(super) fn on_snapshot(
        &mut self,
        language: Language,
        states: &[InterpreterState],
        now: Millis,
    ) {
        let k = self.policy.parallel_offers;
        let mut order: Vec<&Request> = self
            .requests
            .values()
            .filter(|r| r.language == language && r.wants_offers(k))
            .collect();
        order.sort_by_key(|r| r.serve_key());
        let order: Vec<CallId> = order.into_iter().map(|r| r.call.clone()).collect();
        // Interpreters put at the head of an earlier claim in this round are not offered again.
        let mut picked: HashSet<InterpreterId> = HashSet::new();
        for call in order {
            if states.is_empty() {
                self.fail(&call, FailReason::NoInterpreterForLanguage);
                continue;
            }
            if let Some(p) = self.take_preferred(&call, language, states, &picked, now) {
                picked.insert(p.clone());
                self.claim(&call, vec![p], now);
                continue;
            }
            let Some(r) = self.requests.get(&call) else {
                continue;
            };
            let mut excluded: HashSet<InterpreterId> = r.tried.union(&picked).cloned().collect();
            excluded.extend(r.offers.iter().filter_map(|o| o.interpreter.clone()));
            let ranked = rank(
                &self.profiles,
                states,
                &Filter {
                    language,
                    phase: r.phase,
                    now,
                    presence_ttl_ms: self.policy.presence_ttl_ms,
                    excluded: &excluded,
                },
            );
            let need = k - r.offers.len();
            if ranked.is_empty() {
                if r.offers.is_empty() {
                    self.wait(&call);
                }
                continue;
            }
            for i in 0..need.min(ranked.len()) {
                picked.insert(ranked[i].clone());
                self.claim(&call, ranked[i..].to_vec(), now);
            }
        }
        self.update_positions(language);
    }

    /// The interpreter the operator asked for, if the request has one and they are eligible now
    /// (speaks the language, present, free; on shift or not). Asked once: either way the request
    /// forgets them.
    fn take_preferred(
        &mut self,
        call: &CallId,
        language: Language,
        states: &[InterpreterState],
        picked: &HashSet<InterpreterId>,
        now: Millis,
    ) -> Option<InterpreterId> {
        let r = self.requests.get_mut(call)?;
        let p = r.preferred.take()?;
        if picked.contains(&p) || !r.offers.is_empty() {
            return None;
        }
        let theirs: Vec<InterpreterState> = states.iter().filter(|s| s.id == p).cloned().collect();
        let none = HashSet::new();
        let filter = Filter {
            language,
            phase: Phase::OffShift,
            now,
            presence_ttl_ms: self.policy.presence_ttl_ms,
            excluded: &none,
        };
        rank(&self.profiles, &theirs, &filter).into_iter().next()
    }

    pub(super) fn claim(&mut self, call: &CallId, candidates: Vec<InterpreterId>, now: Millis) {
        self.next_seq += 1;
        let offer_id = match OfferId::parse(&format!("{:016x}-{}", self.node, self.next_seq)) {
            Ok(id) => id,
            Err(_) => OfferId::random(),
        };
        let deadline = now.saturating_add(self.policy.ring_timeout_ms);
        let ttl = self.policy.presence_ttl_ms;
        let Some(r) = self.requests.get_mut(call) else {
            return;
        };
        r.offers.push(LiveOffer {
            id: offer_id.clone(),
            interpreter: None,
            deadline,
            sweep_asked: false,
            withdrawn: false,
        });
        if r.state == RequestState::Queued {
            r.state = RequestState::Searching;
        }
        r.position = None;
        let next = r.attempts > 0;
        r.attempts += 1;
        let language = r.language;
        self.offer_calls.insert(offer_id.clone(), call.clone());
        if next {
            self.notify(call, language, ProgressEvent::RingingNext);
        }
        self.actions.push_back(Action::Claim(ClaimRequest {
            offer_id,
            node: NodeId::new(self.node),
            call_id: call.clone(),
            language,
            candidates,
            now,
            deadline,
            presence_ttl_ms: ttl,
        }));
    }

    /// Nobody eligible and nothing ringing: queue (an escalated request turns to relay first).
    pub(super) fn wait(&mut self, call: &CallId) {
        let Some(r) = self.requests.get_mut(call) else {
            return;
        };
        r.state = RequestState::Queued;
        let relay = self.policy.relay.get(&r.language).copied();
        if let (Phase::OffShift, Some(via)) = (r.phase, relay) {
            r.phase = Phase::Relay { language: via };
            let language = r.language;
            self.notify(
                call,
                language,
                ProgressEvent::Escalated {
                    to: Escalation::Relay { language: via },
                    operator_language: Some(via),
                },
            );
        }
    }

    /// Renumbers the waiting queue of `language` and tells each request whose place changed.
    pub(super) fn update_positions(&mut self, language: Language) {
        let mut queued: Vec<&Request> = self
            .requests
            .values()
            .filter(|r| r.language == language && r.state == RequestState::Queued)
            .collect();
        queued.sort_by_key(|r| r.serve_key());
        let queued: Vec<CallId> = queued.into_iter().map(|r| r.call.clone()).collect();
        for (i, call) in queued.iter().enumerate() {
            let position = i + 1;
            let Some(r) = self.requests.get_mut(call) else {
                continue;
            };
            if r.position != Some(position) {
                r.position = Some(position);
                self.notify(call, language, ProgressEvent::Waiting { position });
            }
        }
    }

    pub(super) fn on_claimed(&mut self, offer: &OfferId, result: Option<Offer>, _now: Millis) {
        if self.orphans.contains_key(offer) {
            match result {
                Some(o) => {
                    self.orphans.insert(offer.clone(), Some(o.interpreter));
                    self.actions.push_back(Action::Cancel(offer.clone()));
                }
                None => {
                    self.orphans.remove(offer);
                }
            }
            return;
        }
        let Some(call) = self.offer_calls.get(offer).cloned() else {
            return;
        };
        let Some(r) = self.requests.get_mut(&call) else {
            return;
        };
        let Some(idx) = r.offers.iter().position(|o| &o.id == offer) else {
            return;
        };
        let language = r.language;
        match result {
            Some(o) => {
                let live = &mut r.offers[idx];
                live.interpreter = Some(o.interpreter.clone());
                live.deadline = o.deadline;
                r.tried.insert(o.interpreter.clone());
                r.state = RequestState::Ringing;
                let p = self.profiles.get(&o.interpreter);
                let event = ProgressEvent::Ringing {
                    name: p.map_or_else(|| o.interpreter.to_string(), |p| p.name.clone()),
                    university: p.map(|p| p.university.clone()),
                    level: p.and_then(|p| p.level_in(language)),
                    interpreter: o.interpreter,
                    offer: o.id,
                    since: o.created,
                };
                self.notify(&call, language, event);
            }
            None => {
                r.offers.remove(idx);
                self.offer_calls.remove(offer);
                if r.offers.is_empty() {
                    self.wait(&call);
                    self.update_positions(language);
                }
            }
        }
    }

    /// Looks for another candidate for a request that lost an offer.
    pub(super) fn retry(&mut self, call: &CallId) {
        if let Some(r) = self.requests.get_mut(call) {
            if r.offers.is_empty() {
                r.state = RequestState::Searching;
            }
            self.need_snapshot.insert(r.language);
        }
    }

    /// Every waiting request's language is looked at again.
    pub(super) fn rescan(&mut self) {
        let k = self.policy.parallel_offers;
        let waiting: Vec<Language> = self
            .requests
            .values()
            .filter(|r| r.state == RequestState::Queued && r.wants_offers(k))
            .map(|r| r.language)
            .collect();
        self.need_snapshot.extend(waiting);
    }

    /// An interpreter may take a call again: requests waiting in their languages look again.
    pub(super) fn freed(&mut self, who: &InterpreterId) {
        let Some(p) = self.profiles.get(who) else {
            return;
        };
        let k = self.policy.parallel_offers;
        for skill in &p.languages {
            if self
                .requests
                .values()
                .any(|r| r.language == skill.language && r.wants_offers(k))
            {
                self.need_snapshot.insert(skill.language);
            }
        }
    }

    pub(super) fn fail(&mut self, call: &CallId, reason: FailReason) {
        if let Some(r) = self.requests.remove(call) {
            let language = r.language;
            for o in r.offers {
                self.withdraw(call, language, o);
            }
            self.notify(call, language, ProgressEvent::Failed { reason });
        }
    }
}
