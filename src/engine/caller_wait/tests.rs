//! `CallerWait` in simulated time: when a caller counts as there, and the long-wait question.

use super::*;

const T0: Millis = 1_764_648_000_000;
const S: u64 = 1000;

fn policy() -> WaitPolicy {
    WaitPolicy {
        max_wait_ms: 300 * S,
        reply_ms: 60 * S,
    }
}

/// Every action up to and including the closing `WakeAt`.
fn drain(w: &mut CallerWait) -> Vec<WaitAction> {
    let mut out = Vec::new();
    loop {
        let a = w.poll_action();
        let done = matches!(a, WaitAction::WakeAt(_));
        out.push(a);
        if done {
            return out;
        }
    }
}

fn feed(w: &mut CallerWait, input: WaitInput, now: Millis) -> Vec<WaitAction> {
    w.handle(input, now).expect("input");
    drain(w)
}

fn lang(s: &str) -> Language {
    Language::parse(s).expect("language")
}

#[test]
fn a_caller_with_a_socket_but_no_media_is_never_ready() {
    let mut w = CallerWait::new(policy(), T0);
    assert_eq!(w.presence(), Presence::Away);
    let out = feed(&mut w, WaitInput::Sessions(1), T0 + S);
    assert_eq!(out[0], WaitAction::Presence(Presence::NoMedia));
    assert!(!w.presence().may_predispatch());
    // Connected but silent (an offer answered, nothing sent) is not enough either.
    let out = feed(&mut w, WaitInput::MediaConnected, T0 + 2 * S);
    assert_eq!(out[0], WaitAction::Presence(Presence::Silent));
    assert!(!w.presence().may_predispatch());
}

#[test]
fn packets_from_a_connected_caller_make_the_call_ready() {
    let mut w = CallerWait::new(policy(), T0);
    feed(&mut w, WaitInput::Sessions(1), T0);
    feed(&mut w, WaitInput::MediaConnected, T0 + S);
    let out = feed(&mut w, WaitInput::MediaPackets, T0 + S);
    assert_eq!(out[0], WaitAction::Presence(Presence::Ready));
    assert!(w.presence().may_predispatch());
    // More packets change nothing: no repeated presence action.
    let out = feed(&mut w, WaitInput::MediaPackets, T0 + 2 * S);
    assert_eq!(out, vec![WaitAction::WakeAt(T0 + 300 * S)]);
}

#[test]
fn a_caller_who_goes_silent_leaves_or_loses_media_withdraws_a_predispatch() {
    let ready = || {
        let mut w = CallerWait::new(policy(), T0);
        feed(&mut w, WaitInput::Sessions(1), T0);
        feed(&mut w, WaitInput::MediaConnected, T0);
        feed(&mut w, WaitInput::MediaPackets, T0);
        w
    };
    for (input, expected) in [
        (WaitInput::MediaSilent, Presence::Silent),
        (WaitInput::MediaGone, Presence::NoMedia),
        (WaitInput::Sessions(0), Presence::Away),
        (WaitInput::Ended, Presence::Ended),
    ] {
        let mut w = ready();
        let out = feed(&mut w, input, T0 + S);
        assert_eq!(out[0], WaitAction::Presence(expected), "{input:?}");
        assert!(expected.withdraws_predispatch(), "{input:?}");
    }
    // Packets again after silence: ready again.
    let mut w = ready();
    feed(&mut w, WaitInput::MediaSilent, T0 + S);
    let out = feed(&mut w, WaitInput::MediaPackets, T0 + 2 * S);
    assert_eq!(out[0], WaitAction::Presence(Presence::Ready));
}

#[test]
fn once_answered_the_callers_media_no_longer_gates_the_search() {
    let mut w = CallerWait::new(policy(), T0);
    feed(&mut w, WaitInput::Sessions(1), T0);
    let out = feed(&mut w, WaitInput::Answered, T0 + S);
    assert_eq!(out[0], WaitAction::Presence(Presence::Answered));
    assert!(!Presence::Answered.withdraws_predispatch());
    assert_eq!(out.last(), Some(&WaitAction::WakeAt(NEVER)));
    let out = feed(&mut w, WaitInput::MediaGone, T0 + 2 * S);
    assert_eq!(out, vec![WaitAction::WakeAt(NEVER)]);
    let out = feed(&mut w, WaitInput::Timer, T0 + 400 * S);
    assert_eq!(
        out,
        vec![WaitAction::WakeAt(NEVER)],
        "never asked once answered"
    );
}

