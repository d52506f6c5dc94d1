//! Wiring: builds the shared state from settings (pool, roster, media loop, call registry, the
//! call record), serves the router on a listener until the shutdown token fires, and drains
//! in-flight requests.
//! `drain` is the rest of the lifecycle: SIGTERM and Ctrl-C, the drain, and the exit.

mod drain;

pub use drain::run;

use crate::api::admission::Occupancy;
use crate::api::limit::RateLimit;
use crate::api::operator_sessions::OperatorSessions;
use crate::api::tls::Certificates;
use crate::config::{RecordSettings, Settings};
use crate::domain::NodeId;
use crate::drivers::bus::Bus;
use crate::drivers::call_registry::CallRegistry;
use crate::drivers::dashboard::DashboardFeed;
use crate::drivers::dispatch::DispatchHandle;
use crate::drivers::lease;
use crate::drivers::lifecycle::Lifecycle;
use crate::drivers::media::{self, MediaHandle};
use crate::drivers::node::NodeLease;
use crate::drivers::recordings;
use crate::drivers::records::{Recorder, RecordingPool};
use crate::pool::{InterpreterPool, MemoryPool, PoolError, PoolKind, RedisPool};
use crate::roster::{self, Roster};
use crate::store::SqlStore;
use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use crate::api::state::{AppState, Limits};

impl AppState {
    /// State over the embedded in-memory pool with a media loop on an ephemeral UDP port (tests;
    /// `build_state` binds the configured port and fails if it cannot).
    pub fn in_memory(settings: Settings) -> Self {
        let lifecycle = Lifecycle::new();
        let mut media_settings = settings.media.clone();
        media_settings.udp_port = 0;
        let media = media::start(&media_settings, lifecycle.child()).unwrap_or_else(|e| {
            tracing::error!(error = %e, "media loop not started");
            MediaHandle::stopped()
        });
        Self::with_lifecycle(
            settings,
            Arc::new(MemoryPool::new()),
            PoolKind::Memory,
            media,
            lifecycle,
            None,
        )
    }

    /// The state over `pool` and `media`, with an empty call registry and no operator logged in,
    /// no call record, and a lifecycle of its own (cancel `lifecycle.root()` to stop its tasks).
    pub fn new(
        settings: Settings,
        pool: Arc<dyn InterpreterPool>,
        pool_kind: PoolKind,
        media: MediaHandle,
    ) -> Self {
        Self::with_lifecycle(settings, pool, pool_kind, media, Lifecycle::new(), None)
    }

