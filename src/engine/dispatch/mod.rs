//! The dispatch engine: for each call's interpretation request it decides whom to offer the call
//! to, when to move on, queue, escalate or give up, and says so as `Action`s. Pure and sans-I/O:
//! `handle(input, now)` in, `poll_action()` out until `WakeAt`; the driver carries the actions out
//! against the pool (which re-checks every claim atomically) and feeds the results back. It never
//! reads a clock, never blocks and never panics on input.
//!
//! Relay: interpreters are registered by the languages they interpret to and from Chinese, so a
//! relay (e.g. pt via en, with an English-speaking operator) widens nobody new in; it orders the
//! interpreters who also speak the relay language first and tells the operator which language the
//! call then needs.

mod candidates;
#[cfg(test)]
mod tests;
mod types;

pub use candidates::{rank, Filter};
pub use types::{
    Action, DispatchError, Escalation, FailReason, Input, NewRequest, Phase, Policy, Progress,
    ProgressEvent, RequestState, RequestView, NEVER,
};

use crate::domain::{CallId, InterpreterId, InterpreterProfile, Language, Millis, OfferId};
use crate::pool::{ClaimRequest, InterpreterState, Offer, OfferState};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

/// After an offer's deadline, how long a sweep (ours or another node's) has to report the expiry
/// before the engine withdraws the offer itself, so a lost sweep never leaves a request ringing.
pub const SWEEP_GRACE_MS: u64 = 2_000;

#[derive(Debug)]
struct LiveOffer {
    id: OfferId,
    /// `None` while the claim is in flight.
    interpreter: Option<InterpreterId>,
    deadline: Millis,
    sweep_asked: bool,
    withdrawn: bool,
}

#[derive(Debug)]
struct Request {
    call: CallId,
    language: Language,
    priority: u8,
    requested_at: Millis,
    seq: u64,
    state: RequestState,
    phase: Phase,
    /// Offered in the current phase; cleared when the request escalates.
    tried: HashSet<InterpreterId>,
    offers: Vec<LiveOffer>,
    accepted: Option<(OfferId, InterpreterId)>,
    position: Option<usize>,
    /// `None` once escalated or accepted.
    escalate_at: Option<Millis>,
    attempts: u32,
}

impl Request {
    fn new(r: NewRequest, now: Millis, seq: u64, escalate_after: u64) -> Self {
        Self {
            call: r.call,
            language: r.language,
            priority: r.priority,
            requested_at: now,
            seq,
            state: RequestState::Searching,
            phase: Phase::Direct,
            tried: HashSet::new(),
            offers: Vec::new(),
            accepted: None,
            position: None,
            escalate_at: Some(now.saturating_add(escalate_after)),
            attempts: 0,
        }
    }

    /// Wants more offers than it has live (an accepted request wants none).
    fn wants_offers(&self, k: usize) -> bool {
        self.state != RequestState::Accepted && self.offers.len() < k
    }

    fn serve_key(&self) -> (Reverse<u8>, Millis, u64) {
        (Reverse(self.priority), self.requested_at, self.seq)
    }
}

pub struct Dispatcher {
    policy: Policy,
    node: u64,
    next_seq: u64,
    profiles: HashMap<InterpreterId, InterpreterProfile>,
    requests: HashMap<CallId, Request>,
    offer_calls: HashMap<OfferId, CallId>,
    /// Offers withdrawn from their request, awaiting their end: an accept that raced the
    /// withdrawal is released.
    orphans: HashMap<OfferId, Option<InterpreterId>>,
    wrap_ups: BTreeMap<Millis, Vec<InterpreterId>>,
    need_snapshot: BTreeSet<Language>,
    actions: VecDeque<Action>,
    now: Millis,
}

