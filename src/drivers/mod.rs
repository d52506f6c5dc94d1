//! The I/O shell's loops: each feeds an engine and carries out what it returns (the media loop,
//! the call tasks, the dispatcher). A driver is a short loop that carries out what the pure code decides.

pub mod call;
pub mod call_registry;
pub mod clock;
pub mod dispatch;
pub mod media;
