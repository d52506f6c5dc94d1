//! Decisions, sans-I/O: the call state machine, who hears whom, the SFU's forwarding choices
//! (which source goes to which receive slot, how a slot's RTP stays continuous), the dispatch
//! policy, and whether a queued caller is there (pre-dispatch, caps, the longest wait). No tokio,
//! no sockets, no clock: time is passed in as `Millis`, results are values.

pub mod attendance;
pub mod call;
pub mod caller_wait;
pub mod dispatch;
pub mod forward;
pub mod ice_servers;
pub mod phone_ring;
pub mod routes;

pub use attendance::{Attendance, AttendancePolicy};
pub use call::{Call, CallError, CallEvent, CallState, Participant, TimelineEntry};
pub use caller_wait::{CallerWait, Presence, WaitAction, WaitCaps, WaitInput, WaitPolicy};
pub use forward::{RtpTiming, SlotAssignment, SlotStream};
pub use ice_servers::{ice_servers, IceServer, IceTransportPolicy};
pub use routes::{AudioRoutes, Controls, Supervision};
