//! The state every request handler and session shares: cheap-to-clone handles to the pool, the
//! media loop, the live calls, the dispatcher, the node's lease and lifecycle, and the limits.
//! Defined here, at the edge that uses it; built by `app` (the wiring), which re-exports it.

use super::admission::Occupancy;
use super::limit::RateLimit;
use super::operator_sessions::OperatorSessions;
use crate::config::Settings;
use crate::domain::UniversityId;
use crate::drivers::call_registry::CallRegistry;
use crate::drivers::dashboard::DashboardFeed;
use crate::drivers::dispatch::DispatchHandle;
use crate::drivers::lifecycle::Lifecycle;
use crate::drivers::media::MediaHandle;
use crate::drivers::node::NodeLease;
use crate::drivers::records::Recorder;
use crate::pool::{InterpreterPool, PoolKind};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Cheap-to-clone handles shared by every request and driver.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub pool: Arc<dyn InterpreterPool>,
    /// Memory or Redis, for status pages.
    pub pool_kind: PoolKind,
    /// Partner universities' names from the seed roster (pages show the id where none is known).
    pub university_names: Arc<BTreeMap<UniversityId, String>>,
    /// The media loop (one UDP socket, every WebRTC peer); it stops when the last clone drops.
    pub media: MediaHandle,
    /// Live calls and the operator queue.
    pub calls: CallRegistry,
    pub operators: OperatorSessions,
    /// Logged-in supervisors: the same kind of session book, a separate one.
    pub supervisors: OperatorSessions,
    pub limits: Limits,
    /// This node's dispatcher: interpreter requests, consoles, progress.
    pub dispatch: DispatchHandle,
    /// This node's id and its lease in the pool (renewed, with the sweep for lost nodes, by
    /// `drivers::lease` on the lifecycle's tracker: it renews through a drain and stops last).
    pub lease: NodeLease,
    /// The root token, the tracker of every task, and whether the node drains.
    pub lifecycle: Lifecycle,
    /// The call record's queue and store (`None`: no record is kept, `records.database` empty).
    pub records: Option<Recorder>,
    /// The supervisors' big screen: its figures on every change.
    pub dashboard: DashboardFeed,
}

/// The limits of `[limits]` and `[calls]` that live in the state: per-address rate limits of the
/// unauthenticated endpoints, caps on open connections and WebSocket sessions, and the password
/// checks that may run at once.
#[derive(Clone)]
pub struct Limits {
    pub create_call: RateLimit,
    pub login: RateLimit,
    /// `/api/detect` and `/api/coverage`: they cost CPU and need no sign-in.
    pub public: RateLimit,
    pub connections: Arc<Occupancy>,
    pub ws_sessions: Arc<Occupancy>,
    pub password_checks: Arc<tokio::sync::Semaphore>,
}
