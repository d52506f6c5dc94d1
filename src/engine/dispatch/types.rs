//! The dispatch engine's vocabulary: its policy, what goes in (`Input`), what comes out (`Action`)
//! and the progress events shown on the operator's console. Plain data, no behaviour beyond
//! conversion from settings.

use crate::config::DispatchSettings;
use crate::domain::pool_state::{ClaimRequest, InterpreterState, Offer, OfferState};
use crate::domain::{CallId, InterpreterId, Language, Level, Millis, OfferId, UniversityId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `WakeAt` value when nothing is scheduled.
pub const NEVER: Millis = Millis::MAX;

/// The dispatch settings in the units the engine computes with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub ring_timeout_ms: u64,
    /// How many candidates ring at once for one request (1 = sequential).
    pub parallel_offers: usize,
    pub escalate_after_ms: u64,
    /// Consecutive missed offers before the pool's sweep pauses an interpreter.
    pub max_missed: u32,
    pub wrap_up_ms: u64,
    pub presence_ttl_ms: u64,
    /// Caller language → relay language an operator may speak (e.g. pt → en).
    pub relay: BTreeMap<Language, Language>,
}

impl Policy {
    pub fn from_settings(d: &DispatchSettings) -> Self {
        Self {
            ring_timeout_ms: d.ring_timeout_s.saturating_mul(1000),
            parallel_offers: usize::try_from(d.parallel_offers.max(1)).unwrap_or(1),
            escalate_after_ms: d.escalate_after_s.saturating_mul(1000),
            max_missed: d.max_missed_offers,
            wrap_up_ms: d.wrap_up_s.saturating_mul(1000),
            presence_ttl_ms: d.presence_ttl_s.saturating_mul(1000),
            relay: d.relay.clone(),
        }
    }
}

/// An operator's (or pre-dispatch's) request for an interpreter on one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequest {
    pub call: CallId,
    pub language: Language,
    /// Higher is served first from the waiting queue; equal priorities are served oldest first.
    pub priority: u8,
    /// The interpreter the operator asked for: rung first, on shift or not, if they speak the
    /// language and are free at the first look; after a decline or a timeout (or if they were
    /// not free) the search goes on as for any request.
    pub preferred: Option<InterpreterId>,
}

/// Everything the engine reacts to. `now` comes with each `handle` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Request(NewRequest),
    /// The operator cancels the search, or removes the interpreter who joined.
    Cancel {
        call: CallId,
    },
    /// The joined interpreter left the call themselves: the request is over, nobody else is rung.
    InterpreterLeft {
        call: CallId,
    },
    /// Answer to `Action::Snapshot`: the pool's `states_for(language)` at `now`.
    Snapshot {
        language: Language,
        states: Vec<InterpreterState>,
    },
    /// Answer to `Action::Claim`: the offer made, or `None` when no candidate was eligible (a pool
    /// error is reported as `None` too: the request waits and is retried on the next event).
    Claimed {
        offer: OfferId,
        result: Option<Offer>,
    },
    /// How an offer ended: from `respond` (accepted/declined), `sweep` (expired, `paused` when the
    /// miss paused the interpreter) or the answer to `Action::Cancel`.
    OfferEnded {
        offer: OfferId,
        state: OfferState,
        paused: bool,
    },
    /// An interpreter set themselves available (or came back from a pause).
    InterpreterAvailable {
        interpreter: InterpreterId,
    },
    /// The joined interpreter is gone mid-call (`why`): a replacement is sought.
    InterpreterLost {
        call: CallId,
        why: LostWhy,
    },
    /// The call is over: a joined interpreter goes to wrap-up, a search stops.
    CallEnded {
        call: CallId,
    },
    /// A request made before any operator answered (pre-dispatch) is taken back because its
    /// caller is no longer there: offers are withdrawn and an interpreter who accepted is released
    /// at once, without wrap-up (they never served the call).
    Withdraw {
        call: CallId,
    },
    /// Waiting requests look at the pool again although no event said anyone is free: the
    /// driver's periodic nudge for what no event reports (a message lost between nodes, a
    /// wrap-up timed by another node's clock).
    Rescan,
    /// `WakeAt` was reached.
    Timer,
}

