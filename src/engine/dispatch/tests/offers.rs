//! Offers: accept, decline, ring timeout, parallel offers and the races between claims and answers.

use super::*;

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
    let (mut d, c, offer) = a_ringing_b_free("ar");
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
