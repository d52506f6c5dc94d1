use super::*;

fn p(s: &str) -> ParticipantId {
    ParticipantId::parse(s).expect("id")
}

fn answered() -> Call {
    let mut c = Call::new(CallId::parse("c1").expect("id"), p("caller"), 1_000);
    c.answer(p("op"), 2_000).expect("answer");
    c
}

fn interpreted() -> Call {
    let mut c = answered();
    c.add_interpreter(p("int"), 3_000).expect("interpreter");
    c
}

#[test]
fn a_call_goes_queued_answered_interpreted_ended_with_a_timeline() {
    let mut c = Call::new(CallId::parse("c1").expect("id"), p("caller"), 1_000);
    assert_eq!(c.state(), CallState::Queued);
    assert_eq!(c.ended_at(), None);
    c.answer(p("op"), 2_000).expect("answer");
    assert_eq!(c.state(), CallState::Answered);
    c.add_interpreter(p("int"), 3_000).expect("interpreter");
    assert_eq!(c.state(), CallState::Interpreted);
    c.hang_up(4_000).expect("hang up");
    assert_eq!(c.state(), CallState::Ended);
    let at: Vec<Millis> = c.timeline().iter().map(|e| e.at).collect();
    assert_eq!(at, vec![1_000, 2_000, 3_000, 4_000]);
    // The record's end is the hang-up's moment, which every leg still in the call left at.
    assert_eq!(c.ended_at(), Some(4_000));
    assert!(c.legs().iter().all(|l| l.left_at == Some(4_000)));
    assert_eq!(
        c.timeline()[3].event,
        CallEvent::Ended {
            state: CallState::Ended
        }
    );
    assert_eq!(c.routes(), AudioRoutes::default());
}

#[test]
fn a_caller_hanging_up_in_the_queue_abandons_the_call() {
    let mut c = Call::new(CallId::parse("c1").expect("id"), p("caller"), 0);
    c.remove(&p("caller"), 5).expect("leave");
    assert_eq!(c.state(), CallState::Abandoned);
    assert_eq!(c.answer(p("op"), 6), Err(CallError::Ended));
    assert_eq!(c.hang_up(7), Err(CallError::Ended));
}

#[test]
fn illegal_moves_are_refused_and_change_nothing() {
    let mut c = Call::new(CallId::parse("c1").expect("id"), p("caller"), 0);
    assert_eq!(c.set_hold(true, 1), Err(CallError::NotAnswered));
    assert_eq!(c.add_interpreter(p("int"), 1), Err(CallError::NotAnswered));
    assert_eq!(c.set_consult(true, 1), Err(CallError::NotAnswered));
    let mut c = answered();
    let before = c.timeline().len();
    assert_eq!(c.set_consult(true, 3), Err(CallError::NoInterpreter));
    assert_eq!(c.answer(p("op2"), 3), Err(CallError::AlreadyAnswered));
    assert_eq!(
        c.add_interpreter(p("op"), 3),
        Err(CallError::AlreadyJoined(p("op")))
    );
    assert_eq!(
        c.set_muted(&p("ghost"), true, 3),
        Err(CallError::NotInCall(p("ghost")))
    );
    assert_eq!(
        c.remove(&p("ghost"), 3),
        Err(CallError::NotInCall(p("ghost")))
    );
    assert_eq!(c.timeline().len(), before);
    assert_eq!(c.state(), CallState::Answered);
    assert_eq!(c.controls(), &Controls::default());
}

#[test]
fn controls_feed_the_routes() {
    let mut c = interpreted();
    c.set_consult(true, 10).expect("consult");
    let r = c.routes();
    assert!(r.hears(&p("op"), &p("int")));
    assert!(!r.hears(&p("caller"), &p("op")));
    c.set_consult(false, 11).expect("consult off");
    c.set_hold(true, 12).expect("hold");
    let r = c.routes();
    assert!(!r.hears(&p("op"), &p("caller")));
    assert!(r.hears(&p("int"), &p("op")));
    c.set_hold(false, 13).expect("unhold");
    c.set_muted(&p("int"), true, 14).expect("mute");
    let r = c.routes();
    assert!(!r.hears(&p("caller"), &p("int")));
    assert!(r.hears(&p("int"), &p("caller")));
    // Repeating a control is a no-op, not a new timeline entry.
    let n = c.timeline().len();
    c.set_muted(&p("int"), true, 15).expect("mute again");
    c.set_hold(false, 15).expect("unhold again");
    assert_eq!(c.timeline().len(), n);
}

