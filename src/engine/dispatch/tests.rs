//! Behaviour of the dispatch engine, one rule per test, driven by hand-fed pool answers.

use super::*;
use crate::domain::{
    Day, LanguageSkill, Level, Shift, TimeOfDay, TimeZoneName, UniversityId, WeeklySchedule,
};
use crate::pool::{ClaimRequest, InterpreterState, Offer, OfferState, Status};
use std::collections::{HashMap, HashSet};

/// Wed 2026-12-02 04:00 UTC (12:00 in Beijing).
const T0: Millis = 1_764_648_000_000;
const S: u64 = 1000;

fn lang(s: &str) -> Language {
    Language::parse(s).expect("test language")
}

fn iid(s: &str) -> InterpreterId {
    InterpreterId::parse(s).expect("test id")
}

fn cid(s: &str) -> CallId {
    CallId::parse(s).expect("test id")
}

fn policy() -> Policy {
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
fn profile(id: &str, skills: &[(&str, Level)], on_shift: bool) -> InterpreterProfile {
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
    }
}

/// Available and present at `now`, idle since `idle_since`.
fn avail(id: &str, idle_since: Millis, calls_today: u32, now: Millis) -> InterpreterState {
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

fn engine(profiles: Vec<InterpreterProfile>, policy: Policy) -> Dispatcher {
    let mut d = Dispatcher::new(policy, 7);
    d.set_profiles(profiles);
    d
}

/// Every action up to and including the closing `WakeAt`.
fn drain(d: &mut Dispatcher) -> Vec<Action> {
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

fn claims(actions: &[Action]) -> Vec<ClaimRequest> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Claim(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

fn events(actions: &[Action]) -> Vec<ProgressEvent> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Notify(p) => Some(p.event.clone()),
            _ => None,
        })
        .collect()
}

fn wake(actions: &[Action]) -> Millis {
    match actions.last() {
        Some(Action::WakeAt(t)) => *t,
        other => panic!("drain must end with WakeAt, got {other:?}"),
    }
}

fn request(d: &mut Dispatcher, call: &str, language: &str, priority: u8, now: Millis) {
    d.handle(
        Input::Request(NewRequest {
            call: cid(call),
            language: lang(language),
            priority,
        }),
        now,
    )
    .expect("request");
}

