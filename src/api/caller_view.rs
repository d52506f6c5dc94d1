//! What a caller may see of the people in their call: roles, never staff names or accounts.
//! Staff participant ids carry the operator's account name or the interpreter's id, so a
//! caller's copy of every message names them by role plus a pseudonym that is stable within
//! the call (slots, levels and the call view agree) and unlinkable across calls.

use crate::domain::{CallId, ParticipantId, Role};
use crate::engine::Supervision;
use crate::protocol::{CallView, ServerMessage};

/// `message` as the caller of `call` receives it.
pub fn for_caller(message: ServerMessage, call: &CallId) -> ServerMessage {
    match message {
        ServerMessage::CallState { call: view } => ServerMessage::CallState {
            call: view_for_caller(view),
        },
        ServerMessage::Slots { mut slots } => {
            for s in &mut slots {
                s.participant = s.participant.take().map(|p| pseudonym(call, &p));
            }
            ServerMessage::Slots { slots }
        }
        ServerMessage::Levels { mut levels } => {
            for l in &mut levels {
                l.participant = pseudonym(call, &l.participant);
            }
            ServerMessage::Levels { levels }
        }
        other => other,
    }
}

/// The call view without staff names, staff account ids or the interpreters invited, and without
/// supervisors unless one has barged in (then the caller hears them, and sees a supervisor).
pub fn view_for_caller(mut view: CallView) -> CallView {
    view.participants
        .retain(|p| p.role != Role::Supervisor || p.supervision == Some(Supervision::Barge));
    for p in &mut view.participants {
        if p.role != Role::Caller {
            p.id = pseudonym(&view.call_id, &p.id);
            p.name = None;
        }
    }
    view.invited.clear();
    // For the interpreter and the staff only.
    view.brief = None;
    view.case_category = None;
    view
}

/// The caller's own id stays as it is (the page mutes itself by it); anyone else becomes
/// `<role>-<8 hex>`, keyed by the call.
fn pseudonym(call: &CallId, p: &ParticipantId) -> ParticipantId {
    if *p == crate::drivers::call::CallHandle::caller() {
        return p.clone();
    }
    let role = match p.as_str().split_once('-').map(|(prefix, _)| prefix) {
        Some("op") => "operator",
        Some("int") => "interpreter",
        Some("sup") => "supervisor",
        _ => "participant",
    };
    let hash = crate::auth::sha256_hex(&format!("{call}\u{0}{p}"));
    ParticipantId::parse(&format!("{role}-{}", &hash[..8])).unwrap_or_else(|_| p.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::InterpreterId;
    use crate::drivers::call::{interpreter_participant, operator_participant, CallHandle};
    use crate::protocol::{
        CallState, LanguageSource, LanguageView, LevelView, ParticipantView, SlotView,
    };

    fn id(s: &str) -> CallId {
        CallId::parse(s).expect("call id")
    }

    fn staffed_view(call: &CallId) -> CallView {
        let person = |id: ParticipantId, role, name: Option<&str>| ParticipantView {
            id,
            role,
            name: name.map(str::to_owned),
            connected: true,
            muted: false,
            muted_by: None,
            supervision: None,
        };
        let iid = InterpreterId::parse("bfsu-pt-01").expect("iid");
        CallView {
            call_id: call.clone(),
            state: CallState::Interpreted,
            language: LanguageView {
                code: None,
                source: LanguageSource::Unknown,
                confidence: 0.0,
            },
            participants: vec![
                person(CallHandle::caller(), Role::Caller, None),
                person(operator_participant("wang"), Role::Operator, Some("wang")),
                person(
                    interpreter_participant(&iid),
                    Role::Interpreter,
                    Some("Li Na"),
                ),
            ],
            hold: false,
            consult: false,
            position: None,
            typical_wait_ms: None,
            created_at: 0,
            answered_at: Some(1),
            ended_at: None,
            ended_by: None,
            invited: vec![iid],
            case_number: None,
            returning_case: None,
            caller_on_phone: false,
            job_number: String::new(),
            brief: Some("行李丢失".into()),
            case_category: Some("失物招领".into()),
        }
    }

    #[test]
    fn a_caller_sees_roles_but_no_staff_name_or_account() {
        let call = id("c1");
        let view = view_for_caller(staffed_view(&call));
        let text = serde_json::to_string(&view).expect("json");
        for secret in ["wang", "Li Na", "bfsu", "行李丢失", "失物招领"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        let roles: Vec<Role> = view.participants.iter().map(|p| p.role).collect();
        assert_eq!(roles, [Role::Caller, Role::Operator, Role::Interpreter]);
        assert_eq!(view.participants[0].id, CallHandle::caller());
        assert!(view.participants[1].id.as_str().starts_with("operator-"));
        assert!(view.participants[2].id.as_str().starts_with("interpreter-"));
    }

    #[test]
    fn slots_levels_and_view_name_a_participant_alike_within_a_call_only() {
        let call = id("c1");
        let op = operator_participant("wang");
        let view = view_for_caller(staffed_view(&call));
        let slots = for_caller(
            ServerMessage::Slots {
                slots: vec![SlotView {
                    mid: "1".into(),
                    participant: Some(op.clone()),
                }],
            },
            &call,
        );
        let levels = for_caller(
            ServerMessage::Levels {
                levels: vec![LevelView {
                    participant: op.clone(),
                    level: 30,
                    speaking: true,
                }],
            },
            &call,
        );
        let in_view = view.participants[1].id.clone();
        assert!(
            matches!(slots, ServerMessage::Slots { slots } if slots[0].participant.as_ref() == Some(&in_view))
        );
        assert!(
            matches!(levels, ServerMessage::Levels { levels } if levels[0].participant == in_view)
        );
        assert_ne!(pseudonym(&id("c2"), &op), in_view, "linkable across calls");
    }
}