/// What the engine asks its driver to do, in order. `WakeAt` comes last, when nothing else is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Read `states_for(language)` and hand it back as `Input::Snapshot`.
    Snapshot(Language),
    /// Claim the first eligible of the ordered candidates; answer with `Input::Claimed`.
    Claim(ClaimRequest),
    /// Withdraw an offer; answer with `Input::OfferEnded` carrying the state `cancel` returned.
    Cancel(OfferId),
    /// End an accepted offer: the interpreter goes to wrap-up for `wrap_up_ms` from `at` (the
    /// engine's clock when it decided). The pool must count from `at` too: the engine wakes at
    /// `at + wrap_up_ms` to offer the interpreter again, and a pool that counted from a later
    /// instant would still refuse them then.
    Release {
        offer: OfferId,
        wrap_up_ms: u64,
        at: Millis,
    },
    /// An offer's deadline passed: run the pool's sweep, answer each expiry with `OfferEnded`.
    Sweep { max_missed: u32 },
    /// Tell the operator's console (and the audit stream) how the request is going.
    Notify(Progress),
    /// Nothing more to do until this instant (`NEVER` when nothing is scheduled): call
    /// `handle(Input::Timer, t)` then.
    WakeAt(Millis),
}

/// One progress event for one call's interpretation request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub call: CallId,
    pub language: Language,
    pub at: Millis,
    #[serde(flatten)]
    pub event: ProgressEvent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ProgressEvent {
    Ringing {
        interpreter: InterpreterId,
        name: String,
        /// `None` only if the profile vanished from the directory since the claim.
        university: Option<UniversityId>,
        level: Option<Level>,
        offer: OfferId,
        since: Millis,
    },
    Declined {
        interpreter: InterpreterId,
    },
    TimedOut {
        interpreter: InterpreterId,
        /// The miss paused the interpreter (`max_missed` in a row).
        paused: bool,
    },
    /// Another candidate is being tried after a decline, timeout or lost interpreter.
    RingingNext,
    /// Nobody free: the request waits; 1 = served next.
    Waiting {
        position: usize,
    },
    Escalated {
        to: Escalation,
        /// The operator must speak this language for the interpretation to work (relay).
        operator_language: Option<Language>,
    },
    Accepted {
        interpreter: InterpreterId,
        name: String,
        offer: OfferId,
        /// Time to interpreter: from the request to the accept.
        waited_ms: u64,
        relay: Option<Language>,
    },
    /// A parallel offer that lost to another accept, taken back from the interpreter's console.
    Withdrawn {
        interpreter: InterpreterId,
        offer: OfferId,
    },
    Failed {
        reason: FailReason,
    },
    /// The search stopped before anyone joined (the operator cancelled it, or the call ended).
    Cancelled,
    /// The operator sent the joined interpreter out; nobody else is rung.
    Removed {
        interpreter: InterpreterId,
        name: String,
    },
    /// The joined interpreter left the call on their own; nobody else is rung.
    Left {
        interpreter: InterpreterId,
        name: String,
    },
    /// The joined interpreter is gone (`why`); a replacement is being sought (cancellable).
    ReplacementRequested {
        lost: InterpreterId,
        why: LostWhy,
    },
}

/// Why a joined interpreter is being replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LostWhy {
    /// Their console's connection dropped.
    Disconnected,
    /// Their audio stopped arriving (the console may still be connected).
    MediaSilent,
    /// The operator asked for another interpreter.
    Replaced,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Escalation {
    /// Present interpreters outside their shift are now candidates too.
    OffShift,
    /// Relay through another language; interpreters who also speak it are tried first.
    Relay { language: Language },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailReason {
    /// No interpreter in the pool speaks the language at all.
    NoInterpreterForLanguage,
}

/// Where a request stands. Escalation is a separate axis (`Phase`): an escalated request is still
/// searching, ringing or queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Claims are in flight.
    Searching,
    Ringing,
    Queued,
    Accepted,
}

/// How wide the candidate net is cast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "phase")]
pub enum Phase {
    /// On-shift interpreters only.
    Direct,
    /// Present interpreters on or off shift.
    OffShift,
    /// As `OffShift`, preferring interpreters who also speak the relay language.
    Relay { language: Language },
}

/// A read-only view of one request, for consoles and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestView {
    pub call: CallId,
    pub language: Language,
    pub state: RequestState,
    pub phase: Phase,
    pub requested_at: Millis,
    pub queue_position: Option<usize>,
    pub tried: usize,
    pub ringing: Vec<InterpreterId>,
    pub interpreter: Option<InterpreterId>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DispatchError {
    #[error("call {0} already has an interpretation request")]
    AlreadyRequested(CallId),
    #[error("call {0} has no interpretation request")]
    NoRequest(CallId),
    #[error("call {0} has no joined interpreter to replace")]
    NoInterpreter(CallId),
    #[error("offer {0}: a pending offer has not ended")]
    NotEnded(OfferId),
}
