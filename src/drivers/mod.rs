//! The I/O shell's loops: each feeds an engine and carries out what it returns.

pub mod dispatch;
