//! `AudioRoutes`: who hears whom in one call, derived from the participants' roles and the call's
//! controls (hold, consult, mute). A pure table; the media loop forwards exactly what it allows.
//!
//! Rules (each one a tested table below):
//! - normal: everyone hears everyone else;
//! - mute(p): nobody hears p;
//! - hold: the caller hears nobody (the page plays its own hold music) and nobody hears the caller;
//!   operators and interpreters still hear each other;
//! - consult: operators and interpreters hear each other; the caller hears none of them and none
//!   of them hears the caller (a supervisor still hears the caller unless hold or mute apply);
//! - supervisors hear everyone not muted and not on hold; nobody hears a supervisor who listens,
//!   only the operators hear one who whispers, and one who barges in is heard as an operator is.

use crate::domain::{ParticipantId, Role};
use std::collections::{BTreeMap, BTreeSet};

/// The controls an operator sets on a call (and the supervisors' own modes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Controls {
    pub hold: bool,
    pub consult: bool,
    pub muted: BTreeSet<ParticipantId>,
    /// Supervisors who whisper or barge in; one not listed listens.
    pub supervision: BTreeMap<ParticipantId, Supervision>,
}

/// How a supervisor is in a call.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Supervision {
    /// Hears the call; nobody hears them.
    #[default]
    Listen,
    /// Hears the call; only the operators hear them (coaching).
    Whisper,
    /// Talks in the call: heard as an operator is.
    Barge,
}

/// For every listener, the set of sources it hears. Listeners that hear nobody are present with an
/// empty set, so `listeners()` lists every participant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AudioRoutes {
    hears: BTreeMap<ParticipantId, BTreeSet<ParticipantId>>,
}

impl AudioRoutes {
    /// The routes for `participants` under `controls`. A participant listed twice counts once
    /// (first role wins).
    pub fn compute(participants: &[(ParticipantId, Role)], controls: &Controls) -> Self {
        let mut roles: BTreeMap<&ParticipantId, Role> = BTreeMap::new();
        for (id, role) in participants {
            roles.entry(id).or_insert(*role);
        }
        let hears = roles
            .iter()
            .map(|(&listener, &lrole)| {
                let sources = roles
                    .iter()
                    .filter(|(&source, &srole)| {
                        source != listener && audible(lrole, source, srole, controls)
                    })
                    .map(|(&source, _)| source.clone())
                    .collect();
                (listener.clone(), sources)
            })
            .collect();
        Self { hears }
    }

    /// Whether `listener` hears `source`.
    pub fn hears(&self, listener: &ParticipantId, source: &ParticipantId) -> bool {
        self.hears
            .get(listener)
            .is_some_and(|sources| sources.contains(source))
    }

    /// The sources `listener` hears, in id order (none for an unknown listener).
    pub fn sources_for<'a>(
        &'a self,
        listener: &ParticipantId,
    ) -> impl Iterator<Item = &'a ParticipantId> + 'a {
        self.hears.get(listener).into_iter().flatten()
    }

    /// Every participant the routes were computed for.
    pub fn listeners(&self) -> impl Iterator<Item = &ParticipantId> {
        self.hears.keys()
    }

    /// The listeners that hear `source`.
    pub fn listeners_of<'a>(
        &'a self,
        source: &'a ParticipantId,
    ) -> impl Iterator<Item = &'a ParticipantId> + 'a {
        self.hears
            .iter()
            .filter(move |(_, sources)| sources.contains(source))
            .map(|(listener, _)| listener)
    }
}

