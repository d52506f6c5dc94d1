//! `Call`: one hotline call's state machine, participants, controls and timeline (pure; time is
//! passed in). `Queued → Answered → Interpreted → Ended`, or `Queued → Abandoned` when the caller
//! hangs up before an operator answers. Illegal moves return a `CallError` and change nothing.

use super::routes::{AudioRoutes, Controls};
use crate::domain::{CallId, Millis, ParticipantId, Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// Waiting for an operator.
    Queued,
    /// Caller and operator talk.
    Answered,
    /// At least one interpreter is in the call.
    Interpreted,
    Ended,
    /// The caller hung up before an operator answered.
    Abandoned,
}

impl CallState {
    pub fn is_final(self) -> bool {
        matches!(self, CallState::Ended | CallState::Abandoned)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("the call has ended")]
    Ended,
    #[error("the call has not been answered yet")]
    NotAnswered,
    #[error("the call is already answered by an operator who is still in it")]
    AlreadyAnswered,
    #[error("consult needs an operator and an interpreter in the call")]
    NoInterpreter,
    #[error("{0} is already in the call")]
    AlreadyJoined(ParticipantId),
    #[error("{0} is not in the call")]
    NotInCall(ParticipantId),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub id: ParticipantId,
    pub role: Role,
    pub joined_at: Millis,
}