    /// `new` with the given lifecycle: every task of the state runs on its tracker and stops
    /// with its root (the media loop too, when it was started with one of its child tokens).
    /// With `records` (started on the same lifecycle), every audit event the pool is given also
    /// goes to the call record.
    pub fn with_lifecycle(
        settings: Settings,
        pool: Arc<dyn InterpreterPool>,
        pool_kind: PoolKind,
        media: MediaHandle,
        lifecycle: Lifecycle,
        records: Option<Recorder>,
    ) -> Self {
        let pool: Arc<dyn InterpreterPool> = match &records {
            Some(r) => Arc::new(RecordingPool::new(pool, r.clone())),
            None => pool,
        };
        // Installed before anything is counted.
        crate::metrics::handle();
        let c = &settings.calls;
        let m = &settings.limits;
        let limits = Limits {
            create_call: RateLimit::per_minute(
                "create_per_minute",
                c.create_per_minute,
                c.create_burst,
            ),
            login: RateLimit::per_minute("login_per_minute", m.login_per_minute, m.login_burst),
            public: RateLimit::per_minute("public_per_minute", m.public_per_minute, m.public_burst),
            connections: Occupancy::new("connections", m.connections_per_address, m.connections),
            ws_sessions: Occupancy::new("ws_sessions", m.ws_sessions_per_address, m.ws_sessions),
            password_checks: Arc::new(tokio::sync::Semaphore::new(m.password_checks as usize)),
        };
        let operators = OperatorSessions::new(c.operator_session_hours.saturating_mul(3_600_000));
        let supervisors =
            OperatorSessions::new(settings.dashboard.session_hours.saturating_mul(3_600_000));
        // One id per process: it names the lease, prefixes offer ids and addresses the bus.
        let node_id = NodeId::random();
        let (node_lease, call_notes) = NodeLease::new(node_id);
        let calls = CallRegistry::new(
            pool.clone(),
            Some(media.clone()),
            Duration::from_secs(c.reconnect_grace_s),
            (settings.dispatch.interpreter_silence_s > 0)
                .then(|| Duration::from_secs(settings.dispatch.interpreter_silence_s)),
            &lifecycle,
        )
        .with_wait_policy(crate::engine::WaitPolicy {
            max_wait_ms: c.max_queue_wait_s.saturating_mul(1000),
            reply_ms: c.queue_wait_reply_s.saturating_mul(1000),
        })
        .with_records(node_lease.clone());
        // The media loop runs on its own thread: the tracker awaits its end like a task's.
        lifecycle.spawn(media.finished());
        let node = node_id.get();
        // Nodes sharing a Redis pool ring each other's interpreter consoles over the bus.
        let (bus, inbox) = if pool_kind == PoolKind::Redis {
            match Bus::redis(&settings.redis, node, &lifecycle) {
                Ok((bus, inbox)) => (bus, Some(inbox)),
                Err(e) => {
                    tracing::error!(error = %e, "node bus not started: this node rings only its own consoles");
                    (Bus::local(node), None)
                }
            }
        } else {
            (Bus::local(node), None)
        };
        let dispatch = DispatchHandle::start(
            pool.clone(),
            calls.clone(),
            &settings,
            bus,
            inbox,
            &lifecycle,
        );
        let dashboard = DashboardFeed::start(
            &settings,
            node_id,
            pool.clone(),
            calls.clone(),
            records.as_ref(),
            &lifecycle,
        );
        lease::start(
            &node_lease,
            call_notes,
            pool.clone(),
            &settings.node,
            dispatch.clone(),
            calls.clone(),
            &lifecycle,
        );
        Self {
            settings: Arc::new(settings),
            pool,
            pool_kind,
            university_names: Arc::default(),
            media,
            calls,
            operators,
            supervisors,
            limits,
            dispatch,
            lease: node_lease,
            lifecycle,
            records,
            dashboard,
        }
    }
}

/// Builds the state the settings describe: Redis when `redis.url` is set, memory otherwise, the
/// media loop on `media.udp_port`, and the call record in `records.database`. Then seeds the pool
/// from `roster.file` when it is set. Redis and the record's database are connected lazily: the
/// service starts while either is down (`/readyz` says 503 until Redis is up; records wait in
/// their queue until the database answers).
pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    let (pool, kind) = build_pool(&settings)?;
    let lifecycle = Lifecycle::new();
    let media = media::spawn(&settings.media, lifecycle.child())
        .await
        .context("starting the media loop")?;
    let records = start_records(&settings.records, &lifecycle)?;
    if let Some(r) = &records {
        recordings::start_sweep(r, settings.records.retention_days, &lifecycle);
    }
    if settings.records.recording {
        let sink = recordings::start(&settings.records, records.clone())
            .with_context(|| format!("records.recording_dir {}", settings.records.recording_dir))?;
        media
            .record_to(Some(sink))
            .await
            .context("starting recordings")?;
        tracing::info!(dir = %settings.records.recording_dir,
            retention_days = settings.records.retention_days, "every call is recorded");
    }
    let mut state = AppState::with_lifecycle(settings, pool, kind, media, lifecycle, records);
    seed_roster(&mut state).await?;
    Ok(state)
}

/// The pool the settings describe (Redis when `redis.url` is set, else memory), without
/// the rest of the service (for `import`).
pub fn build_pool(settings: &Settings) -> anyhow::Result<(Arc<dyn InterpreterPool>, PoolKind)> {
    if !settings.redis.is_set() {
        Ok((Arc::new(MemoryPool::new()), PoolKind::Memory))
    } else {
        let pool = RedisPool::open(&settings.redis).context("redis pool")?;
        Ok((Arc::new(pool), PoolKind::Redis))
    }
}

