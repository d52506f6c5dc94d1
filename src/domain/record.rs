//! What the record keeps of a call once it is over: the call with its legs, each offer made for
//! it and how it ended, and the caller's rating. Plain data; the store writes and reads it.

use super::{CallId, InterpreterId, Language, Millis, OfferId, ParticipantId, Role};
use serde::{Deserialize, Serialize};

/// How a call ended: after an operator answered, or abandoned while it waited for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    Ended,
    Abandoned,
}

/// What carried a leg's audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegMedia {
    /// A WebRTC peer: a page in a browser.
    Browser,
    /// A phone over a SIP trunk (RTP).
    Phone,
    /// No media ever connected.
    None,
}

/// How an offer ended; the first end is the only one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferOutcome {
    Accepted,
    Declined,
    /// Not answered before its deadline.
    Timeout,
    /// Taken back before it was answered.
    Cancelled,
}

/// One participant's stint in a call, from joining to leaving.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leg {
    pub participant: ParticipantId,
    pub role: Role,
    /// The interpreter, for an interpreter's leg.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpreter: Option<InterpreterId>,
    pub media: LegMedia,
    pub joined_at: Millis,
    /// `None`: still in the call when it was recorded.
    #[serde(default)]
    pub left_at: Option<Millis>,
}

/// One ended call and its legs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallSummary {
    pub call_id: CallId,
    pub language: Option<Language>,
    /// How the language was determined (the wire name: chosen, browser, text, …).
    pub language_source: String,
    pub outcome: CallOutcome,
    pub created_at: Millis,
    pub answered_at: Option<Millis>,
    pub ended_at: Millis,
    pub legs: Vec<Leg>,
}

/// One offer of a call to one interpreter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferRecord {
    pub offer_id: OfferId,
    pub call_id: CallId,
    pub interpreter: InterpreterId,
    pub language: Option<Language>,
    /// `None` when only its end was recorded.
    pub offered_at: Option<Millis>,
    /// `None` while it rings.
    pub outcome: Option<OfferOutcome>,
    pub ended_at: Option<Millis>,
}

/// One leg's audio, kept as an Ogg Opus file from its first packet to its end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recording {
    /// Unique (random hex); names the recording in the API.
    pub id: String,
    pub call_id: CallId,
    pub participant: ParticipantId,
    /// The file, as the node that wrote it names it (under `records.recording_dir`).
    pub path: String,
    pub started_at: Millis,
    /// `None` while it is being written (or its node stopped before it ended).
    pub ended_at: Option<Millis>,
    /// The file's size when it ended (0 until then).
    pub bytes: u64,
}

/// The caller's 1–5 stars for a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    pub stars: u8,
    pub at: Millis,
}

macro_rules! wire_names {
    ($t:ty { $($v:path => $s:literal),+ $(,)? }) => {
        impl $t {
            /// The serde name, also the stored one.
            pub const fn as_str(self) -> &'static str {
                match self { $($v => $s),+ }
            }

            /// The value stored as `s`, if it is one.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some($v),)+ _ => None }
            }
        }
    };
}

wire_names!(CallOutcome {
    CallOutcome::Ended => "ended",
    CallOutcome::Abandoned => "abandoned",
});
wire_names!(LegMedia {
    LegMedia::Browser => "browser",
    LegMedia::Phone => "phone",
    LegMedia::None => "none",
});
wire_names!(OfferOutcome {
    OfferOutcome::Accepted => "accepted",
    OfferOutcome::Declined => "declined",
    OfferOutcome::Timeout => "timeout",
    OfferOutcome::Cancelled => "cancelled",
});
wire_names!(Role {
    Role::Caller => "caller",
    Role::Operator => "operator",
    Role::Interpreter => "interpreter",
    Role::Supervisor => "supervisor",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stored_name_is_the_serde_name_and_reads_back() {
        fn check<T: Serialize + PartialEq + std::fmt::Debug + Copy>(
            all: &[T],
            name: fn(T) -> &'static str,
            parse: fn(&str) -> Option<T>,
        ) {
            for &v in all {
                let json = serde_json::to_string(&v).expect("json");
                assert_eq!(json, format!("\"{}\"", name(v)));
                assert_eq!(parse(name(v)), Some(v));
            }
            assert_eq!(parse("teleported"), None);
        }
        check(
            &[CallOutcome::Ended, CallOutcome::Abandoned],
            CallOutcome::as_str,
            CallOutcome::parse,
        );
        check(
            &[LegMedia::Browser, LegMedia::Phone, LegMedia::None],
            LegMedia::as_str,
            LegMedia::parse,
        );
        check(
            &[
                OfferOutcome::Accepted,
                OfferOutcome::Declined,
                OfferOutcome::Timeout,
                OfferOutcome::Cancelled,
            ],
            OfferOutcome::as_str,
            OfferOutcome::parse,
        );
        check(
            &[
                Role::Caller,
                Role::Operator,
                Role::Interpreter,
                Role::Supervisor,
            ],
            Role::as_str,
            Role::parse,
        );
    }
}
