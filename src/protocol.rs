//! Every WebSocket signalling message, both directions, for every role (caller, operator,
//! interpreter): serde tagged enums, `{"type": "...", ...}` in snake_case. `web/js/signaling.js`
//! mirrors this file message for message. Plain data only: who may send what is decided in
//! `api::session`, what a message does in `drivers::call`.

use crate::domain::pool_state::{Availability, Status};
use crate::domain::{
    CallId, CaseNumber, InterpreterId, Language, Millis, OfferId, ParticipantId, Role,
};
pub use crate::domain::{EndedBy, LeftReason};
use crate::engine::dispatch::Progress;
pub use crate::engine::CallState;
use crate::engine::{IceServer, IceTransportPolicy, Supervision};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Client → server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// First message of every session. The token decides the role: a caller's call token (with
    /// `call_id`), an operator's session token, or an interpreter's personal token `<id>.<secret>`.
    /// An interpreter's `hello` with `call_id` opens a session for that call only (it lives on
    /// this node, their console on another: `invited` gave this node's `ws_url`): no rings, no
    /// presence, which stay with the console's session.
    Hello {
        token: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call_id: Option<CallId>,
    },
    /// The client's WebRTC offer for the call it is in (one sendrecv + `RECV_SLOTS` recvonly audio).
    Offer { sdp: String },
    /// A trickled ICE candidate line (`candidate:…`), for clients that do not wait for gathering.
    IceCandidate { candidate: String },
    /// Operator: take a queued call (and then send an offer to be heard).
    AnswerCall { call_id: CallId },
    /// Operator or interpreter: enter a call already answered by / invited for them.
    JoinCall { call_id: CallId },
    /// Leave the call (an interpreter or operator stepping out; the call goes on).
    LeaveCall,
    /// Mute or unmute a participant: anyone themselves, the operator anyone.
    Mute {
        participant: ParticipantId,
        muted: bool,
    },
    /// Operator: caller on hold (hears the page's hold tone, nobody hears them).
    Hold { on: bool },
    /// Operator: private consultation with the interpreter; the caller hears neither.
    Consult { on: bool },
    /// Operator: confirm or correct the caller's language.
    SetLanguage { language: Language },
    /// Caller or operator: end the call for everyone.
    HangUp,
    /// Heartbeat; answered by `pong` with the same nonce. An interpreter's ping also keeps their
    /// presence in the pool (send it every `heartbeat_s`).
    Ping {
        #[serde(default)]
        nonce: u64,
    },
    /// Interpreter: available for calls, paused, or offline.
    SetAvailability { availability: Availability },
    /// Interpreter: take the ringing offer (then `join_call` the call it names).
    AcceptOffer { offer_id: OfferId },
    /// Interpreter: turn the ringing offer down (the next interpreter is rung).
    DeclineOffer { offer_id: OfferId },
    /// Operator: find an interpreter for the call they are in; the call's language by default.
    /// `brief`: one line for the interpreter, shown while ringing (at most 140 characters; an
    /// empty one clears it). Never shown to the caller.
    RequestInterpreter {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<Language>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        brief: Option<String>,
    },
    /// Operator: stop searching for an interpreter.
    CancelInterpreter,
    /// Operator: the interpreter leaves the call (no replacement).
    RemoveInterpreter,
    /// Operator: the interpreter leaves the call and another one is sought.
    ReplaceInterpreter,
    /// Caller: after `long_wait`, keep waiting for an operator (the wait starts again).
    KeepWaiting,
    /// Caller: after `long_wait`, leave a number to be called back instead of waiting (refused
    /// without a record store); the call then ends, `ended_by` callback. `language` is the page's
    /// (ISO 639-1; the call's own when absent), `description` a few words about the matter.
    RequestCallback {
        number: String,
        #[serde(default)]
        language: Option<String>,
        #[serde(default)]
        description: String,
    },
    /// Supervisor in a call (`join_call`): listen, whisper to the operators, or barge in.
    Supervise { mode: Supervision },
    /// Operator: have the call's case number read out to its phone caller, in their language
    /// (a caller on the web page sees it there).
    ReadCaseNumber,
}

