//! A pre-dispatched request taken back because its caller is not there: nobody stays held.

use super::*;

#[test]
fn withdrawing_a_ringing_request_cancels_its_offer() {
    let mut d = engine(vec![profile("a", &[("pt", Level::Native)], true)], policy());
    let (_, offer) = ring_first(&mut d, "c1", "pt", vec![avail("a", 0, 0, T0)], T0);
    d.handle(Input::Withdraw { call: cid("c1") }, T0 + S)
        .expect("withdraw");
    let out = drain(&mut d);
    assert_eq!(out[0], Action::Cancel(offer.clone()));
    assert_eq!(
        events(&out),
        vec![
            ProgressEvent::Withdrawn {
                interpreter: iid("a"),
                offer: offer.clone()
            },
            ProgressEvent::Cancelled
        ]
    );
    assert!(d.request(&cid("c1")).is_none());
    // The cancel's answer ends the offer without reviving the request.
    ended(&mut d, &offer, OfferState::Cancelled, false, T0 + S);
    assert!(d.request(&cid("c1")).is_none());
    assert!(claims(&drain(&mut d)).is_empty());
}

#[test]
fn withdrawing_an_accepted_request_releases_the_interpreter_at_once_for_the_next_call() {
    // Another call waits for the same interpreter.
    let t = T0 + 5 * S;
    let (d, offer, out) = c1_then("pt", Input::Withdraw { call: cid("c1") }, t);
    assert_eq!(
        out[0],
        Action::Release {
            offer,
            wrap_up_ms: 0,
            at: t
        },
        "no wrap-up: they never served the call"
    );
    assert!(
        out.contains(&Action::Snapshot(lang("pt"))),
        "the waiting call looks again at once: {out:?}"
    );
    assert!(d.request(&cid("c1")).is_none());
}

#[test]
fn withdrawing_a_call_without_a_request_is_refused() {
    let mut d = engine(vec![], policy());
    assert_eq!(
        d.handle(Input::Withdraw { call: cid("c9") }, T0),
        Err(DispatchError::NoRequest(cid("c9")))
    );
}