/// The call record's store and its writer on `lifecycle`, when `records.database` is set.
pub fn start_records(
    settings: &RecordSettings,
    lifecycle: &Lifecycle,
) -> anyhow::Result<Option<Recorder>> {
    if !settings.is_set() {
        tracing::info!("records.database is empty: no call record is kept");
        return Ok(None);
    }
    let store = SqlStore::open(&settings.database).context("records.database")?;
    tracing::info!(store = store.kind().as_str(), database = %settings.database_shown(),
        queue = settings.queue, "call record");
    Ok(Some(Recorder::start(
        Arc::new(store),
        settings.queue,
        lifecycle,
    )))
}

/// How often seeding is retried while the pool store is unreachable at start-up.
const SEED_RETRY: std::time::Duration = std::time::Duration::from_secs(2);

/// Checks the whole `roster.file` and upserts it into the pool (idempotent); a missing or invalid
/// file stops start-up with every problem named. If the pool store is unreachable, seeding goes on
/// in the background until it succeeds.
pub async fn seed_roster(state: &mut AppState) -> anyhow::Result<()> {
    let Some(path) = state.settings.roster_path() else {
        return Ok(());
    };
    if !path.exists() {
        anyhow::bail!(
            "roster.file = {:?}: no such file (give a path that exists from the working \
             directory, or set roster.file = \"\" to start without a seed roster)",
            path.display().to_string()
        );
    }
    let roster = Roster::load(&path, &state.settings.languages.served())?;
    roster.check_ringing(
        &path.display().to_string(),
        state.settings.sip.why_no_phones(),
    )?;
    state.university_names = Arc::new(roster.university_names());
    match import_logged(state.pool.as_ref(), &roster, &path).await {
        Ok(()) => Ok(()),
        Err(PoolError::Unavailable(e)) => {
            tracing::warn!(error = %e, "pool unreachable at start-up; seeding the roster in the background");
            let pool = state.pool.clone();
            let stop = state.lifecycle.child();
            state.lifecycle.spawn(async move {
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(SEED_RETRY) => {}
                    }
                    match import_logged(pool.as_ref(), &roster, &path).await {
                        Err(PoolError::Unavailable(_)) => continue,
                        Err(e) => {
                            tracing::error!(error = %e, "seeding the roster failed");
                            return;
                        }
                        Ok(()) => return,
                    }
                }
            });
            Ok(())
        }
        Err(e) => Err(e).with_context(|| format!("importing {}", path.display())),
    }
}

async fn import_logged(
    pool: &dyn InterpreterPool,
    roster: &Roster,
    path: &std::path::Path,
) -> Result<(), PoolError> {
    let summary = roster::import(pool, roster).await?;
    tracing::info!(
        file = %path.display(),
        universities = roster.universities.len(),
        created = summary.created,
        updated = summary.updated,
        unchanged = summary.unchanged,
        "seed roster loaded"
    );
    Ok(())
}

/// Serves until `shutdown` (or the state's root token) is cancelled, then finishes in-flight
/// requests. `run` adds the signals and the drain around it. With `server.tls_cert`/`tls_key`
/// set it serves HTTPS and reloads the certificate on SIGHUP and when its files change.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let server = &state.settings.server;
    let tls = if server.tls() {
        let certs = Certificates::load(&server.tls_cert, &server.tls_key)
            .context("loading server.tls_cert / server.tls_key")?;
        reload_on_sighup(certs.clone(), state.lifecycle.root().clone())?;
        if server.tls_check_ms > 0 {
            let every = Duration::from_millis(server.tls_check_ms);
            certs.clone().watch(every, state.lifecycle.root().clone());
        }
        Some(certs)
    } else {
        None
    };
    serve_with_tls(listener, state, shutdown, tls).await
}

