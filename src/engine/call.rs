//! `Call`: one hotline call's state machine, participants, controls and timeline (pure; time is
//! passed in). `Queued → Answered → Interpreted → Ended`, or `Queued → Abandoned` when the caller
//! hangs up before an operator answers. Illegal moves return a `CallError` and change nothing.
//! The call also decides when an absent participant is out (`Attendance`: sessions away past the
//! grace time, an interpreter's media silent past its limit); its task only keeps the time.

mod legs;

use super::attendance::{Attendance, AttendancePolicy};
use super::routes::{AudioRoutes, Controls, Supervision};
use crate::domain::{CallId, LeftReason, Millis, ParticipantId, Role};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
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
    #[error("{0} is not a supervisor in the call")]
    NotSupervisor(ParticipantId),
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
    /// A supervisor listens, whispers or barges in.
    Supervision {
        participant: ParticipantId,
        mode: Supervision,
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
    attendance: Attendance,
}

impl Call {
    /// A new call waiting in the queue with its caller, with the default attendance policy.
    pub fn new(id: CallId, caller: ParticipantId, now: Millis) -> Self {
        Self::with_policy(id, caller, now, AttendancePolicy::default())
    }

    /// A new call waiting in the queue with its caller, who has no session yet: without one
    /// within the grace time the call is abandoned.
    pub fn with_policy(
        id: CallId,
        caller: ParticipantId,
        now: Millis,
        policy: AttendancePolicy,
    ) -> Self {
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
            attendance: Attendance::new(policy),
        };
        call.attendance.joined(&caller, now);
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

    /// A supervisor in the call listens, whispers to the operators or barges in.
    pub fn set_supervision(
        &mut self,
        p: &ParticipantId,
        mode: Supervision,
        now: Millis,
    ) -> Result<(), CallError> {
        self.live()?;
        if self.role_of(p) != Some(Role::Supervisor) {
            return Err(CallError::NotSupervisor(p.clone()));
        }
        let before = self
            .controls
            .supervision
            .get(p)
            .copied()
            .unwrap_or_default();
        if before != mode {
            if mode == Supervision::Listen {
                self.controls.supervision.remove(p);
            } else {
                self.controls.supervision.insert(p.clone(), mode);
            }
            self.log(
                now,
                CallEvent::Supervision {
                    participant: p.clone(),
                    mode,
                },
            );
        }
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
        self.controls.supervision.remove(p);
        self.attendance.left(p);
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
    /// When the call ended (its `Ended` event), if it has.
    pub fn ended_at(&self) -> Option<Millis> {
        self.timeline
            .iter()
            .rev()
            .find(|e| matches!(e.event, CallEvent::Ended { .. }))
            .map(|e| e.at)
    }

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
        self.attendance.joined(&id, now);
        self.participants.push(Participant {
            id,
            role,
            joined_at: now,
        });
        Ok(())
    }

    /// Sessions, media connections and silences of the participants.
    pub fn attendance(&self) -> &Attendance {
        &self.attendance
    }

    /// A signalling session of `p` opened. Returns how many are open.
    pub fn attach(&mut self, p: &ParticipantId) -> Result<u32, CallError> {
        if self.role_of(p).is_none() {
            return Err(CallError::NotInCall(p.clone()));
        }
        Ok(self.attendance.attached(p))
    }

    /// A signalling session of `p` closed. Returns how many are still open.
    pub fn detach(&mut self, p: &ParticipantId, now: Millis) -> u32 {
        if self.role_of(p).is_none() {
            return 0;
        }
        self.attendance.detached(p, now)
    }

    /// `p`'s media connected; true when that changes what the call shows.
    pub fn media_connected(&mut self, p: &ParticipantId) -> bool {
        self.attendance.media_heard(p);
        self.role_of(p).is_some() && self.attendance.media_connected(p)
    }

    /// `p`'s media connection dropped: an interpreter counts as silent from `now`. True when
    /// that changes what the call shows.
    pub fn media_lost(&mut self, p: &ParticipantId, now: Millis) -> bool {
        let watched = self.role_of(p) == Some(Role::Interpreter);
        self.attendance.media_lost(p, watched, now)
    }

    /// The media plane reports `p` silent since `since`.
    pub fn media_silent(&mut self, p: &ParticipantId, since: Millis) {
        let watched = self.role_of(p) == Some(Role::Interpreter);
        self.attendance.media_silent(p, watched, since);
    }

    /// Packets arrived from `p`.
    pub fn media_heard(&mut self, p: &ParticipantId) {
        self.attendance.media_heard(p);
    }

    /// When `due` will next name someone (never once the call is over).
    pub fn next_deadline(&self) -> Option<Millis> {
        if self.state.is_final() {
            return None;
        }
        self.attendance.next_deadline()
    }

    /// The participants to take out at `now`, and why (the caller among them ends the call).
    pub fn due(&self, now: Millis) -> Vec<(ParticipantId, LeftReason)> {
        if self.state.is_final() {
            return Vec::new();
        }
        self.attendance.due(now)
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
mod tests;
