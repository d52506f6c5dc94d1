//! hotline-bridge: conference an interpreter into a citizen-hotline call.
//!
//! # Layout
//! - [`domain`]: typed ids, languages, interpreter profiles and weekly schedules (plain data).
//! - [`config`]: settings from `config/default.toml`, an override file and `HOTLINE__…` variables.
//! - [`drivers`]: the media loop (one UDP socket, every WebRTC peer) behind `MediaHandle`.
//! - [`engine`]: pure decisions: the call state machine, audio routes, SFU forwarding choices.
//! - [`pool`]: the interpreter pool (Redis or memory): presence, status, atomic offers.
//! - [`sfu`]: the forwarder (every peer, the forwarding table) and the one WebRTC seam (`sfu::peer`).
//! - [`testkit`]: in-process WebRTC test peers (tests, bots, the load generator).
//! - [`api`]: the axum router: health, JSON APIs, signalling, embedded pages.
//! - [`app`]: wiring and serving.
//! - [`auth`]: tokens, hashes, constant-time comparison.

pub mod api;
pub mod app;
pub mod auth;
pub mod config;
pub mod domain;
pub mod drivers;
pub mod engine;
pub mod pool;
pub mod sfu;
pub mod testkit;