/// Reloads the certificate on each SIGHUP until `stop`; a certificate that does not load is
/// logged and the one in service stays.
fn reload_on_sighup(certs: Arc<Certificates>, stop: CancellationToken) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangups = signal(SignalKind::hangup()).context("listening for SIGHUP")?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                got = hangups.recv() => if got.is_none() { break },
                () = stop.cancelled() => break,
            }
            match certs.reload() {
                Ok(()) => tracing::info!("SIGHUP: TLS certificate reloaded"),
                Err(e) => tracing::error!(
                    error = %format!("{e:#}"),
                    "SIGHUP: the new TLS certificate does not load; the previous one stays in service"
                ),
            }
        }
    });
    Ok(())
}

/// `serve` with the certificates given (HTTPS) or none (HTTP): the certificates' owner reloads
/// them.
pub async fn serve_with_tls(
    listener: TcpListener,
    state: AppState,
    shutdown: CancellationToken,
    tls: Option<Arc<Certificates>>,
) -> anyhow::Result<()> {
    let addr = listener.local_addr().context("listener address")?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%addr, scheme, pool = %state.pool_kind, "serving");
    if tls.is_none() {
        tracing::warn!(
            "serving plain HTTP: browsers allow the microphone (/call, the consoles) only on \
             https:// origins and localhost; set server.tls_cert and server.tls_key or put a TLS \
             reverse proxy in front (see the README, HTTPS)"
        );
    }
    if state.settings.operators.is_empty() {
        tracing::warn!(
            "no operator accounts configured: nobody can answer calls on /operator \
             (add one with `hotline-bridge new-secret --argon2`, see the README)"
        );
    }
    if state.pool_kind == PoolKind::Redis && state.settings.server.public_url.is_empty() {
        tracing::warn!(
            "server.public_url is not set: if other nodes share this Redis, interpreters \
             connected to them cannot join calls on this node (see the README, calls across nodes)"
        );
    }
    if state.settings.universities.is_empty() {
        tracing::warn!(
            "no university API keys configured: /university cannot be signed in to \
             (make one with `hotline-bridge new-secret`, see the README)"
        );
    }
    if state.settings.sip.enabled {
        let c = &state.settings.calls;
        // Every phone call comes from its trunk's address: only the total cap applies.
        let caps = crate::engine::caller_wait::WaitCaps {
            per_address: 0,
            total: c.max_waiting,
        };
        let prompts = crate::prompts::Prompts::load().context("decoding the phone prompts")?;
        // Runs on the state's lifecycle: it stops with the root token, like every call task.
        crate::sip::start(
            &state.settings.sip,
            state.calls.clone(),
            state.media.clone(),
            caps,
            &state.lifecycle,
            state.settings.languages.served(),
            prompts,
            state.dispatch.clone(),
            crate::sip::CallerOffers {
                recorded: state.settings.records.recording,
                callback: state
                    .records
                    .clone()
                    .filter(|_| c.max_queue_wait_s > 0)
                    .map(|r| (r, Duration::from_secs(c.max_queue_wait_s))),
            },
        )
        .await
        .context("starting the SIP edge")?;
        // Phone-only interpreters are kept present on shift only where they can be rung.
        crate::drivers::phone_duty::start(
            state.pool.clone(),
            state.dispatch.clone(),
            Duration::from_secs(state.settings.dispatch.heartbeat_s),
            state.dispatch.phones().can_dial(),
            &state.lifecycle,
        );
    }
    let root = state.lifecycle.root().clone();
    let connections = state.limits.connections.clone();
    let header_read = Duration::from_secs(state.settings.limits.header_read_timeout_s);
    let mut app = crate::api::router(state);
    if tls.is_some() {
        // HSTS: browsers that have seen the site over HTTPS never try plain HTTP on it again.
        app = app.layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            axum::http::header::STRICT_TRANSPORT_SECURITY,
            axum::http::HeaderValue::from_static("max-age=31536000"),
        ));
    }
    crate::api::server::run(listener, app, connections, header_read, tls, async move {
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = root.cancelled() => {}
        }
    })
    .await;
    Ok(())
}
