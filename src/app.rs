//! Wiring: builds the shared state from settings (pool, roster), serves the router on a listener
//! until the shutdown token fires, and drains in-flight requests.

use crate::config::Settings;
use crate::pool::{InterpreterPool, MemoryPool, RedisPool};
use anyhow::Context;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Cheap-to-clone handles shared by every request and driver.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub pool: Arc<dyn InterpreterPool>,
    /// "memory" or "redis", for status pages.
    pub pool_kind: &'static str,
}

impl AppState {
    /// State over the embedded in-memory pool (unit tests, and the default when no Redis is set).
    pub fn in_memory(settings: Settings) -> Self {
        Self {
            settings: Arc::new(settings),
            pool: Arc::new(MemoryPool::new()),
            pool_kind: "memory",
        }
    }
}

/// Builds the state the settings describe: Redis when `redis.url` is set, memory otherwise.
/// Redis is connected lazily: the service starts while Redis is down (`/readyz` says 503 until
/// it is up).
pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    if settings.redis.url.is_empty() {
        return Ok(AppState::in_memory(settings));
    }
    let pool = RedisPool::open(&settings.redis).context("redis pool")?;
    Ok(AppState {
        settings: Arc::new(settings),
        pool: Arc::new(pool),
        pool_kind: "redis",
    })
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
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .context("http server")?;
    Ok(())
}
