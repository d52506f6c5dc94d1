//! Requests nobody can serve yet: the waiting queue, escalation, auto-pause, rescans.

use super::*;

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
