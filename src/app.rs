//! Wiring: builds the shared state from settings (pool, roster), serves the router on a listener
//! until the shutdown token fires, and drains in-flight requests.

use crate::api::limit::RateLimit;
use crate::api::operator::OperatorSessions;
use crate::config::Settings;
use crate::drivers::call_registry::CallRegistry;
use crate::drivers::media::MediaHandle;
use crate::pool::{InterpreterPool, MemoryPool};
use anyhow::Context;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Cheap-to-clone handles shared by every request and driver.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub pool: Arc<dyn InterpreterPool>,
    /// "memory" or "redis", for status pages.
    pub pool_kind: &'static str,
    /// Live calls and the operator queue.
    pub calls: CallRegistry,
    pub operators: OperatorSessions,
    pub limits: Limits,
}

/// Per-address rate limits of the unauthenticated endpoints.
#[derive(Clone)]
pub struct Limits {
    pub create_call: RateLimit,
    pub login: RateLimit,
}

impl AppState {
    /// State over the embedded in-memory pool (unit tests, and the default when no Redis is set).
    /// Calls work without a media plane until `with_media` (offers are refused).
    pub fn in_memory(settings: Settings) -> Self {
        let pool: Arc<dyn InterpreterPool> = Arc::new(MemoryPool::new());
        let c = &settings.calls;
        let limits = Limits {
            create_call: RateLimit::per_minute(c.create_per_minute, c.create_burst),
            login: RateLimit::per_minute(
                crate::api::limit::LOGIN_PER_MINUTE,
                crate::api::limit::LOGIN_BURST,
            ),
        };
        let operators = OperatorSessions::new(c.operator_session_hours.saturating_mul(3_600_000));
        let calls = CallRegistry::new(
            pool.clone(),
            None,
            Duration::from_secs(c.reconnect_grace_s),
            CancellationToken::new(),
        );
        Self {
            settings: Arc::new(settings),
            pool,
            pool_kind: "memory",
            calls,
            operators,
            limits,
        }
    }

    /// The same state with calls joined through `media` (its events routed until `shutdown`).
    /// Must be called before the state is shared.
    pub fn with_media(mut self, media: MediaHandle, shutdown: CancellationToken) -> Self {
        self.calls = CallRegistry::new(
            self.pool.clone(),
            Some(media),
            Duration::from_secs(self.settings.calls.reconnect_grace_s),
            shutdown,
        );
        self
    }
}

/// Builds the state the settings describe: Redis when `redis.url` is set, memory otherwise.
pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    if settings.redis.url.is_empty() {
        return Ok(AppState::in_memory(settings));
    }
    anyhow::bail!("redis.url is set, but this build has no Redis pool yet")
}

/// Serves until `shutdown` is cancelled, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let addr = listener.local_addr().context("listener address")?;
    tracing::info!(%addr, pool = state.pool_kind, "serving");
    let app = crate::api::router(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { shutdown.cancelled().await })
    .await
    .context("http server")?;
    Ok(())
}