/// Whether a listener with role `lrole` hears `source` (role `srole`); listener ≠ source.
fn audible(lrole: Role, source: &ParticipantId, srole: Role, c: &Controls) -> bool {
    if c.muted.contains(source) {
        return false;
    }
    if srole == Role::Supervisor {
        return match c.supervision.get(source).copied().unwrap_or_default() {
            Supervision::Listen => false,
            Supervision::Whisper => lrole == Role::Operator,
            Supervision::Barge => audible(lrole, source, Role::Operator, c),
        };
    }
    let staff = |r: Role| matches!(r, Role::Operator | Role::Interpreter);
    match (lrole, srole) {
        (Role::Supervisor, Role::Caller) => !c.hold,
        (Role::Supervisor, _) => true,
        (Role::Caller, _) | (_, Role::Caller) => !c.hold && !c.consult,
        (l, s) => staff(l) && staff(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> ParticipantId {
        ParticipantId::parse(s).expect("id")
    }

    fn three() -> Vec<(ParticipantId, Role)> {
        vec![
            (p("caller"), Role::Caller),
            (p("operator"), Role::Operator),
            (p("interpreter"), Role::Interpreter),
        ]
    }

    /// Checks every (listener, source) pair against `table`: rows are listeners, columns
    /// sources, in the order of `parts`; 1 = hears.
    fn assert_table(routes: &AudioRoutes, parts: &[(ParticipantId, Role)], table: &[&[u8]]) {
        for (i, (listener, _)) in parts.iter().enumerate() {
            for (j, (source, _)) in parts.iter().enumerate() {
                let want = table[i][j] == 1;
                assert_eq!(
                    routes.hears(listener, source),
                    want,
                    "{listener} hears {source}: expected {want}"
                );
            }
            let listed: BTreeSet<_> = routes.sources_for(listener).cloned().collect();
            let expected: BTreeSet<_> = parts
                .iter()
                .enumerate()
                .filter(|(j, _)| table[i][*j] == 1)
                .map(|(_, (s, _))| s.clone())
                .collect();
            assert_eq!(listed, expected, "sources_for({listener})");
        }
    }

    #[test]
    fn normally_everyone_hears_everyone_else() {
        let parts = three();
        let r = AudioRoutes::compute(&parts, &Controls::default());
        #[rustfmt::skip]
        assert_table(&r, &parts, &[
            //  C  O  I
            &[0, 1, 1], // caller
            &[1, 0, 1], // operator
            &[1, 1, 0], // interpreter
        ]);
        assert_eq!(r.listeners().count(), 3);
    }

    #[test]
    fn two_parties_hear_each_other() {
        let parts = three()[..2].to_vec();
        let r = AudioRoutes::compute(&parts, &Controls::default());
        assert_table(&r, &parts, &[&[0, 1], &[1, 0]]);
    }

    #[test]
    fn a_muted_participant_is_heard_by_nobody_but_still_hears() {
        let parts = three();
        let controls = Controls {
            muted: [p("operator")].into(),
            ..Controls::default()
        };
        let r = AudioRoutes::compute(&parts, &controls);
        #[rustfmt::skip]
        assert_table(&r, &parts, &[
            &[0, 0, 1],
            &[1, 0, 1],
            &[1, 0, 0],
        ]);
    }

    #[test]
    fn on_hold_and_in_consult_the_caller_hears_nobody_and_operator_and_interpreter_talk() {
        let parts = three();
        let hold = Controls {
            hold: true,
            ..Controls::default()
        };
        let consult = Controls {
            consult: true,
            ..Controls::default()
        };
        for controls in [hold, consult] {
            let r = AudioRoutes::compute(&parts, &controls);
            #[rustfmt::skip]
            assert_table(&r, &parts, &[
                &[0, 0, 0],
                &[0, 0, 1],
                &[0, 1, 0],
            ]);
        }
    }

    #[test]
    fn supervisors_hear_everyone_and_are_heard_by_nobody() {
        let mut parts = three();
        parts.push((p("supervisor"), Role::Supervisor));
        let r = AudioRoutes::compute(&parts, &Controls::default());
        #[rustfmt::skip]
        assert_table(&r, &parts, &[
            //  C  O  I  S
            &[0, 1, 1, 0],
            &[1, 0, 1, 0],
            &[1, 1, 0, 0],
            &[1, 1, 1, 0],
        ]);
        // Consult hides the caller from staff only; hold and mute silence for supervisors too.
        let consult = Controls {
            consult: true,
            ..Controls::default()
        };
        let r = AudioRoutes::compute(&parts, &consult);
        assert!(r.hears(&p("supervisor"), &p("caller")));
        let hold_mute = Controls {
            hold: true,
            muted: [p("interpreter")].into(),
            ..Controls::default()
        };
        let r = AudioRoutes::compute(&parts, &hold_mute);
        #[rustfmt::skip]
        assert_table(&r, &parts, &[
            &[0, 0, 0, 0],
            &[0, 0, 0, 0],
            &[0, 1, 0, 0],
            &[0, 1, 0, 0],
        ]);
    }

    #[test]
    fn a_whispering_supervisor_is_heard_by_the_operator_only_and_one_barging_in_by_everyone() {
        let mut parts = three();
        parts.push((p("supervisor"), Role::Supervisor));
        let mut controls = Controls {
            supervision: [(p("supervisor"), Supervision::Whisper)].into(),
            ..Controls::default()
        };
        let r = AudioRoutes::compute(&parts, &controls);
        #[rustfmt::skip]
        assert_table(&r, &parts, &[
            //  C  O  I  S
            &[0, 1, 1, 0],
            &[1, 0, 1, 1],
            &[1, 1, 0, 0],
            &[1, 1, 1, 0],
        ]);
        controls
            .supervision
            .insert(p("supervisor"), Supervision::Barge);
        let r = AudioRoutes::compute(&parts, &controls);
        #[rustfmt::skip]
        assert_table(&r, &parts, &[
            &[0, 1, 1, 1],
            &[1, 0, 1, 1],
            &[1, 1, 0, 1],
            &[1, 1, 1, 0],
        ]);
        // Barging in is speaking as staff: in consult the caller does not hear it; muted, nobody.
        controls.consult = true;
        let r = AudioRoutes::compute(&parts, &controls);
        assert!(!r.hears(&p("caller"), &p("supervisor")));
        assert!(r.hears(&p("interpreter"), &p("supervisor")));
        controls.consult = false;
        controls.muted.insert(p("supervisor"));
        let r = AudioRoutes::compute(&parts, &controls);
        assert_eq!(r.listeners_of(&p("supervisor")).count(), 0);
    }

    #[test]
    fn a_relay_call_with_two_interpreters_keeps_the_staff_together_in_consult() {
        let mut parts = three();
        parts.push((p("relay"), Role::Interpreter));
        let controls = Controls {
            consult: true,
            ..Controls::default()
        };
        let r = AudioRoutes::compute(&parts, &controls);
        #[rustfmt::skip]
        assert_table(&r, &parts, &[
            &[0, 0, 0, 0],
            &[0, 0, 1, 1],
            &[0, 1, 0, 1],
            &[0, 1, 1, 0],
        ]);
        let listeners: Vec<_> = r.listeners_of(&p("relay")).cloned().collect();
        assert_eq!(listeners, vec![p("interpreter"), p("operator")]);
    }

    #[test]
    fn unknown_participants_hear_nothing_and_duplicates_count_once() {
        let mut parts = three();
        parts.push((p("caller"), Role::Supervisor));
        let r = AudioRoutes::compute(&parts, &Controls::default());
        assert!(r.hears(&p("operator"), &p("caller")), "first role wins");
        assert_eq!(r.sources_for(&p("nobody")).count(), 0);
        assert!(!r.hears(&p("nobody"), &p("caller")));
        assert_eq!(AudioRoutes::default().listeners().count(), 0);
    }
}
