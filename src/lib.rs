//! hotline-bridge: conference an interpreter into a citizen-hotline call.
//!
//! # Layout
//! - [`domain`]: typed ids, languages, interpreter profiles and weekly schedules (plain data).
//! - [`config`]: settings from `config/default.toml`, an override file and `HOTLINE__…` variables.
//! - [`engine`]: pure decisions: call state machine, audio routes, SFU forwarding, dispatch policy.
//! - [`drivers`]: loops that carry out engines' actions: the media loop behind `MediaHandle`, one
//!   task per call, the dispatcher.
//! - [`lang`]: the caller's language from their pick, browser and text, with a confidence.
//! - [`pool`]: the interpreter pool (Redis or memory): presence, status, atomic offers.
//! - [`prompts`]: the phone prompts shipped with the service (8 kHz speech, every caller
//!   language and Chinese), embedded and decoded at start.
//! - [`store`]: the record (SQLite or PostgreSQL through sqlx): calls, legs, offers, ratings.
//! - [`sfu`]: the forwarder (every peer, the forwarding table) and the one WebRTC seam (`sfu::peer`).
//! - `testkit` (feature `testkit`, on for tests and examples only): in-process WebRTC test
//!   peers and interpreter bots (tests, the load generator, the soak).
//! - [`api`]: the axum router: health, JSON APIs, signalling, embedded pages.
//! - [`sip`]: the SIP edge: phone calls from the hotline's trunks into the same queue.
//! - [`app`]: wiring and serving.
//! - [`auth`]: tokens, hashes, constant-time comparison.
//! - [`roster`]: the seed roster file (universities, interpreters) and its import into a pool.
//! - [`coverage`]: interpreters scheduled per language and hour of the week, and the gaps.
//! - [`admin`]: recovery by hand (what is stuck, forced release, forced end), for the API and CLI.

pub mod admin;
pub mod api;
pub mod app;
pub mod auth;
pub mod config;
pub mod coverage;
pub mod domain;
pub mod drivers;
pub mod engine;
pub mod lang;
pub mod metrics;
pub mod pool;
pub mod prompts;
pub mod protocol;
pub mod roster;
pub mod sfu;
pub mod sip;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;
