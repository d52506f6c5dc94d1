//! Who may send what, and how a refusal of the call task or the media plane is put to the
//! client (a stable code and words without internal detail).

use crate::domain::Role;
use crate::drivers::call::CallTaskError;
use crate::protocol::{ClientMessage, ErrorCode};

/// What each role may send once authenticated (participant-level checks are the call task's).
pub(super) fn allowed(role: Role, msg: &ClientMessage) -> Result<(), (ErrorCode, String)> {
    use ClientMessage as M;
    let ok = match msg {
        M::Hello { .. }
        | M::Ping { .. }
        | M::Offer { .. }
        | M::IceCandidate { .. }
        | M::Mute { .. } => true,
        M::AnswerCall { .. }
        | M::Hold { .. }
        | M::Consult { .. }
        | M::SetLanguage { .. }
        | M::ReadCaseNumber => role == Role::Operator,
        M::JoinCall { .. } | M::LeaveCall => {
            matches!(role, Role::Operator | Role::Interpreter | Role::Supervisor)
        }
        M::Supervise { .. } => role == Role::Supervisor,
        M::HangUp => matches!(role, Role::Operator | Role::Caller),
        M::KeepWaiting | M::RequestCallback { .. } => role == Role::Caller,
        M::SetAvailability { .. } | M::AcceptOffer { .. } | M::DeclineOffer { .. } => {
            role == Role::Interpreter
        }
        M::RequestInterpreter { .. }
        | M::CancelInterpreter
        | M::RemoveInterpreter
        | M::ReplaceInterpreter => role == Role::Operator,
    };
    if ok {
        Ok(())
    } else {
        Err((
            ErrorCode::Forbidden,
            format!("a {role:?} may not send {:?}", msg.kind()).to_lowercase(),
        ))
    }
}

/// A call task's refusal as an error message (mapped once, in `api::error`).
pub(super) fn refusal(e: CallTaskError) -> (ErrorCode, String) {
    crate::api::ApiError::from(e).to_ws()
}
