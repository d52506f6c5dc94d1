//! Behaviour of the dispatch engine, one rule per test, driven by hand-fed pool answers. This
//! module holds the helpers; each submodule one part of the rules.

mod in_call;
mod offers;
mod preferred;
mod ranking;
mod waiting;
mod withdraw;

use super::*;
use crate::domain::pool_state::{ClaimRequest, InterpreterState, Offer, OfferState, Status};
use crate::domain::{
    Day, LanguageSkill, Level, Shift, TimeOfDay, TimeZoneName, UniversityId, WeeklySchedule,
};
use std::collections::{HashMap, HashSet};

/// Wed 2026-12-02 04:00 UTC (12:00 in Beijing).
pub(super) const T0: Millis = 1_764_648_000_000;
pub(super) const S: u64 = 1000;

pub(super) fn lang(s: &str) -> Language {
    Language::parse(s).expect("test language")
}

pub(super) fn iid(s: &str) -> InterpreterId {
    InterpreterId::parse(s).expect("test id")
}

pub(super) fn cid(s: &str) -> CallId {
    CallId::parse(s).expect("test id")
}

pub(super) fn policy() -> Policy {
    Policy {
        ring_timeout_ms: 15 * S,
        parallel_offers: 1,
        escalate_after_ms: 45 * S,
        max_missed: 2,
        wrap_up_ms: 10 * S,
        presence_ttl_ms: 15 * S,
        relay: [(lang("pt"), lang("en"))].into_iter().collect(),
    }
}

/// A profile on shift all week (UTC) unless `on_shift` is false (then no shifts at all).
pub(super) fn profile(id: &str, skills: &[(&str, Level)], on_shift: bool) -> InterpreterProfile {
    let all_day = |day| Shift {
        day,
        start: TimeOfDay::parse("00:00").expect("t"),
        end: TimeOfDay::parse("24:00").expect("t"),
    };
    InterpreterProfile {
        id: iid(id),
        university: UniversityId::parse("bfsu").expect("id"),
        name: format!("Name of {id}"),
        languages: skills
            .iter()
            .map(|(l, level)| LanguageSkill {
                language: lang(l),
                level: *level,
            })
            .collect(),
        schedule: WeeklySchedule {
            timezone: TimeZoneName::parse("UTC").expect("tz"),
            shifts: if on_shift {
                Day::ALL.into_iter().map(all_day).collect()
            } else {
                Vec::new()
            },
        },
        token_sha256: None,
        phone: None,
        ring: Default::default(),
    }
}

/// Available and present at `now`, idle since `idle_since`.
pub(super) fn avail(
    id: &str,
    idle_since: Millis,
    calls_today: u32,
    now: Millis,
) -> InterpreterState {
    InterpreterState {
        id: iid(id),
        status: Status::Available,
        last_seen: now,
        idle_since,
        offer: None,
        call: None,
        missed: 0,
        calls_today,
    }
}

pub(super) fn engine(profiles: Vec<InterpreterProfile>, policy: Policy) -> Dispatcher {
    let mut d = Dispatcher::new(policy, 7);
    d.set_profiles(profiles);
    d
}

/// Every action up to and including the closing `WakeAt`.
pub(super) fn drain(d: &mut Dispatcher) -> Vec<Action> {
    let mut out = Vec::new();
    loop {
        let a = d.poll_action();
        let done = matches!(a, Action::WakeAt(_));
        out.push(a);
        if done {
            return out;
        }
    }
}

pub(super) fn claims(actions: &[Action]) -> Vec<ClaimRequest> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Claim(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

pub(super) fn events(actions: &[Action]) -> Vec<ProgressEvent> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Notify(p) => Some(p.event.clone()),
            _ => None,
        })
        .collect()
}

pub(super) fn wake(actions: &[Action]) -> Millis {
    match actions.last() {
        Some(Action::WakeAt(t)) => *t,
        other => panic!("drain must end with WakeAt, got {other:?}"),
    }
}

pub(super) fn request(d: &mut Dispatcher, call: &str, language: &str, priority: u8, now: Millis) {
    d.handle(
        Input::Request(NewRequest {
            call: cid(call),
            language: lang(language),
            priority,
            preferred: None,
        }),
        now,
    )
    .expect("request");
}