fn snapshot(d: &mut Dispatcher, language: &str, states: Vec<InterpreterState>, now: Millis) {
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
fn grant(d: &mut Dispatcher, c: &ClaimRequest, who: &str) -> OfferId {
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

fn ended(d: &mut Dispatcher, offer: &OfferId, state: OfferState, paused: bool, now: Millis) {
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
fn ring_first(
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

#[test]
fn native_before_professional_then_longest_idle() {
    let d = engine(
        vec![
            profile("pro-old", &[("fr", Level::Professional)], true),
            profile("nat-new", &[("fr", Level::Native)], true),
            profile("nat-old", &[("fr", Level::Native)], true),
            profile("stu", &[("fr", Level::Student)], true),
        ],
        policy(),
    );
    let states = vec![
        avail("pro-old", T0 - 3_600 * S, 0, T0),
        avail("stu", T0 - 7_200 * S, 0, T0),
        avail("nat-new", T0 - 60 * S, 0, T0),
        avail("nat-old", T0 - 600 * S, 5, T0),
    ];
    let order = rank(
        &d.profiles,
        &states,
        &Filter {
            language: lang("fr"),
            phase: Phase::Direct,
            now: T0,
            presence_ttl_ms: 15 * S,
            excluded: &HashSet::new(),
        },
    );
    assert_eq!(
        order,
        vec![iid("nat-old"), iid("nat-new"), iid("pro-old"), iid("stu")]
    );
}

#[test]
fn fewest_calls_today_breaks_an_idle_tie() {
    let d = engine(
        vec![
            profile("a", &[("de", Level::Native)], true),
            profile("b", &[("de", Level::Native)], true),
        ],
        policy(),
    );
    let states = vec![avail("a", T0 - S, 4, T0), avail("b", T0 - S, 1, T0)];
    let order = rank(
        &d.profiles,
        &states,
        &Filter {
            language: lang("de"),
            phase: Phase::Direct,
            now: T0,
            presence_ttl_ms: 15 * S,
            excluded: &HashSet::new(),
        },
    );
    assert_eq!(order, vec![iid("b"), iid("a")]);
}

#[test]
fn off_shift_absent_wrapping_up_busy_and_other_language_are_not_candidates() {
    let d = engine(
        vec![
            profile("ok", &[("es", Level::Student)], true),
            profile("off", &[("es", Level::Native)], false),
            profile("gone", &[("es", Level::Native)], true),
            profile("wrap", &[("es", Level::Native)], true),
            profile("busy", &[("es", Level::Native)], true),
            profile("paused", &[("es", Level::Native)], true),
            profile("fr-only", &[("fr", Level::Native)], true),
        ],
        policy(),
    );
    let mut gone = avail("gone", T0 - 600 * S, 0, T0);
    gone.last_seen = T0 - 16 * S;
    let wrap = avail("wrap", T0 + 5 * S, 0, T0);
    let mut busy = avail("busy", T0 - 600 * S, 0, T0);
    busy.status = Status::Busy;
    let mut paused = avail("paused", T0 - 600 * S, 0, T0);
    paused.status = Status::Paused;
    let states = vec![
        avail("ok", T0, 0, T0),
        avail("off", T0 - 600 * S, 0, T0),
        gone,
        wrap,
        busy,
        paused,
        avail("fr-only", T0 - 600 * S, 0, T0),
    ];
    let none = HashSet::new();
    let filter = |phase| Filter {
        language: lang("es"),
        phase,
        now: T0,
        presence_ttl_ms: 15 * S,
        excluded: &none,
    };
    assert_eq!(
        rank(&d.profiles, &states, &filter(Phase::Direct)),
        vec![iid("ok")]
    );
    assert_eq!(
        rank(&d.profiles, &states, &filter(Phase::OffShift)),
        vec![iid("off"), iid("ok")],
        "escalated: present off-shift interpreters join"
    );
}

#[test]
fn accept_on_first_offer_reports_time_to_interpreter() {
    let mut d = engine(vec![profile("a", &[("ja", Level::Native)], true)], policy());
    let (c, offer) = ring_first(&mut d, "c1", "ja", vec![avail("a", 0, 0, T0)], T0);
    assert_eq!(c.deadline, T0 + 15 * S);
    assert_eq!(c.candidates, vec![iid("a")]);
    ended(&mut d, &offer, OfferState::Accepted, false, T0 + 4 * S);
    let ev = events(&drain(&mut d));
    assert_eq!(
        ev,
        vec![ProgressEvent::Accepted {
            interpreter: iid("a"),
            name: "Name of a".into(),
            offer,
            waited_ms: 4 * S,
            relay: None,
        }]
    );
    assert_eq!(
        d.request(&cid("c1")).map(|r| r.state),
        Some(RequestState::Accepted)
    );
}

#[test]
fn ringing_event_names_the_interpreter_university_and_level() {
    let mut d = engine(
        vec![profile("a", &[("ko", Level::Student)], true)],
        policy(),
    );
    request(&mut d, "c1", "ko", 0, T0);
    drain(&mut d);
    snapshot(&mut d, "ko", vec![avail("a", 0, 0, T0)], T0);
    let c = claims(&drain(&mut d)).remove(0);
    grant(&mut d, &c, "a");
    let ev = events(&drain(&mut d));
    assert_eq!(
        ev,
        vec![ProgressEvent::Ringing {
            interpreter: iid("a"),
            name: "Name of a".into(),
            university: Some(UniversityId::parse("bfsu").expect("id")),
            level: Some(Level::Student),
            offer: c.offer_id,
            since: T0,
        }]
    );
}

#[test]
fn decline_moves_to_next_candidate() {
    let mut d = engine(
        vec![
            profile("a", &[("ru", Level::Native)], true),
            profile("b", &[("ru", Level::Native)], true),
        ],
        policy(),
    );
    let states = || vec![avail("a", 0, 0, T0), avail("b", 10, 0, T0)];
    let (_, offer) = ring_first(&mut d, "c1", "ru", states(), T0);
    ended(&mut d, &offer, OfferState::Declined, false, T0 + 2 * S);
    let out = drain(&mut d);
    assert_eq!(
        events(&out),
        vec![ProgressEvent::Declined {
            interpreter: iid("a")
        }]
    );
    assert!(out.contains(&Action::Snapshot(lang("ru"))));
    snapshot(&mut d, "ru", states(), T0 + 2 * S);
    let out = drain(&mut d);
    assert_eq!(events(&out), vec![ProgressEvent::RingingNext]);
    assert_eq!(
        claims(&out)[0].candidates,
        vec![iid("b")],
        "a already declined"
    );
}

#[test]
fn ring_timeout_asks_for_a_sweep_then_rings_the_next_candidate() {
    let mut d = engine(
        vec![
            profile("a", &[("ar", Level::Native)], true),
            profile("b", &[("ar", Level::Native)], true),
        ],
        policy(),
    );
    let (c, offer) = ring_first(
        &mut d,
        "c1",
        "ar",
        vec![avail("a", 0, 0, T0), avail("b", 1, 0, T0)],
        T0,
    );
    assert_eq!(wake(&drain(&mut d)), c.deadline);
    d.handle(Input::Timer, c.deadline).expect("timer");
    let out = drain(&mut d);
    assert_eq!(out[0], Action::Sweep { max_missed: 2 });
    ended(&mut d, &offer, OfferState::Expired, false, c.deadline);
    let out = drain(&mut d);
    assert_eq!(
        events(&out),
        vec![ProgressEvent::TimedOut {
            interpreter: iid("a"),
            paused: false
        }]
    );
    snapshot(&mut d, "ar", vec![avail("b", 1, 0, c.deadline)], c.deadline);
    assert_eq!(claims(&drain(&mut d))[0].candidates, vec![iid("b")]);
}

#[test]
fn an_offer_no_sweep_reports_is_withdrawn_after_the_grace() {
    let mut d = engine(vec![profile("a", &[("ar", Level::Native)], true)], policy());
    let (c, offer) = ring_first(&mut d, "c1", "ar", vec![avail("a", 0, 0, T0)], T0);
    d.handle(Input::Timer, c.deadline).expect("timer");
    let out = drain(&mut d);
    assert_eq!(wake(&out), c.deadline + SWEEP_GRACE_MS);
    d.handle(Input::Timer, c.deadline + SWEEP_GRACE_MS)
        .expect("timer");
    assert_eq!(drain(&mut d)[0], Action::Cancel(offer.clone()));
    ended(
        &mut d,
        &offer,
        OfferState::Cancelled,
        false,
        c.deadline + SWEEP_GRACE_MS,
    );
    assert_eq!(
        events(&drain(&mut d)),
        vec![ProgressEvent::TimedOut {
            interpreter: iid("a"),
            paused: false
        }]
    );
}

#[test]
fn parallel_two_first_accept_wins_and_other_is_withdrawn() {
    let mut p = policy();
    p.parallel_offers = 2;
    let mut d = engine(
        vec![
            profile("a", &[("pt", Level::Native)], true),
            profile("b", &[("pt", Level::Native)], true),
            profile("c", &[("pt", Level::Native)], true),
        ],
        p,
    );
    request(&mut d, "c1", "pt", 0, T0);
    drain(&mut d);
    let states = vec![
        avail("a", 0, 0, T0),
        avail("b", 1, 0, T0),
        avail("c", 2, 0, T0),
    ];
    snapshot(&mut d, "pt", states, T0);
    let cl = claims(&drain(&mut d));
    assert_eq!(cl.len(), 2, "two ring at once");
    assert_eq!(cl[0].candidates, vec![iid("a"), iid("b"), iid("c")]);
    assert_eq!(cl[1].candidates, vec![iid("b"), iid("c")]);
    let oa = grant(&mut d, &cl[0], "a");
    let ob = grant(&mut d, &cl[1], "b");
    drain(&mut d);
    ended(&mut d, &ob, OfferState::Accepted, false, T0 + 3 * S);
    let out = drain(&mut d);
    assert!(out.contains(&Action::Cancel(oa.clone())), "{out:?}");
    assert!(events(&out).contains(&ProgressEvent::Withdrawn {
        interpreter: iid("a"),
        offer: oa.clone()
    }));
    // The withdrawn offer ends as cancelled: nothing more happens.
    ended(&mut d, &oa, OfferState::Cancelled, false, T0 + 3 * S);
    let out = drain(&mut d);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(
        d.request(&cid("c1")).and_then(|r| r.interpreter),
        Some(iid("b"))
    );
}

#[test]
fn an_accept_racing_the_winner_is_released() {
    let mut p = policy();
    p.parallel_offers = 2;
    let mut d = engine(
        vec![
            profile("a", &[("pt", Level::Native)], true),
            profile("b", &[("pt", Level::Native)], true),
        ],
        p,
    );
    request(&mut d, "c1", "pt", 0, T0);
    drain(&mut d);
    snapshot(
        &mut d,
        "pt",
        vec![avail("a", 0, 0, T0), avail("b", 1, 0, T0)],
        T0,
    );
    let cl = claims(&drain(&mut d));
    let oa = grant(&mut d, &cl[0], "a");
    let ob = grant(&mut d, &cl[1], "b");
    ended(&mut d, &oa, OfferState::Accepted, false, T0 + S);
    drain(&mut d);
    // b accepted too before the withdrawal reached the pool: cancel reports Accepted.
    ended(&mut d, &ob, OfferState::Accepted, false, T0 + S);
    assert_eq!(
        drain(&mut d)[0],
        Action::Release {
            offer: ob,
            wrap_up_ms: 10 * S,
            at: T0 + S
        }
    );
}

#[test]
fn nobody_available_queues_then_serves_when_one_frees() {
    let mut d = engine(vec![profile("a", &[("de", Level::Native)], true)], policy());
    request(&mut d, "c1", "de", 0, T0);
    drain(&mut d);
    let mut busy = avail("a", 0, 0, T0);
    busy.status = Status::Busy;
    snapshot(&mut d, "de", vec![busy], T0);
    let out = drain(&mut d);
    assert!(claims(&out).is_empty());
    assert_eq!(events(&out), vec![ProgressEvent::Waiting { position: 1 }]);
    assert_eq!(
        d.request(&cid("c1")).map(|r| r.state),
        Some(RequestState::Queued)
    );
    d.handle(
        Input::InterpreterAvailable {
            interpreter: iid("a"),
        },
        T0 + 30 * S,
    )
    .expect("available");
    assert_eq!(drain(&mut d)[0], Action::Snapshot(lang("de")));
    snapshot(
        &mut d,
        "de",
        vec![avail("a", T0 + 30 * S, 1, T0 + 30 * S)],
        T0 + 30 * S,
    );
    assert_eq!(claims(&drain(&mut d))[0].candidates, vec![iid("a")]);
}

#[test]
fn queue_serves_higher_priority_then_oldest_and_reports_positions() {
    let mut d = engine(vec![profile("a", &[("de", Level::Native)], true)], policy());
    let mut busy = avail("a", 0, 0, T0);
    busy.status = Status::Busy;
    for (i, (call, prio)) in [("old", 0), ("new", 0), ("urgent", 1)].iter().enumerate() {
        let at = T0 + i as u64 * S;
        request(&mut d, call, "de", *prio, at);
        drain(&mut d);
        snapshot(&mut d, "de", vec![busy.clone()], at);
        drain(&mut d);
    }
    let pos = |d: &Dispatcher, c| d.request(&cid(c)).and_then(|r| r.queue_position);
    assert_eq!(
        [pos(&d, "urgent"), pos(&d, "old"), pos(&d, "new")],
        [Some(1), Some(2), Some(3)]
    );
    let now = T0 + 60 * S;
    snapshot(&mut d, "de", vec![avail("a", now, 0, now)], now);
    let out = drain(&mut d);
    let cl = claims(&out);
    assert_eq!(cl.len(), 1, "one free interpreter, one claim");
    assert_eq!(cl[0].call_id, cid("urgent"));
    assert_eq!(
        [pos(&d, "old"), pos(&d, "new")],
        [Some(1), Some(2)],
        "the others move up"
    );
}

#[test]
fn escalates_to_off_shift_then_relay_after_deadline() {
    let mut d = engine(
        vec![
            profile("on", &[("pt", Level::Native)], true),
            profile(
                "off",
                &[("pt", Level::Native), ("en", Level::Professional)],
                false,
            ),
        ],
        policy(),
    );
    request(&mut d, "c1", "pt", 0, T0);
    drain(&mut d);
    let mut busy = avail("on", 0, 0, T0);
    busy.status = Status::Busy;
    let mut off_busy = avail("off", 0, 0, T0);
    off_busy.status = Status::Busy;
    snapshot(&mut d, "pt", vec![busy.clone(), avail("off", 0, 0, T0)], T0);
    let out = drain(&mut d);
    assert!(
        claims(&out).is_empty(),
        "off-shift is not offered before the deadline"
    );
    assert_eq!(wake(&out), T0 + 45 * S);

    let t1 = T0 + 45 * S;
    d.handle(Input::Timer, t1).expect("timer");
    let out = drain(&mut d);
    assert_eq!(
        events(&out),
        vec![ProgressEvent::Escalated {
            to: Escalation::OffShift,
            operator_language: None
        }]
    );
    assert!(out.contains(&Action::Snapshot(lang("pt"))));
    // Off-shift "off" became busy meanwhile: nobody at all → relay via en.
    snapshot(&mut d, "pt", vec![busy, off_busy], t1);
    let out = drain(&mut d);
    assert_eq!(
        events(&out),
        vec![ProgressEvent::Escalated {
            to: Escalation::Relay {
                language: lang("en")
            },
            operator_language: Some(lang("en"))
        }],
        "still first in the queue: no new position to report"
    );
    let t2 = t1 + 20 * S;
    snapshot(
        &mut d,
        "pt",
        vec![avail("on", t2, 1, t2), avail("off", t2, 0, t2)],
        t2,
    );
    let cl = claims(&drain(&mut d));
    assert_eq!(
        cl[0].candidates,
        vec![iid("off"), iid("on")],
        "relay: interpreters who also speak en first, off shift included"
    );
    let offer = grant(&mut d, &cl[0], "off");
    ended(&mut d, &offer, OfferState::Accepted, false, t2 + S);
    assert!(events(&drain(&mut d)).iter().any(|e| matches!(
        e,
        ProgressEvent::Accepted { relay: Some(l), .. } if *l == lang("en")
    )));
}

#[test]
fn auto_paused_interpreter_is_reported_and_does_not_wake_the_queue() {
    let mut d = engine(vec![profile("a", &[("fr", Level::Native)], true)], policy());
    let (c, offer) = ring_first(&mut d, "c1", "fr", vec![avail("a", 0, 0, T0)], T0);
    request(&mut d, "c2", "fr", 0, T0 + S);
    drain(&mut d);
    let mut offered = avail("a", 0, 0, T0 + S);
    offered.status = Status::Offered;
    snapshot(&mut d, "fr", vec![offered], T0 + S);
    drain(&mut d);
    d.handle(Input::Timer, c.deadline).expect("timer");
    drain(&mut d);
    ended(&mut d, &offer, OfferState::Expired, true, c.deadline);
    let out = drain(&mut d);
    assert_eq!(
        events(&out),
        vec![ProgressEvent::TimedOut {
            interpreter: iid("a"),
            paused: true
        }]
    );
    // c1 looks for someone else; a paused interpreter is not in the next snapshot's candidates.
    let mut paused = avail("a", 0, 0, c.deadline);
    paused.status = Status::Paused;
    snapshot(&mut d, "fr", vec![paused], c.deadline);
    let out = drain(&mut d);
    assert!(claims(&out).is_empty());
    assert_eq!(
        d.request(&cid("c1")).map(|r| r.state),
        Some(RequestState::Queued)
    );
}

#[test]
fn call_end_releases_with_wrap_up_then_wakes_waiting_requests() {
    let mut d = engine(vec![profile("a", &[("es", Level::Native)], true)], policy());
    let (_, offer) = ring_first(&mut d, "c1", "es", vec![avail("a", 0, 0, T0)], T0);
    ended(&mut d, &offer, OfferState::Accepted, false, T0 + S);
    drain(&mut d);
    request(&mut d, "c2", "es", 0, T0 + 2 * S);
    drain(&mut d);
    let mut busy = avail("a", 0, 1, T0 + 2 * S);
    busy.status = Status::Busy;
    snapshot(&mut d, "es", vec![busy], T0 + 2 * S);
    drain(&mut d);

    let end = T0 + 20 * S;
    d.handle(Input::CallEnded { call: cid("c1") }, end)
        .expect("end");
    let out = drain(&mut d);
    assert_eq!(
        out[0],
        Action::Release {
            offer,
            wrap_up_ms: 10 * S,
            at: end
        }
    );
    assert_eq!(wake(&out), end + 10 * S, "wakes when the wrap-up is over");
    assert!(!out.contains(&Action::Snapshot(lang("es"))));
    d.handle(Input::Timer, end + 10 * S).expect("timer");
    assert_eq!(drain(&mut d)[0], Action::Snapshot(lang("es")));
}

#[test]
fn interpreter_lost_mid_call_requests_a_replacement_that_can_be_cancelled() {
    let mut d = engine(
        vec![
            profile("a", &[("en", Level::Native)], true),
            profile("b", &[("en", Level::Native)], true),
        ],
        policy(),
    );
    let (_, offer) = ring_first(
        &mut d,
        "c1",
        "en",
        vec![avail("a", 0, 0, T0), avail("b", 1, 0, T0)],
        T0,
    );
    ended(&mut d, &offer, OfferState::Accepted, false, T0 + S);
    drain(&mut d);
    let t = T0 + 120 * S;
    d.handle(
        Input::InterpreterLost {
            call: cid("c1"),
            why: LostWhy::Disconnected,
        },
        t,
    )
    .expect("lost");
    let out = drain(&mut d);
    assert_eq!(
        out[0],
        Action::Release {
            offer,
            wrap_up_ms: 10 * S,
            at: t
        }
    );
    assert_eq!(
        events(&out),
        vec![ProgressEvent::ReplacementRequested {
            lost: iid("a"),
            why: LostWhy::Disconnected
        }]
    );
    snapshot(
        &mut d,
        "en",
        vec![avail("a", t, 1, t), avail("b", 1, 0, t)],
        t,
    );
    let out = drain(&mut d);
    assert_eq!(
        claims(&out)[0].candidates,
        vec![iid("b")],
        "never the one who dropped"
    );
    let c = claims(&out).remove(0);
    let ob = grant(&mut d, &c, "b");
    drain(&mut d);
    d.handle(Input::Cancel { call: cid("c1") }, t + S)
        .expect("cancel");
    let out = drain(&mut d);
    assert_eq!(out[0], Action::Cancel(ob));
    assert!(events(&out).contains(&ProgressEvent::Cancelled));
    assert!(d.request(&cid("c1")).is_none());
}

#[test]
fn cancel_while_claim_in_flight_withdraws_the_offer_when_it_lands() {
    let mut d = engine(vec![profile("a", &[("en", Level::Native)], true)], policy());
    request(&mut d, "c1", "en", 0, T0);
    drain(&mut d);
    snapshot(&mut d, "en", vec![avail("a", 0, 0, T0)], T0);
    let c = claims(&drain(&mut d)).remove(0);
    d.handle(Input::Cancel { call: cid("c1") }, T0)
        .expect("cancel");
    assert_eq!(events(&drain(&mut d)), vec![ProgressEvent::Cancelled]);
    grant(&mut d, &c, "a");
    assert_eq!(drain(&mut d)[0], Action::Cancel(c.offer_id.clone()));
    // Had the interpreter accepted first, the offer is released instead.
    ended(&mut d, &c.offer_id, OfferState::Accepted, false, T0 + S);
    assert!(matches!(drain(&mut d)[0], Action::Release { .. }));
}

#[test]
fn a_lost_claim_race_queues_the_request() {
    let mut d = engine(vec![profile("a", &[("ko", Level::Native)], true)], policy());
    request(&mut d, "c1", "ko", 0, T0);
    drain(&mut d);
    snapshot(&mut d, "ko", vec![avail("a", 0, 0, T0)], T0);
    let c = claims(&drain(&mut d)).remove(0);
    d.handle(
        Input::Claimed {
            offer: c.offer_id,
            result: None,
        },
        T0,
    )
    .expect("claimed");
    assert_eq!(
        events(&drain(&mut d)),
        vec![ProgressEvent::Waiting { position: 1 }]
    );
}

#[test]
fn a_language_nobody_speaks_fails() {
    let mut d = engine(vec![], policy());
    request(&mut d, "c1", "it", 0, T0);
    drain(&mut d);
    snapshot(&mut d, "it", vec![], T0);
    assert_eq!(
        events(&drain(&mut d)),
        vec![ProgressEvent::Failed {
            reason: FailReason::NoInterpreterForLanguage
        }]
    );
    assert!(d.is_empty());
}

#[test]
fn caller_mistakes_are_errors_not_panics() {
    let mut d = engine(vec![], policy());
    request(&mut d, "c1", "en", 0, T0);
    assert_eq!(
        d.handle(
            Input::Request(NewRequest {
                call: cid("c1"),
                language: lang("en"),
                priority: 0
            }),
            T0
        ),
        Err(DispatchError::AlreadyRequested(cid("c1")))
    );
    assert_eq!(
        d.handle(Input::Cancel { call: cid("nope") }, T0),
        Err(DispatchError::NoRequest(cid("nope")))
    );
    assert_eq!(
        d.handle(
            Input::InterpreterLost {
                call: cid("c1"),
                why: LostWhy::MediaSilent,
            },
            T0,
        ),
        Err(DispatchError::NoInterpreter(cid("c1")))
    );
    let o = OfferId::parse("x").expect("id");
    assert_eq!(
        d.handle(
            Input::OfferEnded {
                offer: o.clone(),
                state: OfferState::Pending,
                paused: false
            },
            T0
        ),
        Err(DispatchError::NotEnded(o))
    );
}

#[test]
fn fairness_rotates_equally_eligible_interpreters() {
    // Three equal interpreters, one call at a time, each released into wrap-up (idle_since moves
    // to the end of the wrap-up): longest-idle-first hands out calls in turn.
    let ids = ["a", "b", "c"];
    let mut d = engine(
        ids.iter()
            .map(|i| profile(i, &[("en", Level::Native)], true))
            .collect(),
        policy(),
    );
    let mut idle: HashMap<&str, Millis> = ids.iter().map(|i| (*i, 0)).collect();
    let mut calls: HashMap<&str, u32> = HashMap::new();
    let mut now = T0;
    for n in 0..30 {
        let states = ids
            .iter()
            .map(|i| avail(i, idle[i], calls.get(i).copied().unwrap_or(0), now))
            .collect();
        let (_, offer) = ring_first(&mut d, &format!("c{n}"), "en", states, now);
        let who = d.request(&cid(&format!("c{n}"))).expect("req").ringing[0].to_string();
        ended(&mut d, &offer, OfferState::Accepted, false, now + S);
        now += 60 * S;
        d.handle(
            Input::CallEnded {
                call: cid(&format!("c{n}")),
            },
            now,
        )
        .expect("end");
        drain(&mut d);
        let who = ids.iter().find(|i| **i == who).expect("known");
        idle.insert(who, now + 10 * S);
        *calls.entry(who).or_default() += 1;
    }
    assert_eq!(
        ids.map(|i| calls[i]),
        [10, 10, 10],
        "equal interpreters get equal calls"
    );
}

#[test]
fn a_rescan_looks_again_for_waiting_requests_only() {
    let mut d = engine(
        vec![
            profile("a", &[("de", Level::Native)], true),
            profile("b", &[("fr", Level::Native)], true),
        ],
        policy(),
    );
    // Nothing waits: a rescan asks for nothing.
    d.handle(Input::Rescan, T0).expect("rescan");
    assert!(matches!(drain(&mut d)[..], [Action::WakeAt(_)]));
    // de waits (a is busy); fr rings b.
    request(&mut d, "c1", "de", 0, T0);
    request(&mut d, "c2", "fr", 0, T0);
    drain(&mut d);
    let mut busy = avail("a", 0, 0, T0);
    busy.status = Status::Busy;
    snapshot(&mut d, "de", vec![busy], T0);
    snapshot(&mut d, "fr", vec![avail("b", 0, 0, T0)], T0);
    let c = claims(&drain(&mut d));
    grant(&mut d, &c[0], "b");
    drain(&mut d);
    // No event says a is free (it was freed on another node): the rescan looks at de only.
    d.handle(Input::Rescan, T0 + 5 * S).expect("rescan");
    let out = drain(&mut d);
    assert_eq!(out[0], Action::Snapshot(lang("de")));
    assert!(!out.contains(&Action::Snapshot(lang("fr"))), "{out:?}");
    snapshot(
        &mut d,
        "de",
        vec![avail("a", T0, 1, T0 + 5 * S)],
        T0 + 5 * S,
    );
    assert_eq!(claims(&drain(&mut d))[0].candidates, vec![iid("a")]);
}
