//! After the accept: wrap-up on release, a lost interpreter replaced, and callers' mistakes.

use super::*;

#[test]
fn call_end_releases_with_wrap_up_then_wakes_waiting_requests() {
    let end = T0 + 20 * S;
    let (mut d, offer, out) = c1_then("es", Input::CallEnded { call: cid("c1") }, end);
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
    let (mut d, _, offer) = a_ringing_b_free("en");
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

/// A joined interpreter: "a" accepted `c1` (Spanish), with "b" free too.
fn joined_a() -> (Dispatcher, OfferId) {
    let (mut d, _, offer) = a_ringing_b_free("es");
    ended(&mut d, &offer, OfferState::Accepted, false, T0 + S);
    drain(&mut d);
    (d, offer)
}

#[test]
fn an_interpreter_who_leaves_is_named_released_and_not_replaced() {
    let (mut d, offer) = joined_a();
    let t = T0 + 60 * S;
    d.handle(Input::InterpreterLeft { call: cid("c1") }, t)
        .expect("left");
    let out = drain(&mut d);
    assert!(out.contains(&Action::Release {
        offer,
        wrap_up_ms: 10 * S,
        at: t
    }));
    assert_eq!(
        events(&out),
        vec![ProgressEvent::Left {
            interpreter: iid("a"),
            name: "Name of a".into(),
        }],
        "the operator is told who left, not that something was cancelled"
    );
    assert!(claims(&out).is_empty(), "nobody else is rung");
    assert!(d.request(&cid("c1")).is_none());
    assert_eq!(
        d.handle(Input::InterpreterLeft { call: cid("c1") }, t),
        Err(DispatchError::NoRequest(cid("c1")))
    );
}

#[test]
fn removing_the_joined_interpreter_says_removed_and_cancelling_a_search_says_cancelled() {
    let (mut d, _) = joined_a();
    d.handle(Input::Cancel { call: cid("c1") }, T0 + 2 * S)
        .expect("remove");
    assert_eq!(
        events(&drain(&mut d)),
        vec![ProgressEvent::Removed {
            interpreter: iid("a"),
            name: "Name of a".into(),
        }]
    );
    request(&mut d, "c2", "es", 0, T0 + 3 * S);
    drain(&mut d);
    d.handle(Input::Cancel { call: cid("c2") }, T0 + 3 * S)
        .expect("cancel");
    assert_eq!(events(&drain(&mut d)), vec![ProgressEvent::Cancelled]);
    // Leaving needs someone who joined.
    request(&mut d, "c3", "es", 0, T0 + 4 * S);
    assert_eq!(
        d.handle(Input::InterpreterLeft { call: cid("c3") }, T0 + 4 * S),
        Err(DispatchError::NoInterpreter(cid("c3")))
    );
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
                priority: 0,
                preferred: None,
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