impl Dispatcher {
    /// `node` makes this engine's offer ids unique among nodes and restarts: pass a random value.
    pub fn new(policy: Policy, node: u64) -> Self {
        Self {
            policy,
            node,
            next_seq: 0,
            profiles: HashMap::new(),
            requests: HashMap::new(),
            offer_calls: HashMap::new(),
            orphans: HashMap::new(),
            wrap_ups: BTreeMap::new(),
            need_snapshot: BTreeSet::new(),
            actions: VecDeque::new(),
            now: 0,
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Replaces the profile directory (names, levels, shifts) the engine ranks with.
    pub fn set_profiles(&mut self, profiles: impl IntoIterator<Item = InterpreterProfile>) {
        self.profiles = profiles.into_iter().map(|p| (p.id.clone(), p)).collect();
    }

    pub fn upsert_profile(&mut self, profile: InterpreterProfile) {
        self.profiles.insert(profile.id.clone(), profile);
    }

    pub fn remove_profile(&mut self, id: &InterpreterId) {
        self.profiles.remove(id);
    }

    pub fn request(&self, call: &CallId) -> Option<RequestView> {
        self.requests.get(call).map(|r| RequestView {
            call: r.call.clone(),
            language: r.language,
            state: r.state,
            phase: r.phase,
            requested_at: r.requested_at,
            queue_position: r.position,
            tried: r.tried.len(),
            ringing: r
                .offers
                .iter()
                .filter_map(|o| o.interpreter.clone())
                .collect(),
            interpreter: r.accepted.as_ref().map(|a| a.1.clone()),
        })
    }

    /// Requests the engine is tracking (searching, ringing, queued or accepted).
    pub fn len(&self) -> usize {
        self.requests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    /// Feeds one input. Time never goes backwards: an earlier `now` is taken as the latest seen.
    pub fn handle(&mut self, input: Input, now: Millis) -> Result<(), DispatchError> {
        self.now = self.now.max(now);
        let now = self.now;
        match input {
            Input::Request(r) => self.on_request(r, now)?,
            Input::Cancel { call } => self.on_cancel(&call, now)?,
            Input::Snapshot { language, states } => self.on_snapshot(language, &states, now),
            Input::Claimed { offer, result } => self.on_claimed(&offer, result, now),
            Input::OfferEnded {
                offer,
                state,
                paused,
            } => self.on_offer_ended(&offer, state, paused, now)?,
            Input::InterpreterAvailable { interpreter } => self.freed(&interpreter),
            Input::InterpreterLost { call } => self.on_lost(&call, now)?,
            Input::CallEnded { call } => self.on_call_ended(&call, now),
            Input::Timer => self.on_timer(now),
        }
        Ok(())
    }

    /// The next thing to do; `WakeAt` once nothing else is due.
    pub fn poll_action(&mut self) -> Action {
        if let Some(a) = self.actions.pop_front() {
            return a;
        }
        if let Some(language) = self.need_snapshot.pop_first() {
            return Action::Snapshot(language);
        }
        Action::WakeAt(self.next_wake())
    }

    fn next_wake(&self) -> Millis {
        let mut at = self.wrap_ups.keys().next().copied().unwrap_or(NEVER);
        for r in self.requests.values() {
            if let Some(e) = r.escalate_at {
                at = at.min(e);
            }
            for o in r.offers.iter().filter(|o| o.interpreter.is_some()) {
                if !o.sweep_asked {
                    at = at.min(o.deadline);
                } else if !o.withdrawn {
                    at = at.min(o.deadline.saturating_add(SWEEP_GRACE_MS));
                }
            }
        }
        at
    }

    fn notify(&mut self, call: &CallId, language: Language, event: ProgressEvent) {
        self.actions.push_back(Action::Notify(Progress {
            call: call.clone(),
            language,
            at: self.now,
            event,
        }));
    }

    fn on_request(&mut self, r: NewRequest, now: Millis) -> Result<(), DispatchError> {
        if self.requests.contains_key(&r.call) {
            return Err(DispatchError::AlreadyRequested(r.call));
        }
        self.next_seq += 1;
        let req = Request::new(r, now, self.next_seq, self.policy.escalate_after_ms);
        self.need_snapshot.insert(req.language);
        self.requests.insert(req.call.clone(), req);
        Ok(())
    }

    fn on_snapshot(&mut self, language: Language, states: &[InterpreterState], now: Millis) {
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

    fn claim(&mut self, call: &CallId, candidates: Vec<InterpreterId>, now: Millis) {
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
            call_id: call.clone(),
            language,
            candidates,
            now,
            deadline,
            presence_ttl_ms: ttl,
        }));
    }

    /// Nobody eligible and nothing ringing: queue (an escalated request turns to relay first).
    fn wait(&mut self, call: &CallId) {
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
    fn update_positions(&mut self, language: Language) {
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

    fn on_claimed(&mut self, offer: &OfferId, result: Option<Offer>, _now: Millis) {
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

    fn on_offer_ended(
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

    fn accepted(&mut self, call: &CallId, offer: OfferId, who: InterpreterId, now: Millis) {
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
                name: self
                    .profiles
                    .get(&who)
                    .map_or_else(|| who.to_string(), |p| p.name.clone()),
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

    fn withdraw(&mut self, call: &CallId, language: Language, o: LiveOffer) {
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

    fn release(&mut self, offer: OfferId, who: Option<InterpreterId>) {
        let wrap_up_ms = self.policy.wrap_up_ms;
        self.actions
            .push_back(Action::Release { offer, wrap_up_ms });
        if let Some(who) = who {
            self.wrap_ups
                .entry(self.now.saturating_add(wrap_up_ms))
                .or_default()
                .push(who);
        }
    }

    /// Looks for another candidate for a request that lost an offer.
    fn retry(&mut self, call: &CallId) {
        if let Some(r) = self.requests.get_mut(call) {
            if r.offers.is_empty() {
                r.state = RequestState::Searching;
            }
            self.need_snapshot.insert(r.language);
        }
    }

    /// An interpreter may take a call again: requests waiting in their languages look again.
    fn freed(&mut self, who: &InterpreterId) {
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

    fn fail(&mut self, call: &CallId, reason: FailReason) {
        if let Some(r) = self.requests.remove(call) {
            let language = r.language;
            for o in r.offers {
                self.withdraw(call, language, o);
            }
            self.notify(call, language, ProgressEvent::Failed { reason });
        }
    }

    /// Ends a request: withdraws its offers or releases its interpreter.
    fn end(&mut self, call: &CallId, tell: bool) -> Option<Language> {
        let r = self.requests.remove(call)?;
        let language = r.language;
        for o in r.offers {
            self.withdraw(call, language, o);
        }
        if let Some((offer, who)) = r.accepted {
            self.release(offer, Some(who));
        }
        if tell {
            self.notify(call, language, ProgressEvent::Cancelled);
        }
        self.update_positions(language);
        Some(language)
    }

    fn on_cancel(&mut self, call: &CallId, _now: Millis) -> Result<(), DispatchError> {
        self.end(call, true)
            .map(|_| ())
            .ok_or_else(|| DispatchError::NoRequest(call.clone()))
    }

    fn on_call_ended(&mut self, call: &CallId, _now: Millis) {
        let searching = self
            .requests
            .get(call)
            .is_some_and(|r| r.state != RequestState::Accepted);
        self.end(call, searching);
    }

    fn on_lost(&mut self, call: &CallId, now: Millis) -> Result<(), DispatchError> {
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
            },
            now,
            self.next_seq,
            self.policy.escalate_after_ms,
        );
        req.tried.insert(lost.clone());
        req.attempts = 1;
        self.requests.insert(call.clone(), req);
        self.notify(call, language, ProgressEvent::ReplacementRequested { lost });
        self.need_snapshot.insert(language);
        Ok(())
    }

    fn on_timer(&mut self, now: Millis) {
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