/// What happened, for the call record and the consoles.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum CallEvent {
    Queued {
        caller: ParticipantId,
    },
    Answered {
        operator: ParticipantId,
    },
    Joined {
        participant: ParticipantId,
        role: Role,
    },
    Left {
        participant: ParticipantId,
    },
    Hold {
        on: bool,
    },
    Consult {
        on: bool,
    },
    Muted {
        participant: ParticipantId,
        muted: bool,
    },
    Ended {
        state: CallState,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TimelineEntry {
    pub at: Millis,
    #[serde(flatten)]
    pub event: CallEvent,
}

#[derive(Debug, Clone)]
pub struct Call {
    id: CallId,
    state: CallState,
    participants: Vec<Participant>,
    controls: Controls,
    timeline: Vec<TimelineEntry>,
}

impl Call {
    /// A new call waiting in the queue with its caller.
    pub fn new(id: CallId, caller: ParticipantId, now: Millis) -> Self {
        let mut call = Self {
            id,
            state: CallState::Queued,
            participants: vec![Participant {
                id: caller.clone(),
                role: Role::Caller,
                joined_at: now,
            }],
            controls: Controls::default(),
            timeline: Vec::new(),
        };
        call.log(now, CallEvent::Queued { caller });
        call
    }

    pub fn id(&self) -> &CallId {
        &self.id
    }
    pub fn state(&self) -> CallState {
        self.state
    }
    pub fn participants(&self) -> &[Participant] {
        &self.participants
    }
    pub fn controls(&self) -> &Controls {
        &self.controls
    }
    pub fn timeline(&self) -> &[TimelineEntry] {
        &self.timeline
    }

    pub fn role_of(&self, p: &ParticipantId) -> Option<Role> {
        self.participants
            .iter()
            .find(|x| &x.id == p)
            .map(|x| x.role)
    }

    fn has_role(&self, role: Role) -> bool {
        self.participants.iter().any(|x| x.role == role)
    }

    /// An operator answers a queued call, or takes over an answered call whose operator left.
    pub fn answer(&mut self, operator: ParticipantId, now: Millis) -> Result<(), CallError> {
        self.live()?;
        if self.state != CallState::Queued && self.has_role(Role::Operator) {
            return Err(CallError::AlreadyAnswered);
        }
        self.join(operator.clone(), Role::Operator, now)?;
        if self.state == CallState::Queued {
            self.state = CallState::Answered;
        }
        self.log(now, CallEvent::Answered { operator });
        Ok(())
    }

    /// An interpreter joins an answered call (a second one joins a relay).
    pub fn add_interpreter(&mut self, p: ParticipantId, now: Millis) -> Result<(), CallError> {
        self.answered()?;
        self.join(p.clone(), Role::Interpreter, now)?;
        self.state = CallState::Interpreted;
        self.log(
            now,
            CallEvent::Joined {
                participant: p,
                role: Role::Interpreter,
            },
        );
        Ok(())
    }

    /// A supervisor listens in (any live state).
    pub fn add_supervisor(&mut self, p: ParticipantId, now: Millis) -> Result<(), CallError> {
        self.live()?;
        self.join(p.clone(), Role::Supervisor, now)?;
        self.log(
            now,
            CallEvent::Joined {
                participant: p,
                role: Role::Supervisor,
            },
        );
        Ok(())
    }

    /// A participant leaves. The caller leaving ends the call (abandoned if still queued); the
    /// last interpreter leaving returns the call to `Answered` and ends consult; the last operator
    /// leaving ends consult and lets another operator take over with `answer`.
    pub fn remove(&mut self, p: &ParticipantId, now: Millis) -> Result<(), CallError> {
        self.live()?;
        let role = self
            .role_of(p)
            .ok_or_else(|| CallError::NotInCall(p.clone()))?;
        if role == Role::Caller {
            return self.hang_up(now);
        }
        self.participants.retain(|x| &x.id != p);
        self.controls.muted.remove(p);
        self.log(
            now,
            CallEvent::Left {
                participant: p.clone(),
            },
        );
        if role == Role::Interpreter && !self.has_role(Role::Interpreter) {
            self.state = CallState::Answered;
        }
        let can_consult = self.has_role(Role::Interpreter) && self.has_role(Role::Operator);
        if self.controls.consult && !can_consult {
            self.controls.consult = false;
            self.log(now, CallEvent::Consult { on: false });
        }
        Ok(())
    }

    pub fn set_hold(&mut self, on: bool, now: Millis) -> Result<(), CallError> {
        self.answered()?;
        if self.controls.hold != on {
            self.controls.hold = on;
            self.log(now, CallEvent::Hold { on });
        }
        Ok(())
    }

    pub fn set_consult(&mut self, on: bool, now: Millis) -> Result<(), CallError> {
        self.answered()?;
        if on && !(self.has_role(Role::Interpreter) && self.has_role(Role::Operator)) {
            return Err(CallError::NoInterpreter);
        }
        if self.controls.consult != on {
            self.controls.consult = on;
            self.log(now, CallEvent::Consult { on });
        }
        Ok(())
    }

    pub fn set_muted(
        &mut self,
        p: &ParticipantId,
        muted: bool,
        now: Millis,
    ) -> Result<(), CallError> {
        self.live()?;
        if self.role_of(p).is_none() {
            return Err(CallError::NotInCall(p.clone()));
        }
        let changed = if muted {
            self.controls.muted.insert(p.clone())
        } else {
            self.controls.muted.remove(p)
        };
        if changed {
            self.log(
                now,
                CallEvent::Muted {
                    participant: p.clone(),
                    muted,
                },
            );
        }
        Ok(())
    }

    /// Ends the call: `Abandoned` if no operator answered yet, `Ended` otherwise.
    pub fn hang_up(&mut self, now: Millis) -> Result<(), CallError> {
        self.live()?;
        self.state = if self.state == CallState::Queued {
            CallState::Abandoned
        } else {
            CallState::Ended
        };
        self.controls = Controls::default();
        self.log(now, CallEvent::Ended { state: self.state });
        Ok(())
    }

    /// Who hears whom now. A queued call routes nobody to the caller but supervisors; an ended
    /// call routes nothing.
    pub fn routes(&self) -> AudioRoutes {
        if self.state.is_final() {
            return AudioRoutes::default();
        }
        let parts: Vec<(ParticipantId, Role)> = self
            .participants
            .iter()
            .map(|x| (x.id.clone(), x.role))
            .collect();
        AudioRoutes::compute(&parts, &self.controls)
    }

    fn join(&mut self, id: ParticipantId, role: Role, now: Millis) -> Result<(), CallError> {
        if self.role_of(&id).is_some() {
            return Err(CallError::AlreadyJoined(id));
        }
        self.participants.push(Participant {
            id,
            role,
            joined_at: now,
        });
        Ok(())
    }

    fn live(&self) -> Result<(), CallError> {
        if self.state.is_final() {
            Err(CallError::Ended)
        } else {
            Ok(())
        }
    }

    fn answered(&self) -> Result<(), CallError> {
        match self.state {
            CallState::Queued => Err(CallError::NotAnswered),
            s if s.is_final() => Err(CallError::Ended),
            _ => Ok(()),
        }
    }

    fn log(&mut self, at: Millis, event: CallEvent) {
        self.timeline.push(TimelineEntry { at, event });
    }
}

#[cfg(test)]
mod tests {
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
        c.answer(p("op"), 2_000).expect("answer");
        assert_eq!(c.state(), CallState::Answered);
        c.add_interpreter(p("int"), 3_000).expect("interpreter");
        assert_eq!(c.state(), CallState::Interpreted);
        c.hang_up(4_000).expect("hang up");
        assert_eq!(c.state(), CallState::Ended);
        let at: Vec<Millis> = c.timeline().iter().map(|e| e.at).collect();
        assert_eq!(at, vec![1_000, 2_000, 3_000, 4_000]);
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
}
