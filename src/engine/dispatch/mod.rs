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
mod outcome;
mod request;
mod search;
#[cfg(test)]
mod tests;
mod types;

pub use candidates::{rank, Filter};
pub use types::{
    Action, DispatchError, Escalation, FailReason, Input, LostWhy, NewRequest, Phase, Policy,
    Progress, ProgressEvent, RequestState, RequestView, NEVER,
};

use crate::domain::{CallId, InterpreterId, InterpreterProfile, Language, Millis, OfferId};
use request::Request;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// After an offer's deadline, how long a sweep (ours or another node's) has to report the expiry
/// before the engine withdraws the offer itself, so a lost sweep never leaves a request ringing.
pub const SWEEP_GRACE_MS: u64 = 2_000;

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

    /// The profile the engine ranks `iid` with, as last set.
    pub fn profile(&self, iid: &InterpreterId) -> Option<&InterpreterProfile> {
        self.profiles.get(iid)
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
            Input::InterpreterLeft { call } => self.on_left(&call)?,
            Input::Snapshot { language, states } => self.on_snapshot(language, &states, now),
            Input::Claimed { offer, result } => self.on_claimed(&offer, result, now),
            Input::OfferEnded {
                offer,
                state,
                paused,
            } => self.on_offer_ended(&offer, state, paused, now)?,
            Input::InterpreterAvailable { interpreter } => self.freed(&interpreter),
            Input::InterpreterLost { call, why } => self.on_lost(&call, why, now)?,
            Input::CallEnded { call } => self.on_call_ended(&call, now),
            Input::Withdraw { call } => self.on_withdraw(&call, now)?,
            Input::Rescan => self.rescan(),
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
}
