//! The SFU: one `Forwarder` owns every peer of one media loop and forwards each participant's
//! Opus packets, without decoding, to the receive slots `AudioRoutes` allow. Sans-I/O: datagrams
//! and time come in, datagrams (through a callback) and `MediaEvent`s come out; the driver owns
//! the socket. Only `peer.rs` names the WebRTC crate. `mix` is the other half of the media plane:
//! phone legs hear a decoded, mixed and re-encoded stream instead of forwarded packets, and
//! `phone` runs them: their plain RTP, their call's mix, their voice handed to the forwarder.

mod activity;
mod forwarder;
#[cfg(feature = "phone-audio")]
pub mod mix;
pub mod peer;
#[cfg(feature = "phone-audio")]
pub mod phone;
pub mod record;

pub use activity::{LEVEL_STEP, SPEAKING_BELOW};
pub use forwarder::{Forwarder, ForwarderStats, Tap};
pub use record::Recorded;

use crate::domain::{CallId, ParticipantId};

#[derive(Debug, thiserror::Error)]
pub enum SfuError {
    #[error("the SDP offer was not accepted: {0}")]
    BadOffer(String),
    #[error("the ICE candidate was not accepted: {0}")]
    BadCandidate(String),
    #[error("call {0} has no media")]
    UnknownCall(CallId),
    #[error("{participant} has no media in call {call}")]
    UnknownParticipant {
        call: CallId,
        participant: ParticipantId,
    },
    #[error("cannot set up WebRTC: {0}")]
    Setup(String),
}

/// What the media plane reports. Levels follow RFC 6464: 0 is the loudest, 127 silence (dBov).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// ICE and DTLS are up: audio can flow.
    Connected {
        call: CallId,
        participant: ParticipantId,
    },
    /// ICE failed or closed, or the peer timed out; its media is gone (no `leave` needed).
    Disconnected {
        call: CallId,
        participant: ParticipantId,
    },
    /// Which receive slot (by mid) carries whom for `participant`: on join and after every change.
    Slots {
        call: CallId,
        participant: ParticipantId,
        slots: Vec<(String, Option<ParticipantId>)>,
    },
    /// At most about four times a second per call: the sending participants whose loudest level
    /// changed visibly since it was last reported (speaking or not, or by `LEVEL_STEP` dB), or
    /// who are heard for the first time, again after silence, or since someone joined. Being
    /// listed means packets arrived from them.
    Levels {
        call: CallId,
        levels: Vec<(ParticipantId, u8)>,
    },
    /// A connected participant sent no audio for `for_ms` (reported once per silence).
    Silent {
        call: CallId,
        participant: ParticipantId,
        for_ms: u64,
    },
    /// A key pressed on a phone leg (`0-9 * # A-D`), once per press: an RFC 4733 telephone-event
    /// from its RTP, or a SIP INFO the edge re-emits through `MediaHandle::digit`.
    Digit {
        call: CallId,
        participant: ParticipantId,
        digit: char,
    },
    /// The audio given to `MediaHandle::play` for this phone leg has been played to its end.
    PlayoutDone {
        call: CallId,
        participant: ParticipantId,
    },
}

/// What a phone leg hears, besides its mix, once the audio it is played has ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Playout {
    /// Nothing more: only the mix.
    #[default]
    Silence,
    /// The comfort tone, until the next `play` or `stop_playing`, so a waiting caller never hears
    /// dead silence.
    Comfort,
}
