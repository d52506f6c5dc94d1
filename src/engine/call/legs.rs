//! A call's legs read from its timeline: each participant's stint from joining (queued, answered,
//! joined) to leaving or to the end of the call. What carried their audio and which interpreter
//! they are is the call task's to add.

use super::{Call, CallEvent};
use crate::domain::{Leg, LegMedia, ParticipantId, Role};
use std::collections::BTreeMap;

impl Call {
    /// Every stint so far, in the order they began; a stint still going has no `left_at`.
    pub fn legs(&self) -> Vec<Leg> {
        let mut legs: Vec<Leg> = Vec::new();
        let mut open: BTreeMap<ParticipantId, usize> = BTreeMap::new();
        for e in self.timeline() {
            let (who, role) = match &e.event {
                CallEvent::Queued { caller } => (caller, Role::Caller),
                CallEvent::Answered { operator } => (operator, Role::Operator),
                CallEvent::Joined { participant, role } => (participant, *role),
                CallEvent::Left { participant } => {
                    if let Some(i) = open.remove(participant) {
                        legs[i].left_at = Some(e.at);
                    }
                    continue;
                }
                CallEvent::Ended { .. } => {
                    for i in std::mem::take(&mut open).into_values() {
                        legs[i].left_at = Some(e.at);
                    }
                    continue;
                }
                CallEvent::Hold { .. }
                | CallEvent::Consult { .. }
                | CallEvent::Muted { .. }
                | CallEvent::Supervision { .. } => continue,
            };
            if open.contains_key(who) {
                continue;
            }
            open.insert(who.clone(), legs.len());
            legs.push(Leg {
                participant: who.clone(),
                role,
                interpreter: None,
                media: LegMedia::None,
                joined_at: e.at,
                left_at: None,
            });
        }
        legs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CallId, Millis};

    fn p(s: &str) -> ParticipantId {
        ParticipantId::parse(s).expect("id")
    }

    fn stints(c: &Call) -> Vec<(String, Role, Millis, Option<Millis>)> {
        c.legs()
            .into_iter()
            .map(|l| (l.participant.to_string(), l.role, l.joined_at, l.left_at))
            .collect()
    }

    #[test]
    fn each_participant_has_a_leg_from_joining_to_leaving_or_the_end() {
        let mut c = Call::new(CallId::parse("c1").expect("id"), p("caller"), 1_000);
        c.answer(p("op-li"), 2_000).expect("answer");
        c.add_interpreter(p("int-a"), 3_000).expect("interpreter");
        c.remove(&p("int-a"), 4_000).expect("remove");
        c.add_interpreter(p("int-b"), 5_000).expect("interpreter");
        assert_eq!(
            stints(&c),
            vec![
                ("caller".into(), Role::Caller, 1_000, None),
                ("op-li".into(), Role::Operator, 2_000, None),
                ("int-a".into(), Role::Interpreter, 3_000, Some(4_000)),
                ("int-b".into(), Role::Interpreter, 5_000, None),
            ]
        );
        c.hang_up(6_000).expect("hang up");
        let left: Vec<_> = c.legs().iter().map(|l| l.left_at).collect();
        assert_eq!(
            left,
            vec![Some(6_000), Some(6_000), Some(4_000), Some(6_000)]
        );
    }

    #[test]
    fn an_interpreter_who_comes_back_has_a_second_leg() {
        let mut c = Call::new(CallId::parse("c1").expect("id"), p("caller"), 1_000);
        c.answer(p("op-li"), 2_000).expect("answer");
        c.add_interpreter(p("int-a"), 3_000).expect("interpreter");
        c.remove(&p("int-a"), 4_000).expect("remove");
        c.add_interpreter(p("int-a"), 5_000)
            .expect("interpreter again");
        c.hang_up(6_000).expect("hang up");
        let a: Vec<_> = stints(&c)
            .into_iter()
            .filter(|s| s.0 == "int-a")
            .map(|s| (s.2, s.3))
            .collect();
        assert_eq!(a, vec![(3_000, Some(4_000)), (5_000, Some(6_000))]);
    }

    #[test]
    fn a_caller_who_hangs_up_in_the_queue_has_the_only_leg() {
        let mut c = Call::new(CallId::parse("c1").expect("id"), p("caller"), 1_000);
        c.hang_up(9_000).expect("abandon");
        assert_eq!(
            stints(&c),
            vec![("caller".into(), Role::Caller, 1_000, Some(9_000))]
        );
    }
}
