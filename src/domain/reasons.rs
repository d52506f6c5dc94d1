//! Why a participant is out of a call: one reason, named the same on the wire (`left`), in the
//! logs and in the audit stream.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Why a participant is out of the call (`left`); the pages put it in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeftReason {
    /// They left the call themselves.
    YouLeft,
    /// The operator took them out (or asked for a replacement).
    Removed,
    /// Their signalling stayed away past `calls.reconnect_grace_s`.
    Disconnected,
    /// A joined interpreter's media sent nothing for `dispatch.interpreter_silence_s`.
    MediaSilent,
    /// The caller, asked after the longest queue wait, did not answer in time.
    NoReply,
    /// The call has ended.
    CallEnded,
}

impl LeftReason {
    /// The serde name, for logs and the audit stream.
    pub fn as_str(self) -> &'static str {
        match self {
            LeftReason::YouLeft => "you_left",
            LeftReason::Removed => "removed",
            LeftReason::Disconnected => "disconnected",
            LeftReason::MediaSilent => "media_silent",
            LeftReason::NoReply => "no_reply",
            LeftReason::CallEnded => "call_ended",
        }
    }
}
