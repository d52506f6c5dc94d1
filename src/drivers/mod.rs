//! Async loops that own I/O and feed the engines: the media loop (one UDP socket, every WebRTC
//! peer). A driver is a short loop that carries out what the pure code decides.

pub mod media;
