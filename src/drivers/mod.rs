//! Async loops that own I/O and feed the engines: the media loop (one UDP socket, every WebRTC
//! peer). A driver is a short loop that carries out what the pure code decides.

pub mod call;
pub mod call_registry;
pub mod clock;
pub mod media;
