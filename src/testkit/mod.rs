//! Test peers: in-process WebRTC clients (str0m) that offer like the pages, send marked synthetic
//! Opus, and report what they receive per source and per slot. Public so integration tests, the
//! bots and the load generator share them; the service never uses this module.

mod client;
pub mod interpreter_bot;
mod reception;
#[cfg(feature = "phone-audio")]
mod voice;

pub use client::{
    unix_us, TestPeer, TestPeerError, TestPeerOffer, TestPeerOptions, PACKET_INTERVAL,
};
pub use reception::{Marker, Reception, StreamStats, Tracker, PAYLOAD_BYTES};
#[cfg(feature = "phone-audio")]
pub use voice::SOUND_RMS;