#[test]
fn the_caller_is_asked_at_the_longest_wait_and_keeping_waiting_resets_the_timer() {
    let mut w = CallerWait::new(policy(), T0);
    assert_eq!(drain(&mut w), vec![WaitAction::WakeAt(T0 + 300 * S)]);
    // Woken early (another timer): nothing yet.
    assert_eq!(
        feed(&mut w, WaitInput::Timer, T0 + 299 * S),
        vec![WaitAction::WakeAt(T0 + 300 * S)]
    );
    let out = feed(&mut w, WaitInput::Timer, T0 + 300 * S);
    assert_eq!(
        out,
        vec![
            WaitAction::AskKeepWaiting {
                waited_ms: 300 * S,
                reply_by: T0 + 360 * S
            },
            WaitAction::WakeAt(T0 + 360 * S)
        ]
    );
    assert_eq!(w.asked(), Some(T0 + 360 * S));
    let out = feed(&mut w, WaitInput::KeepWaiting, T0 + 330 * S);
    assert_eq!(out, vec![WaitAction::WakeAt(T0 + 630 * S)]);
    assert_eq!(w.asked(), None);
    // The reply deadline of the answered question no longer counts.
    assert_eq!(
        feed(&mut w, WaitInput::Timer, T0 + 360 * S),
        vec![WaitAction::WakeAt(T0 + 630 * S)]
    );
    let out = feed(&mut w, WaitInput::Timer, T0 + 630 * S);
    assert_eq!(
        out[0],
        WaitAction::AskKeepWaiting {
            waited_ms: 630 * S,
            reply_by: T0 + 690 * S
        }
    );
}

#[test]
fn an_unanswered_question_ends_the_call() {
    let mut w = CallerWait::new(policy(), T0);
    feed(&mut w, WaitInput::Sessions(1), T0);
    feed(&mut w, WaitInput::Timer, T0 + 300 * S);
    let out = feed(&mut w, WaitInput::Timer, T0 + 360 * S);
    assert_eq!(
        out,
        vec![
            WaitAction::GiveUp { waited_ms: 360 * S },
            WaitAction::Presence(Presence::Ended),
            WaitAction::WakeAt(NEVER)
        ]
    );
    assert_eq!(
        w.handle(WaitInput::KeepWaiting, T0 + 361 * S),
        Err(WaitError::NotWaiting)
    );
}

#[test]
fn keeping_waiting_unasked_is_refused_and_changes_nothing() {
    let mut w = CallerWait::new(policy(), T0);
    assert_eq!(
        w.handle(WaitInput::KeepWaiting, T0 + 10 * S),
        Err(WaitError::NotAsked)
    );
    assert_eq!(drain(&mut w), vec![WaitAction::WakeAt(T0 + 300 * S)]);
    feed(&mut w, WaitInput::Answered, T0 + 20 * S);
    assert_eq!(
        w.handle(WaitInput::KeepWaiting, T0 + 30 * S),
        Err(WaitError::NotWaiting)
    );
}

#[test]
fn a_page_that_reconnects_while_asked_is_asked_again_with_the_same_deadline() {
    let mut w = CallerWait::new(policy(), T0);
    feed(&mut w, WaitInput::Sessions(1), T0);
    feed(&mut w, WaitInput::Timer, T0 + 300 * S);
    feed(&mut w, WaitInput::Sessions(0), T0 + 301 * S);
    let out = feed(&mut w, WaitInput::Sessions(1), T0 + 310 * S);
    assert!(out.contains(&WaitAction::AskKeepWaiting {
        waited_ms: 310 * S,
        reply_by: T0 + 360 * S
    }));
    // A second tab of a connected caller does not repeat it.
    let out = feed(&mut w, WaitInput::Sessions(2), T0 + 311 * S);
    assert_eq!(out, vec![WaitAction::WakeAt(T0 + 360 * S)]);
}

#[test]
fn with_no_longest_wait_the_caller_is_never_asked() {
    let mut w = CallerWait::new(
        WaitPolicy {
            max_wait_ms: 0,
            reply_ms: 60 * S,
        },
        T0,
    );
    assert_eq!(drain(&mut w), vec![WaitAction::WakeAt(NEVER)]);
    assert_eq!(
        feed(&mut w, WaitInput::Timer, T0 + 100_000 * S),
        vec![WaitAction::WakeAt(NEVER)]
    );
}

#[test]
fn only_a_ready_caller_in_a_confident_foreign_language_is_predispatched() {
    let (pt, zh) = (Some(lang("pt")), lang("zh"));
    let p = |presence, language, confidence| {
        predispatch_language(presence, language, confidence, 0.8, zh)
    };
    assert_eq!(p(Presence::Ready, pt, 0.9), pt);
    assert_eq!(p(Presence::NoMedia, pt, 0.9), None, "no media");
    assert_eq!(p(Presence::Silent, pt, 1.0), None, "no packets");
    assert_eq!(p(Presence::Away, pt, 1.0), None, "no session");
    assert_eq!(p(Presence::Ready, pt, 0.5), None, "unsure");
    assert_eq!(
        p(Presence::Ready, Some(zh), 1.0),
        None,
        "operators' language"
    );
    assert_eq!(p(Presence::Ready, None, 1.0), None, "unknown");
}

#[test]
fn calls_beyond_a_cap_are_refused_and_zero_means_no_cap() {
    let caps = WaitCaps {
        per_address: 2,
        total: 5,
    };
    assert_eq!(admit(caps, 4, 1), Ok(()));
    assert_eq!(admit(caps, 4, 2), Err(WaitRefusal::PerAddress { cap: 2 }));
    assert_eq!(admit(caps, 5, 0), Err(WaitRefusal::Total { cap: 5 }));
    let none = WaitCaps {
        per_address: 0,
        total: 0,
    };
    assert_eq!(admit(none, 100_000, 100_000), Ok(()));
}
