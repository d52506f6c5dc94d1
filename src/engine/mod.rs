//! Decisions, sans-I/O: plain state machines fed `handle_*(input, now)` and drained with
//! `poll_*()`. Nothing here touches tokio, Redis, sockets or the clock.

pub mod dispatch;