pub(super) fn snapshot(
    d: &mut Dispatcher,
    language: &str,
    states: Vec<InterpreterState>,
    now: Millis,
) {
    d.handle(
        Input::Snapshot {
            language: lang(language),
            states,
        },
        now,
    )
    .expect("snapshot");
}

/// The pool's answer to a claim: the first candidate, offered.
pub(super) fn grant(d: &mut Dispatcher, c: &ClaimRequest, who: &str) -> OfferId {
    assert!(
        c.candidates.contains(&iid(who)),
        "{who} not in {:?}",
        c.candidates
    );
    let offer = Offer {
        id: c.offer_id.clone(),
        call_id: c.call_id.clone(),
        interpreter: iid(who),
        language: c.language,
        created: c.now,
        deadline: c.deadline,
    };
    d.handle(
        Input::Claimed {
            offer: c.offer_id.clone(),
            result: Some(offer),
        },
        c.now,
    )
    .expect("claimed");
    c.offer_id.clone()
}

pub(super) fn ended(
    d: &mut Dispatcher,
    offer: &OfferId,
    state: OfferState,
    paused: bool,
    now: Millis,
) {
    d.handle(
        Input::OfferEnded {
            offer: offer.clone(),
            state,
            paused,
        },
        now,
    )
    .expect("offer ended");
}

/// Request `call` for `language` and offer it to whoever ranks first among `states`.
pub(super) fn ring_first(
    d: &mut Dispatcher,
    call: &str,
    language: &str,
    states: Vec<InterpreterState>,
    now: Millis,
) -> (ClaimRequest, OfferId) {
    request(d, call, language, 0, now);
    assert_eq!(drain(d)[0], Action::Snapshot(lang(language)));
    snapshot(d, language, states, now);
    let c = claims(&drain(d)).remove(0);
    let head = c.candidates[0].to_string();
    let offer = grant(d, &c, &head);
    drain(d);
    (c, offer)
}

/// An engine that knows two free native speakers of `language`, "a" (idle longest) and "b",
/// with call `c1` ringing "a". Returns the claim and the offer.
pub(super) fn a_ringing_b_free(language: &str) -> (Dispatcher, ClaimRequest, OfferId) {
    let speaks = [(language, Level::Native)];
    let mut d = engine(
        vec![profile("a", &speaks, true), profile("b", &speaks, true)],
        policy(),
    );
    let free = vec![avail("a", 0, 0, T0), avail("b", 1, 0, T0)];
    let (c, offer) = ring_first(&mut d, "c1", language, free, T0);
    (d, c, offer)
}

/// "a", the only interpreter of `language`, accepted call `c1`; call `c2` then asked for the
/// same language and waits, having seen "a" busy. Returns the engine and `c1`'s offer.
pub(super) fn a_serving_c1_while_c2_waits(language: &str) -> (Dispatcher, OfferId) {
    let mut d = engine(
        vec![profile("a", &[(language, Level::Native)], true)],
        policy(),
    );
    let (_, offer) = ring_first(&mut d, "c1", language, vec![avail("a", 0, 0, T0)], T0);
    ended(&mut d, &offer, OfferState::Accepted, false, T0 + S);
    drain(&mut d);
    request(&mut d, "c2", language, 0, T0 + 2 * S);
    drain(&mut d);
    let mut busy = avail("a", 0, 1, T0 + 2 * S);
    busy.status = Status::Busy;
    snapshot(&mut d, language, vec![busy], T0 + 2 * S);
    drain(&mut d);
    (d, offer)
}

/// `input` (about `c1`) reaches the engine of `a_serving_c1_while_c2_waits` at `at`; returns
/// the engine, `c1`'s offer and what the engine asked for.
pub(super) fn c1_then(
    language: &str,
    input: Input,
    at: Millis,
) -> (Dispatcher, OfferId, Vec<Action>) {
    let (mut d, offer) = a_serving_c1_while_c2_waits(language);
    d.handle(input, at).expect("input");
    let out = drain(&mut d);
    (d, offer, out)
}
