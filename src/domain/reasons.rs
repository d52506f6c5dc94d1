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

/// Who or what ended a call, as its parties are told (`ended_by` in the call view).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndedBy {
    /// The caller hung up.
    Caller,
    /// The operator hung up.
    Operator,
    /// The caller, asked after the longest queue wait, did not answer in time.
    NoReply,
    /// The caller, asked after the longest queue wait, left a number to be called back.
    Callback,
    /// The caller's connection stayed away past `calls.reconnect_grace_s`.
    ConnectionLost,
    /// The hotline itself: the node shutting down, an administrator, a lost node.
    Hotline,
}

impl EndedBy {
    /// Who ended the call when its caller is out for `reason`.
    pub fn caller_out(reason: LeftReason) -> Self {
        match reason {
            LeftReason::YouLeft => EndedBy::Caller,
            LeftReason::Removed => EndedBy::Operator,
            LeftReason::Disconnected | LeftReason::MediaSilent => EndedBy::ConnectionLost,
            LeftReason::NoReply => EndedBy::NoReply,
            LeftReason::CallEnded => EndedBy::Hotline,
        }
    }
}

/// What an audit event records. Written by the call and dispatch tasks, the pool's scripts
/// (`node_lost`, `admin_release`, `admin_end_call`) and the admin routes; the stream and the
/// `hotline_events_total{kind}` metric carry the snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A call asked for an interpreter.
    Request,
    /// A pre-dispatch request was taken back (its caller left or was not there).
    PredispatchWithdrawn,
    /// An interpreter was rung.
    Offer,
    Accept,
    Decline,
    /// An offer was not answered in time.
    Expire,
    /// An offer was taken back before it was answered.
    Cancel,
    /// The request turned to another language, level or shift.
    Escalate,
    /// Nobody could be found.
    Fail,
    /// A replacement was asked for an interpreter who dropped out.
    Replace,
    /// An interpreter joined the call.
    Join,
    /// An interpreter left the call (detail: the `LeftReason`).
    Leave,
    /// An interpreter's engagement ended; wrap-up follows.
    Release,
    /// The queued caller was asked after the longest wait.
    LongWait,
    /// ... and chose to keep waiting.
    KeepWaiting,
    /// ... and did not answer in time: the call ends.
    LongWaitNoReply,
    /// ... and left a number to be called back: the call ends.
    CallbackRequested,
    /// An operator marked a callback request done.
    CallbackDone,
    CallEnded,
    Rating,
    /// A node's lease expired; what it held was freed.
    NodeLost,
    /// An administrator freed an interpreter.
    AdminRelease,
    /// An administrator ended a call.
    AdminEndCall,
    /// A supervisor joined a call, or listens, whispers or barges in (detail: who and how).
    Supervise,
    /// A supervisor played a call's recording (detail: who, which recording and leg).
    RecordingPlayed,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event kind {0:?}")]
pub struct UnknownEventKind(pub String);

impl EventKind {
    pub const ALL: [EventKind; 25] = [
        EventKind::Request,
        EventKind::PredispatchWithdrawn,
        EventKind::Offer,
        EventKind::Accept,
        EventKind::Decline,
        EventKind::Expire,
        EventKind::Cancel,
        EventKind::Escalate,
        EventKind::Fail,
        EventKind::Replace,
        EventKind::Join,
        EventKind::Leave,
        EventKind::Release,
        EventKind::LongWait,
        EventKind::KeepWaiting,
        EventKind::LongWaitNoReply,
        EventKind::CallbackRequested,
        EventKind::CallbackDone,
        EventKind::CallEnded,
        EventKind::Rating,
        EventKind::NodeLost,
        EventKind::AdminRelease,
        EventKind::AdminEndCall,
        EventKind::Supervise,
        EventKind::RecordingPlayed,
    ];

    /// The serde name (stream field, metric label).
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::Request => "request",
            EventKind::PredispatchWithdrawn => "predispatch_withdrawn",
            EventKind::Offer => "offer",
            EventKind::Accept => "accept",
            EventKind::Decline => "decline",
            EventKind::Expire => "expire",
            EventKind::Cancel => "cancel",
            EventKind::Escalate => "escalate",
            EventKind::Fail => "fail",
            EventKind::Replace => "replace",
            EventKind::Join => "join",
            EventKind::Leave => "leave",
            EventKind::Release => "release",
            EventKind::LongWait => "long_wait",
            EventKind::KeepWaiting => "keep_waiting",
            EventKind::LongWaitNoReply => "long_wait_no_reply",
            EventKind::CallbackRequested => "callback_requested",
            EventKind::CallbackDone => "callback_done",
            EventKind::CallEnded => "call_ended",
            EventKind::Rating => "rating",
            EventKind::NodeLost => "node_lost",
            EventKind::AdminRelease => "admin_release",
            EventKind::AdminEndCall => "admin_end_call",
            EventKind::Supervise => "supervise",
            EventKind::RecordingPlayed => "recording_played",
        }
    }
}

impl std::str::FromStr for EventKind {
    type Err = UnknownEventKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownEventKind(s.to_owned()))
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_kind_reads_back_from_its_name_which_is_its_serde_name() {
        for k in EventKind::ALL {
            assert_eq!(k.as_str().parse::<EventKind>(), Ok(k));
            let json = serde_json::to_string(&k).expect("json");
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
        assert_eq!(
            "teleport".parse::<EventKind>(),
            Err(UnknownEventKind("teleport".into()))
        );
    }
}