#[test]
fn the_last_interpreter_leaving_returns_to_answered_and_ends_consult() {
    let mut c = interpreted();
    c.set_muted(&p("int"), true, 9).expect("mute");
    c.set_consult(true, 10).expect("consult");
    c.remove(&p("int"), 11).expect("leave");
    assert_eq!(c.state(), CallState::Answered);
    assert!(!c.controls().consult);
    assert!(c.controls().muted.is_empty());
    assert!(c.routes().hears(&p("caller"), &p("op")));
    // A new interpreter joins and everyone hears everyone again.
    c.add_interpreter(p("int2"), 12)
        .expect("second interpreter");
    assert_eq!(c.state(), CallState::Interpreted);
    let r = c.routes();
    assert!(r.hears(&p("caller"), &p("int2")) && r.hears(&p("int2"), &p("op")));
}

#[test]
fn another_operator_can_take_over_when_the_operator_leaves() {
    let mut c = interpreted();
    c.set_consult(true, 10).expect("consult");
    c.remove(&p("op"), 11).expect("operator leaves");
    assert!(!c.controls().consult, "no consult without an operator");
    assert_eq!(c.state(), CallState::Interpreted);
    c.answer(p("op2"), 12).expect("take over");
    assert_eq!(c.role_of(&p("op2")), Some(Role::Operator));
    assert_eq!(c.state(), CallState::Interpreted);
}

#[test]
fn a_supervisor_listens_without_being_heard() {
    let mut c = answered();
    c.add_supervisor(p("sup"), 5).expect("supervisor");
    let r = c.routes();
    assert!(r.hears(&p("sup"), &p("caller")));
    assert!(!r.hears(&p("caller"), &p("sup")));
    assert_eq!(c.state(), CallState::Answered);
}

#[test]
fn a_queued_call_routes_the_caller_to_nobody() {
    let c = Call::new(CallId::parse("c1").expect("id"), p("caller"), 0);
    assert_eq!(c.routes().sources_for(&p("caller")).count(), 0);
}

fn watched_call() -> Call {
    let policy = AttendancePolicy {
        grace_ms: 10_000,
        interpreter_silence_ms: Some(20_000),
    };
    Call::with_policy(CallId::parse("c1").expect("id"), p("caller"), 0, policy)
}

#[test]
fn a_caller_whose_page_never_connects_is_out_at_the_grace_time() {
    let mut c = watched_call();
    assert_eq!(c.next_deadline(), Some(10_000));
    let due = c.due(10_000);
    assert_eq!(due, vec![(p("caller"), LeftReason::Disconnected)]);
    // Carried out, it abandons the call; an ended call watches nothing.
    c.remove(&p("caller"), 10_000).expect("out");
    assert_eq!(c.state(), CallState::Abandoned);
    assert_eq!(c.next_deadline(), None);
    assert!(c.due(u64::MAX).is_empty());
}

#[test]
fn an_operator_who_answers_must_open_a_session_within_the_grace_time() {
    let mut c = watched_call();
    c.attach(&p("caller")).expect("caller's page");
    c.answer(p("op"), 1_000).expect("answer");
    assert_eq!(c.next_deadline(), Some(11_000));
    assert_eq!(c.attach(&p("op")), Ok(1));
    assert_eq!(c.next_deadline(), None);
    assert_eq!(c.detach(&p("op"), 4_000), 0);
    assert_eq!(c.due(14_000), vec![(p("op"), LeftReason::Disconnected)]);
}

#[test]
fn only_participants_attach_and_a_removed_one_is_no_longer_watched() {
    let mut c = watched_call();
    assert_eq!(c.attach(&p("ghost")), Err(CallError::NotInCall(p("ghost"))));
    assert_eq!(c.detach(&p("ghost"), 1), 0);
    c.attach(&p("caller")).expect("caller");
    c.answer(p("op"), 1).expect("answer");
    c.attach(&p("op")).expect("op");
    c.add_interpreter(p("int"), 2).expect("interpreter");
    assert_eq!(
        c.next_deadline(),
        Some(10_002),
        "the interpreter has no session yet"
    );
    c.remove(&p("int"), 3).expect("remove");
    assert_eq!(c.next_deadline(), None);
}

#[test]
fn an_interpreters_lost_media_takes_them_out_but_a_quiet_operator_stays() {
    let mut c = watched_call();
    c.attach(&p("caller")).expect("caller");
    c.answer(p("op"), 0).expect("answer");
    c.attach(&p("op")).expect("op");
    c.add_interpreter(p("int"), 0).expect("interpreter");
    c.attach(&p("int")).expect("int");
    for x in ["caller", "op", "int"] {
        assert!(c.media_connected(&p(x)));
    }
    assert!(!c.media_connected(&p("ghost")), "not a participant");
    assert!(c.media_lost(&p("op"), 1_000));
    assert!(c.media_lost(&p("int"), 1_000));
    c.media_silent(&p("caller"), 0);
    assert_eq!(c.next_deadline(), Some(21_000));
    assert_eq!(c.due(21_000), vec![(p("int"), LeftReason::MediaSilent)]);
    // Packets again before the limit: nobody is due.
    c.media_heard(&p("int"));
    assert_eq!(c.next_deadline(), None);
}
