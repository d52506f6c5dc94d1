//! The phone caller's menu and waiting announcements in simulated time.

use super::*;

fn l(s: &str) -> Language {
    Language::parse(s).expect("language")
}

const TIMEOUT: Duration = Duration::from_secs(10);
const QUIET: Notices = Notices {
    recorded: false,
    callback_after: None,
    callback_keyed: false,
};
const RECORDED: Notices = Notices {
    recorded: true,
    callback_after: None,
    callback_keyed: false,
};
/// The call-back is offered after this long (less than `REMIND_AFTER`, so it comes first).
const CALLBACK_AFTER: Duration = Duration::from_secs(45);

fn menu_caller(now: Instant) -> (Greeter, Vec<Action>) {
    let langs = [l("en"), l("fr"), l("de")];
    Greeter::new(None, &langs, l("en"), TIMEOUT, Some(1), QUIET, now)
}

fn is_menu(actions: &[Action]) -> bool {
    matches!(actions, [Action::Play(parts, Playout::Silence)]
        if parts.len() == 4 && parts[2] == (Prompt::MenuChoice { language: l("fr"), digit: 2 }, l("fr")))
}

#[test]
fn a_caller_whose_number_gives_the_language_hears_connecting_and_position_then_comfort() {
    let t0 = Instant::now();
    let (_, first) = Greeter::new(
        Some(l("pt")),
        &[l("en")],
        l("en"),
        TIMEOUT,
        Some(3),
        QUIET,
        t0,
    );
    assert_eq!(
        first,
        [Action::Play(
            vec![
                (Prompt::Connecting, l("pt")),
                (Prompt::QueuePosition(3), l("pt"))
            ],
            Playout::Comfort
        )]
    );
}

#[test]
fn a_recorded_call_tells_the_caller_in_their_language_right_after_connecting() {
    let t0 = Instant::now();
    let (_, first) = Greeter::new(
        Some(l("pt")),
        &[l("en")],
        l("en"),
        TIMEOUT,
        Some(2),
        RECORDED,
        t0,
    );
    assert_eq!(
        first,
        [Action::Play(
            vec![
                (Prompt::Connecting, l("pt")),
                (Prompt::Recorded, l("pt")),
                (Prompt::QueuePosition(2), l("pt"))
            ],
            Playout::Comfort
        )]
    );
    // Chosen in the menu: told in the language chosen.
    let (mut g, _) = Greeter::new(
        None,
        &[l("en"), l("fr")],
        l("en"),
        TIMEOUT,
        None,
        RECORDED,
        t0,
    );
    let chose = g.digit('2', t0);
    assert!(
        matches!(&chose[..], [Action::Chose(_), Action::Play(parts, _)]
            if parts[..] == [(Prompt::Connecting, l("fr")), (Prompt::Recorded, l("fr"))]),
        "{chose:?}"
    );
}

#[test]
fn the_menu_offers_each_language_in_its_own_and_a_key_picks_one() {
    let t0 = Instant::now();
    let (mut g, first) = menu_caller(t0);
    assert!(is_menu(&first), "{first:?}");
    let Action::Play(parts, _) = &first[0] else {
        panic!("the menu is played")
    };
    assert_eq!(parts[0], (Prompt::Welcome, l("en")), "welcomed in English");
    assert!(g.digit('9', t0).is_empty(), "no language on 9");
    let out = g.digit('2', t0 + Duration::from_secs(3));
    assert_eq!(
        out,
        [
            Action::Chose(l("fr")),
            Action::Play(
                vec![
                    (Prompt::Connecting, l("fr")),
                    (Prompt::QueuePosition(1), l("fr"))
                ],
                Playout::Comfort
            )
        ]
    );
    assert!(g.menu_over());
    assert!(g.digit('1', t0).is_empty(), "the menu is over");
}