impl ClientMessage {
    /// Every `type` a client may send (unknown types get `unknown_type`, not `invalid`).
    pub const TYPES: &'static [&'static str] = &[
        "hello",
        "offer",
        "ice_candidate",
        "answer_call",
        "join_call",
        "leave_call",
        "mute",
        "hold",
        "consult",
        "set_language",
        "hang_up",
        "ping",
        "set_availability",
        "accept_offer",
        "decline_offer",
        "request_interpreter",
        "cancel_interpreter",
        "remove_interpreter",
        "replace_interpreter",
        "keep_waiting",
        "request_callback",
        "supervise",
        "read_case_number",
    ];

    pub fn kind(&self) -> &'static str {
        match self {
            ClientMessage::Hello { .. } => "hello",
            ClientMessage::Offer { .. } => "offer",
            ClientMessage::IceCandidate { .. } => "ice_candidate",
            ClientMessage::AnswerCall { .. } => "answer_call",
            ClientMessage::JoinCall { .. } => "join_call",
            ClientMessage::LeaveCall => "leave_call",
            ClientMessage::Mute { .. } => "mute",
            ClientMessage::Hold { .. } => "hold",
            ClientMessage::Consult { .. } => "consult",
            ClientMessage::SetLanguage { .. } => "set_language",
            ClientMessage::HangUp => "hang_up",
            ClientMessage::Ping { .. } => "ping",
            ClientMessage::SetAvailability { .. } => "set_availability",
            ClientMessage::AcceptOffer { .. } => "accept_offer",
            ClientMessage::DeclineOffer { .. } => "decline_offer",
            ClientMessage::RequestInterpreter { .. } => "request_interpreter",
            ClientMessage::CancelInterpreter => "cancel_interpreter",
            ClientMessage::RemoveInterpreter => "remove_interpreter",
            ClientMessage::ReplaceInterpreter => "replace_interpreter",
            ClientMessage::KeepWaiting => "keep_waiting",
            ClientMessage::RequestCallback { .. } => "request_callback",
            ClientMessage::Supervise { .. } => "supervise",
            ClientMessage::ReadCaseNumber => "read_case_number",
        }
    }
}

/// Server → client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Reply to a good `hello`.
    Welcome {
        role: Role,
        /// The operator's account name or the interpreter's name; absent for callers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// The caller's call; absent for operators and interpreters until they join one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call_id: Option<CallId>,
        /// Send `ping` at least this often or the session is closed after `idle_timeout_s`.
        heartbeat_s: u64,
        idle_timeout_s: u64,
        /// Largest message the server accepts, in bytes.
        max_message_bytes: usize,
    },
    /// The session has entered a call as this participant (send an offer next, with these ICE
    /// servers in the peer connection's configuration).
    Joined {
        call_id: CallId,
        participant: ParticipantId,
        /// `RTCConfiguration.iceServers`: the configured STUN/TURN URLs with TURN credentials
        /// valid for `media.turn_ttl_s` from now; empty when none are configured.
        #[serde(default)]
        ice_servers: Vec<IceServer>,
        /// `RTCConfiguration.iceTransportPolicy`: `relay` when every page's media must go
        /// through the TURN servers (`media.turn_relay_only`), else `all`.
        #[serde(default)]
        ice_transport_policy: IceTransportPolicy,
    },
    /// The session is no longer in a call (left, removed, or the call ended).
    Left {
        call_id: CallId,
        reason: LeftReason,
    },
    /// The server's SDP answer to the client's offer.
    Answer {
        sdp: String,
    },
    /// The call as it is now; sent on every change.
    CallState {
        call: CallView,
    },
    /// Which receive slot (transceiver mid) carries whom, for this client.
    Slots {
        slots: Vec<SlotView>,
    },
    /// Audio levels for speaking indicators, to the consoles only: the participants whose level
    /// changed (at most ~4 per second per call); keep the last one of each.
    Levels {
        levels: Vec<LevelView>,
    },
    /// Operators: the queue of calls waiting for an answer, oldest first.
    Queue {
        now: Millis,
        calls: Vec<QueueEntry>,
    },
    Pong {
        nonce: u64,
    },
    /// Interpreters: their status in the pool (after every change); `until` ends a wrap-up.
    InterpreterStatus {
        status: Status,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<Millis>,
        now: Millis,
    },
    /// Interpreters: a call is ringing for you; answer with `accept_offer` or `decline_offer`
    /// before `deadline` (server clock; `now` is the server's time when sent).
    Ring {
        offer_id: OfferId,
        call_id: CallId,
        language: Language,
        /// How long the caller has waited so far.
        caller_waited_ms: u64,
        deadline: Millis,
        now: Millis,
        /// The call's job number.
        #[serde(default)]
        job_number: String,
        /// The operator's brief for the interpreter, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        brief: Option<String>,
    },
    /// Interpreters: the offer is over. `accepted`: join the call (`join_call`) now.
    OfferEnded {
        offer_id: OfferId,
        call_id: CallId,
        reason: OfferEndReason,
        message: String,
    },
    /// Interpreters: the call you accepted is ready: enter it with `join_call` (for a pre-dispatched
    /// call this comes once an operator has answered). With `ws_url` the call lives on another
    /// node: open a second session there (`hello` with your token and this `call_id`) and send
    /// `join_call` and all the call's messages over it; without it, use this session.
    Invited {
        call_id: CallId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ws_url: Option<String>,
    },
    /// Operators: how the search for the call's interpreter is going (the console words it).
    Dispatch {
        progress: Progress,
    },
    /// Callers: how the search for their interpreter is going (no names: the page words it).
    Interpreting {
        stage: InterpreterStage,
    },
    /// Callers: the call has waited `waited_ms` for an operator (the longest queue wait). Answer
    /// `keep_waiting` before `reply_by` (server clock; `now` is the server's time when sent) to
    /// stay in the queue, or hang up and call again later; unanswered, the call ends. With
    /// `callback` (the node keeps a record) the caller may also `request_callback`.
    LongWait {
        waited_ms: u64,
        reply_by: Millis,
        now: Millis,
        #[serde(default)]
        callback: bool,
    },
    /// This node is shutting down: it takes no new calls, the call in progress goes on until it
    /// ends or until `deadline` (server clock; `now` is the server's time when sent), and then
    /// the connection closes (1001). Consoles reconnect, reaching another node. Sent again if
    /// the deadline comes earlier.
    Draining {
        deadline: Millis,
        now: Millis,
        message: String,
    },
    /// Something the client sent was refused; `code` is stable, `message` is for people.
    Error {
        code: ErrorCode,
        message: String,
    },
}

