//! Candidate order: level, longest idle, fewest calls today, and who is not a candidate at all.

use super::*;

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