#[test]
fn no_key_repeats_the_menu_once_then_waits_in_english_as_unknown() {
    let t0 = Instant::now();
    let (mut g, _) = menu_caller(t0);
    assert_eq!(g.deadline(), None, "the timeout runs from the menu's end");
    let ended = t0 + Duration::from_secs(20);
    g.playout_done(ended);
    assert_eq!(g.deadline(), Some(ended + TIMEOUT));
    assert!(g
        .timeout(ended + TIMEOUT - Duration::from_millis(1))
        .is_empty());
    assert!(is_menu(&g.timeout(ended + TIMEOUT)), "played once more");
    let ended = ended + TIMEOUT + Duration::from_secs(20);
    g.playout_done(ended);
    let out = g.timeout(ended + TIMEOUT);
    assert_eq!(
        out,
        [Action::Play(
            vec![
                (Prompt::Connecting, l("en")),
                (Prompt::QueuePosition(1), l("en"))
            ],
            Playout::Comfort
        )]
    );
    assert!(g.menu_over());
}

#[test]
fn a_new_position_is_announced_at_most_every_twenty_seconds_and_silence_gets_a_reminder() {
    let t0 = Instant::now();
    let (mut g, _) = Greeter::new(Some(l("de")), &[], l("en"), TIMEOUT, Some(3), QUIET, t0);
    g.playout_done(t0 + Duration::from_secs(5));
    assert!(
        g.position(Some(2), t0 + Duration::from_secs(6)).is_empty(),
        "too soon"
    );
    assert!(g.position(Some(1), t0 + Duration::from_secs(8)).is_empty());
    assert_eq!(g.deadline(), Some(t0 + ANNOUNCE_EVERY));
    let out = g.timeout(t0 + ANNOUNCE_EVERY);
    assert_eq!(
        out,
        [Action::Play(
            vec![(Prompt::QueuePosition(1), l("de"))],
            Playout::Comfort
        )],
        "only the latest position"
    );
    let quiet = t0 + ANNOUNCE_EVERY + REMIND_AFTER;
    assert_eq!(g.deadline(), Some(quiet));
    assert_eq!(
        g.timeout(quiet),
        [Action::Play(
            vec![(Prompt::StillWaiting, l("de"))],
            Playout::Comfort
        )]
    );
}

#[test]
fn the_operator_answering_stops_everything() {
    let t0 = Instant::now();
    let (mut g, _) = menu_caller(t0);
    assert_eq!(g.answered(), [Action::Stop]);
    assert!(g.answered().is_empty());
    assert_eq!(g.deadline(), None);
    assert!(g.digit('1', t0).is_empty());
    assert!(g.position(Some(5), t0 + REMIND_AFTER * 2).is_empty());
}

#[test]
fn hold_or_consult_brings_the_comfort_tone_once_and_the_way_back_stops_it() {
    let mut h = HoldTone::default();
    assert_eq!(h.controls(false, false), None, "in the conversation");
    let comfort = Some(Action::Play(Vec::new(), Playout::Comfort));
    assert_eq!(h.controls(true, false), comfort, "held");
    assert_eq!(
        h.controls(true, false),
        None,
        "still held: not started again"
    );
    assert_eq!(h.controls(true, true), None, "held and consulting");
    assert_eq!(
        h.controls(false, true),
        None,
        "consulting only: still nobody to hear"
    );
    assert_eq!(h.controls(false, false), Some(Action::Stop), "back");
    assert_eq!(h.controls(false, true), comfort, "consulting");
    assert_eq!(h.controls(false, false), Some(Action::Stop), "back again");
    assert_eq!(h.controls(false, false), None);
}

fn callback_caller(t0: Instant) -> Greeter {
    offered_a_call_back(t0, false)
}

/// A Portuguese caller, second in the queue, offered a call-back after `CALLBACK_AFTER`: at the
/// number they call from, or (`keyed`) at one they key in.
fn offered_a_call_back(t0: Instant, keyed: bool) -> Greeter {
    let notices = Notices {
        recorded: false,
        callback_after: Some(CALLBACK_AFTER),
        callback_keyed: keyed,
    };
    let (mut g, _) = Greeter::new(Some(l("pt")), &[], l("en"), TIMEOUT, Some(2), notices, t0);
    g.playout_done(t0 + Duration::from_secs(4));
    g
}