/// What a caller is told of the search for their interpreter (`interpreting`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InterpreterStage {
    /// An interpreter is being looked for (ringing, or waiting for one to be free).
    Seeking,
    /// One has accepted and is joining the call.
    Joining,
    /// No interpreter speaks the caller's language: the operator goes on without one.
    Unavailable,
    /// The interpreter left the call (on their own or sent out by the operator).
    Left,
    /// The interpreter was lost (connection, audio): another one is being looked for.
    Replacing,
    /// The search stopped (the operator cancelled it): nothing to show.
    Stopped,
}

impl InterpreterStage {
    /// What the caller is told of a dispatch progress line; `None`: nothing new for them.
    pub fn of(event: &crate::engine::dispatch::ProgressEvent) -> Option<Self> {
        use crate::engine::dispatch::ProgressEvent as E;
        Some(match event {
            E::Ringing { .. }
            | E::RingingNext
            | E::Waiting { .. }
            | E::Escalated { .. }
            | E::Declined { .. }
            | E::TimedOut { .. } => InterpreterStage::Seeking,
            E::Accepted { .. } => InterpreterStage::Joining,
            E::Failed { .. } => InterpreterStage::Unavailable,
            E::Removed { .. } | E::Left { .. } => InterpreterStage::Left,
            E::ReplacementRequested { .. } => InterpreterStage::Replacing,
            E::Cancelled => InterpreterStage::Stopped,
            E::Withdrawn { .. } => return None,
        })
    }
}

/// Why an offer left an interpreter's console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferEndReason {
    Accepted,
    Declined,
    /// Not answered in time.
    Expired,
    /// Another interpreter accepted first.
    Taken,
    /// The operator cancelled or the call ended.
    Cancelled,
}

/// Stable machine-readable error codes of `ServerMessage::Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, or not a JSON object with a string `type`.
    BadJson,
    UnknownType,
    /// A known type with missing or wrong fields.
    Invalid,
    TooLarge,
    /// `hello` must come first (and only once).
    HelloFirst,
    Unauthorized,
    /// Authenticated, but this role or participant may not do that.
    Forbidden,
    NotInCall,
    NotFound,
    /// The call is not in a state that allows it (e.g. hold before answer).
    Conflict,
    /// The media plane refused the offer or is unavailable.
    Media,
    Idle,
    Internal,
    /// This node is shutting down: it starts nothing new (another node will).
    Draining,
    /// A limit of `[limits]` (message rate, offers per minute, candidates per offer) refused it.
    RateLimited,
}

