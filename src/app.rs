//! Wiring: builds the shared state from settings (pool, roster), serves the router on a listener
//! until the shutdown token fires, and drains in-flight requests.

use crate::config::Settings;
use crate::domain::UniversityId;
use crate::pool::{InterpreterPool, MemoryPool};
use crate::roster::{self, Roster};
use anyhow::Context;
use std::collections::BTreeMap;
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
    /// Partner universities' names from the seed roster (pages show the id where none is known).
    pub university_names: Arc<BTreeMap<UniversityId, String>>,
}

impl AppState {
    /// State over the embedded in-memory pool (unit tests, and the default when no Redis is set).
    pub fn in_memory(settings: Settings) -> Self {
        Self {
            settings: Arc::new(settings),
            pool: Arc::new(MemoryPool::new()),
            pool_kind: "memory",
            university_names: Arc::default(),
        }
    }
}

/// Builds the state the settings describe: Redis when `redis.url` is set, memory otherwise.
/// Then seeds the pool from `roster.file` when it is set.
pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    let mut state = if settings.redis.url.is_empty() {
        AppState::in_memory(settings)
    } else {
        anyhow::bail!("redis.url is set, but this build has no Redis pool yet")
    };
    seed_roster(&mut state).await?;
    Ok(state)
}

/// Checks the whole `roster.file` and upserts it into the pool (idempotent); a missing or invalid
/// file stops start-up with every problem named.
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
    let summary = roster::import(state.pool.as_ref(), &roster)
        .await
        .with_context(|| format!("importing {}", path.display()))?;
    tracing::info!(
        file = %path.display(),
        universities = roster.universities.len(),
        created = summary.created,
        updated = summary.updated,
        unchanged = summary.unchanged,
        "seed roster loaded"
    );
    state.university_names = Arc::new(roster.university_names());
    Ok(())
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
