//! The operator asks for one interpreter by name: rung first, on shift or not, then the search
//! goes on as for any request.

use super::*;

/// "a", a native pt speaker on shift, and "z" as given.
fn a_and(z: InterpreterProfile) -> Dispatcher {
    engine(
        vec![profile("a", &[("pt", Level::Native)], true), z],
        policy(),
    )
}

fn ask_for(d: &mut Dispatcher, who: &str, language: &str, states: Vec<InterpreterState>) {
    d.handle(
        Input::Request(NewRequest {
            call: cid("c1"),
            language: lang(language),
            priority: 0,
            preferred: Some(iid(who)),
        }),
        T0,
    )
    .expect("request");
    assert_eq!(drain(d)[0], Action::Snapshot(lang(language)));
    snapshot(d, language, states, T0);
}

#[test]
fn the_preferred_interpreter_is_rung_alone_first_even_off_shift_and_not_the_best_ranked() {
    let mut d = a_and(profile("z", &[("pt", Level::Student)], false));
    // "a" ranks first (native, on shift, idle longest); the operator asked for "z".
    ask_for(
        &mut d,
        "z",
        "pt",
        vec![avail("a", 0, 0, T0), avail("z", 5, 0, T0)],
    );
    let c = claims(&drain(&mut d));
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].candidates, vec![iid("z")], "only the one asked for");
}

#[test]
fn after_the_preferred_interpreter_declines_the_usual_search_goes_on() {
    let mut d = a_and(profile("z", &[("pt", Level::Native)], true));
    let free = vec![avail("a", 0, 0, T0), avail("z", 5, 0, T0)];
    ask_for(&mut d, "z", "pt", free.clone());
    let c = claims(&drain(&mut d)).remove(0);
    let offer = grant(&mut d, &c, "z");
    drain(&mut d);
    ended(&mut d, &offer, OfferState::Declined, false, T0 + S);
    let out = drain(&mut d);
    assert!(out.contains(&Action::Snapshot(lang("pt"))), "{out:?}");
    snapshot(&mut d, "pt", free, T0 + S);
    let next = claims(&drain(&mut d));
    assert_eq!(
        next[0].candidates,
        vec![iid("a")],
        "z declined: not rung again"
    );
}

#[test]
fn a_preferred_interpreter_who_is_not_free_leaves_the_usual_search() {
    let mut d = a_and(profile("z", &[("pt", Level::Native)], true));
    let mut busy = avail("z", 0, 1, T0);
    busy.status = Status::Busy;
    ask_for(&mut d, "z", "pt", vec![avail("a", 5, 0, T0), busy]);
    let c = claims(&drain(&mut d));
    assert_eq!(c[0].candidates, vec![iid("a")]);
}

#[test]
fn a_preferred_interpreter_who_does_not_speak_the_language_is_not_rung_for_it() {
    let mut d = a_and(profile("z", &[("fr", Level::Native)], true));
    ask_for(
        &mut d,
        "z",
        "pt",
        vec![avail("a", 0, 0, T0), avail("z", 0, 0, T0)],
    );
    let c = claims(&drain(&mut d));
    assert_eq!(c[0].candidates, vec![iid("a")]);
}