#[test]
fn after_the_long_wait_the_caller_is_offered_a_call_back_and_star_takes_it() {
    let t0 = Instant::now();
    let mut g = callback_caller(t0);
    assert!(
        g.digit('*', t0 + Duration::from_secs(5)).is_empty(),
        "not offered yet"
    );
    assert_eq!(g.deadline(), Some(t0 + CALLBACK_AFTER));
    let offered = t0 + CALLBACK_AFTER;
    assert_eq!(
        g.timeout(offered),
        [Action::Play(
            vec![(Prompt::CallbackOffer, l("pt"))],
            Playout::Comfort
        )]
    );
    // Other keys do nothing; star keeps the number first (a caller who hangs up during the
    // goodbye has left it), then plays the goodbye, and once it has played the call ends.
    assert!(g.digit('1', offered).is_empty());
    assert_eq!(
        g.digit('*', offered + Duration::from_secs(3)),
        [Action::KeepNumber(None)]
    );
    assert_eq!(
        g.deadline(),
        None,
        "no announcement while the number is kept"
    );
    assert!(
        g.playout_done(offered + Duration::from_secs(4)).is_empty(),
        "the offer ending while the number is kept ends nothing"
    );
    assert!(g.digit('*', offered + Duration::from_secs(4)).is_empty());
    assert_eq!(
        g.number_kept(),
        [Action::Play(
            vec![(Prompt::CallbackTaken, l("pt"))],
            Playout::Silence
        )]
    );
    assert!(g.number_kept().is_empty(), "one goodbye");
    assert_eq!(g.deadline(), None, "no announcement over the goodbye");
    assert!(g.position(Some(1), offered + ANNOUNCE_EVERY).is_empty());
    assert!(
        g.leave_failed(offered + ANNOUNCE_EVERY).is_empty(),
        "kept already"
    );
    assert_eq!(
        g.playout_done(offered + Duration::from_secs(7)),
        [Action::EndCall]
    );
    assert!(g.digit('*', offered + Duration::from_secs(8)).is_empty());
}

#[test]
fn the_offer_comes_back_with_each_reminder_and_a_number_not_kept_leaves_the_caller_waiting() {
    let t0 = Instant::now();
    let mut g = callback_caller(t0);
    let offered = t0 + CALLBACK_AFTER;
    g.timeout(offered);
    let reminder = offered + REMIND_AFTER;
    assert_eq!(g.deadline(), Some(reminder));
    assert_eq!(
        g.timeout(reminder),
        [Action::Play(
            vec![
                (Prompt::StillWaiting, l("pt")),
                (Prompt::CallbackOffer, l("pt"))
            ],
            Playout::Comfort
        )]
    );
    assert_eq!(g.digit('*', reminder), [Action::KeepNumber(None)]);
    // The record could not keep it: waiting again, told so, and star works again.
    let failed = reminder + Duration::from_secs(1);
    assert_eq!(
        g.leave_failed(failed),
        [Action::Play(
            vec![
                (Prompt::StillWaiting, l("pt")),
                (Prompt::CallbackOffer, l("pt"))
            ],
            Playout::Comfort
        )]
    );
    assert_eq!(g.deadline(), Some(failed + REMIND_AFTER));
    assert!(!g.digit('*', failed).is_empty());
}

#[test]
fn without_a_call_back_star_does_nothing_and_only_positions_and_reminders_play() {
    let t0 = Instant::now();
    let (mut g, _) = Greeter::new(Some(l("pt")), &[], l("en"), TIMEOUT, Some(2), QUIET, t0);
    g.playout_done(t0);
    assert_eq!(g.deadline(), Some(t0 + REMIND_AFTER));
    assert_eq!(
        g.timeout(t0 + REMIND_AFTER),
        [Action::Play(
            vec![(Prompt::StillWaiting, l("pt"))],
            Playout::Comfort
        )]
    );
    assert!(g.digit('*', t0 + REMIND_AFTER).is_empty());
}

#[test]
fn an_answer_before_the_number_is_kept_wins_and_no_goodbye_plays() {
    let t0 = Instant::now();
    let mut g = callback_caller(t0);
    let offered = t0 + CALLBACK_AFTER;
    g.timeout(offered);
    assert_eq!(g.digit('*', offered), [Action::KeepNumber(None)]);
    assert_eq!(g.answered(), [Action::Stop]);
    assert!(g.number_kept().is_empty());
    assert!(g.playout_done(offered + Duration::from_secs(4)).is_empty());
}

/// The caller keys `keys` in, one a second from `t`; what the last one did.
fn keys(g: &mut Greeter, keys: &str, t: Instant) -> Vec<Action> {
    let mut last = Vec::new();
    for (i, k) in keys.chars().enumerate() {
        last = g.digit(k, t + Duration::from_secs(i as u64));
    }
    last
}

