//! Domain nouns shared by every ring: typed ids, languages, interpreter profiles and their weekly
//! schedules. Plain data with parsing and validation; no I/O.

pub mod callback;
pub mod case;
pub mod dashboard;
mod draft;
mod ids;
mod interpreter;
mod job;
mod language;
mod phone;
pub mod pool_state;
mod reasons;
pub mod record;
pub mod report;
mod schedule;
mod text;

pub use callback::{
    CallbackNumber, CallbackNumberError, CallbackRequest, CallbackStatus,
    CALLBACK_DESCRIPTION_MAX_CHARS, CALLBACK_MAX_DIGITS, CALLBACK_MIN_DIGITS,
};
pub use case::{
    Case, CaseCall, CaseEdit, CaseFile, CaseNumber, CaseNumberError, CaseRuleError, CaseStatus,
    FollowUp,
};
pub use dashboard::CallDigest;
pub use draft::{parse_day, parse_level, DraftError, ProfileDraft, ShiftDraft};
pub use ids::{CallId, IdError, InterpreterId, NodeId, OfferId, ParticipantId, UniversityId};
pub use interpreter::{InterpreterProfile, LanguageSkill, Level, ProfileError};
pub use job::{check_brief, job_number, BriefError, BRIEF_MAX_CHARS};
pub use language::{Language, LanguageError};
pub use phone::{mask_number, PhoneNumber, PhoneNumberError, RingPreference};
pub use reasons::{EndedBy, EventKind, LeftReason, UnknownEventKind};
pub use record::{
    CallOutcome, CallSummary, Leg, LegMedia, OfferOutcome, OfferRecord, Rating, Recording,
};
pub use schedule::{
    week_start, Day, Shift, ShiftError, TimeOfDay, TimeZoneName, WeeklySchedule, HOURS_PER_WEEK,
};
pub use text::{check_display_text, DisplayTextError};

/// Who a party to a call is; a token decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Caller,
    Operator,
    Interpreter,
    /// Listens only (quality monitoring); never heard.
    Supervisor,
}

/// Milliseconds since the Unix epoch. Engines and the pool take time as a value, never read a clock.
pub type Millis = u64;
