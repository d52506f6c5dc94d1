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
        M::AnswerCall { .. } | M::Hold { .. } | M::Consult { .. } | M::SetLanguage { .. } => {
            role == Role::Operator
        }
        M::JoinCall { .. } | M::LeaveCall => matches!(role, Role::Operator | Role::Interpreter),
        M::HangUp => matches!(role, Role::Operator | Role::Caller),
        M::KeepWaiting => role == Role::Caller,
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

/// A call task's refusal as an error message.
pub(super) fn refusal(e: CallTaskError) -> (ErrorCode, String) {
    use crate::engine::CallError as C;
    let code = match &e {
        CallTaskError::Call(C::NotInCall(_)) => ErrorCode::NotInCall,
        CallTaskError::Call(_) => ErrorCode::Conflict,
        CallTaskError::NotInvited(_) => ErrorCode::Forbidden,
        CallTaskError::Media(m) => return media_refusal(m),
        CallTaskError::NoMedia => ErrorCode::Media,
        CallTaskError::Gone => ErrorCode::NotFound,
        CallTaskError::Wait(_) => ErrorCode::Conflict,
    };
    (code, e.to_string())
}

/// The media plane's refusal in words for the client. The WebRTC stack's own messages (parser
/// positions, internal values) are logged, never sent.
fn media_refusal(e: &crate::drivers::media::MediaError) -> (ErrorCode, String) {
    use crate::drivers::media::MediaError as M;
    use crate::sfu::SfuError as S;
    tracing::info!(error = %e, "media refused a client's request");
    let message = match e {
        M::Sfu(S::BadOffer(_)) => {
            "the SDP offer was not accepted: it could not be read, or offers no audio this \
             service can take (Opus over DTLS-SRTP)"
        }
        M::Sfu(S::BadCandidate(_)) => "the ICE candidate was not accepted: it could not be read",
        M::Sfu(S::UnknownCall(_) | S::UnknownParticipant { .. }) => {
            "no media for this participant yet: send an offer first"
        }
        M::Bind { .. } | M::Sfu(S::Setup(_)) | M::Thread(_) | M::Stopped => {
            "the media service cannot take this now; try again shortly"
        }
    };
    (ErrorCode::Media, message.to_owned())
}