#[test]
fn a_caller_without_a_number_keys_one_in_hears_it_read_back_and_confirms_it_with_star() {
    let t0 = Instant::now();
    let mut g = offered_a_call_back(t0, true);
    let offered = t0 + CALLBACK_AFTER;
    assert_eq!(
        g.timeout(offered),
        [Action::Play(
            vec![(Prompt::CallbackKeyedOffer, l("pt"))],
            Playout::Comfort
        )]
    );
    assert_eq!(
        g.digit('*', offered),
        [Action::Play(
            vec![(Prompt::CallbackEnter, l("pt"))],
            Playout::Silence
        )]
    );
    assert_eq!(g.deadline(), None, "no announcement while keying in");
    assert!(g.position(Some(1), offered + ANNOUNCE_EVERY).is_empty());
    // Too short a number: asked again, the digits forgotten.
    assert_eq!(
        keys(&mut g, "12345#", offered),
        [Action::Play(
            vec![(Prompt::CallbackEnter, l("pt"))],
            Playout::Silence
        )]
    );
    let t = offered + Duration::from_secs(10);
    let read = keys(&mut g, "0035191#", t);
    let mut parts = vec![(Prompt::CallbackRead, l("pt"))];
    parts.extend([0, 0, 3, 5, 1, 9, 1].map(|d| (Prompt::Digit(d), l("pt"))));
    parts.push((Prompt::CallbackConfirm, l("pt")));
    assert_eq!(read, [Action::Play(parts, Playout::Silence)]);
    // Hash starts again; star confirms what was read back.
    let t = t + Duration::from_secs(10);
    assert_eq!(
        g.digit('#', t),
        [Action::Play(
            vec![(Prompt::CallbackEnter, l("pt"))],
            Playout::Silence
        )]
    );
    assert!(
        keys(&mut g, "*", t).is_empty(),
        "star while keying in is no digit"
    );
    keys(&mut g, "351912345678#", t);
    assert_eq!(
        g.digit('*', t + Duration::from_secs(20)),
        [Action::KeepNumber(Some("351912345678".into()))]
    );
    assert_eq!(
        g.number_kept(),
        [Action::Play(
            vec![(Prompt::CallbackTaken, l("pt"))],
            Playout::Silence
        )]
    );
}

#[test]
fn a_caller_who_stops_keying_in_waits_on_and_is_offered_the_call_back_again() {
    let t0 = Instant::now();
    let mut g = offered_a_call_back(t0, true);
    let offered = t0 + CALLBACK_AFTER;
    g.timeout(offered);
    g.digit('*', offered);
    // The clock starts once "enter your number" has played, and again with each key.
    let prompted = offered + Duration::from_secs(5);
    g.playout_done(prompted);
    assert_eq!(g.deadline(), Some(prompted + ENTRY_TIMEOUT));
    let typed = prompted + Duration::from_secs(3);
    g.digit('3', typed);
    assert_eq!(g.deadline(), Some(typed + ENTRY_TIMEOUT));
    assert!(g.timeout(typed + ENTRY_TIMEOUT / 2).is_empty());
    let gave_up = typed + ENTRY_TIMEOUT;
    assert_eq!(
        g.timeout(gave_up),
        [Action::Play(
            vec![
                (Prompt::StillWaiting, l("pt")),
                (Prompt::CallbackKeyedOffer, l("pt"))
            ],
            Playout::Comfort
        )]
    );
    assert_eq!(g.deadline(), Some(gave_up + REMIND_AFTER));
    // Star asks for the number afresh.
    assert_eq!(
        g.digit('*', gave_up),
        [Action::Play(
            vec![(Prompt::CallbackEnter, l("pt"))],
            Playout::Silence
        )]
    );
}

#[test]
fn a_keyed_number_stops_at_twenty_digits() {
    let t0 = Instant::now();
    let mut g = offered_a_call_back(t0, true);
    let offered = t0 + CALLBACK_AFTER;
    g.timeout(offered);
    g.digit('*', offered);
    keys(&mut g, &"1".repeat(25), offered);
    g.digit('#', offered + Duration::from_secs(30));
    assert_eq!(
        g.digit('*', offered + Duration::from_secs(31)),
        [Action::KeepNumber(Some("1".repeat(20)))]
    );
}