/// Public state of one call, as every party sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CallView {
    #[schema(value_type = String)]
    pub call_id: CallId,
    pub state: CallState,
    pub language: LanguageView,
    pub participants: Vec<ParticipantView>,
    pub hold: bool,
    pub consult: bool,
    /// 1-based place in the operator queue while queued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
    /// While queued: how long callers answered on this node in the last hour typically waited
    /// (the median, in ms); absent when too few were answered to say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typical_wait_ms: Option<u64>,
    pub created_at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Millis>,
    /// Who or what ended the call, once it has ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<EndedBy>,
    /// Interpreters invited but not yet in the call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<String>)]
    pub invited: Vec<InterpreterId>,
    /// The call's case number (told to the caller), once an operator has the call and its case
    /// is opened, or linked to the case a returning caller named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "261204-0017")]
    pub case_number: Option<CaseNumber>,
    /// The case number a returning caller gave when calling (checked against the record; the
    /// call is linked to it when answered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub returning_case: Option<CaseNumber>,
    /// The caller is on a phone (a SIP leg): the console offers to read the case number out.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub caller_on_phone: bool,
    /// The call's job number for its interpreter ("482-913"): operator and interpreter say it.
    #[serde(default)]
    #[schema(example = "482-913")]
    pub job_number: String,
    /// The operator's one-line private brief for the interpreter (never sent to the caller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brief: Option<String>,
    /// The case's category, once the operator has set it (never sent to the caller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_category: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ParticipantView {
    #[schema(value_type = String)]
    pub id: ParticipantId,
    /// caller, operator, interpreter or supervisor.
    #[schema(value_type = String)]
    pub role: Role,
    /// Operator account name or interpreter id; absent for the caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Media (ICE + DTLS) is up.
    pub connected: bool,
    pub muted: bool,
    /// Who muted them, when it was not they themselves (`operator`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub muted_by: Option<Role>,
    /// A supervisor's mode: listen, whisper (to the operators) or barge (in the call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervision: Option<Supervision>,
}

/// The caller's language, how it was determined and how sure we are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LanguageView {
    /// ISO 639-1 code; absent while unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub code: Option<Language>,
    pub source: LanguageSource,
    /// 0..=1.
    pub confidence: f32,
}

/// How the language was determined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LanguageSource {
    /// The caller picked it on the page.
    Chosen,
    /// From the browser's preferred languages.
    Browser,
    /// Detected from text the caller typed.
    Text,
    /// Several signals agreeing or weighed together.
    Combined,
    /// Set or confirmed by the operator.
    Operator,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotView {
    pub mid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant: Option<ParticipantId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelView {
    pub participant: ParticipantId,
    /// 0 = loudest … 127 = silence (-dBov, RFC 6464).
    pub level: u8,
    pub speaking: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueEntry {
    pub call_id: CallId,
    pub position: usize,
    pub language: LanguageView,
    pub queued_at: Millis,
    pub waited_ms: u64,
    /// A phone call's caller number, masked to its last digits (`…4567`); absent for web calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// Parses one text frame, telling bad JSON, unknown types and invalid fields apart.
pub fn parse_client(text: &str) -> Result<ClientMessage, (ErrorCode, String)> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| (ErrorCode::BadJson, format!("not JSON: {e}")))?;
    let Some(kind) = value.get("type").and_then(|t| t.as_str()) else {
        return Err((
            ErrorCode::BadJson,
            "expected a JSON object with a string \"type\"".into(),
        ));
    };
    if !ClientMessage::TYPES.contains(&kind) {
        let shown: String = kind.chars().take(40).collect();
        return Err((
            ErrorCode::UnknownType,
            format!("unknown message type {shown:?}"),
        ));
    }
    let kind = kind.to_owned();
    serde_json::from_value(value)
        .map_err(|e| (ErrorCode::Invalid, format!("bad \"{kind}\" message: {e}")))
}

#[cfg(test)]
mod tests;
