//! Wiring: builds the shared state from settings (pool, roster, media loop), serves the router on
//! a listener until the shutdown token fires, and drains in-flight requests.

use crate::api::limit::RateLimit;
use crate::api::operator::OperatorSessions;
use crate::config::Settings;
use crate::drivers::call_registry::CallRegistry;
use crate::drivers::media::{self, MediaHandle};
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
    /// The media loop (one UDP socket, every WebRTC peer); it stops when the last clone drops.
    pub media: MediaHandle,
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
    /// State over the embedded in-memory pool with a media loop on an ephemeral UDP port (tests;
    /// `build_state` binds the configured port and fails if it cannot).
    pub fn in_memory(settings: Settings) -> Self {
        let mut media_settings = settings.media.clone();
        media_settings.udp_port = 0;
        let media = media::start(&media_settings, CancellationToken::new()).unwrap_or_else(|e| {
            tracing::error!(error = %e, "media loop not started");
            MediaHandle::stopped()
        });
        Self::with_media(settings, media)
    }

    fn with_media(settings: Settings, media: MediaHandle) -> Self {
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
            Some(media.clone()),
            Duration::from_secs(c.reconnect_grace_s),
            CancellationToken::new(),
        );
        Self {
            settings: Arc::new(settings),
            pool,
            pool_kind: "memory",
            media,
            calls,
            operators,
            limits,
        }
    }
}

/// Builds the state the settings describe: Redis when `redis.url` is set, memory otherwise, and
/// the media loop on `media.udp_port`.
pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    if !settings.redis.url.is_empty() {
        anyhow::bail!("redis.url is set, but this build has no Redis pool yet");
    }
    let media = media::spawn(&settings.media, CancellationToken::new())
        .await
        .context("starting the media loop")?;
    Ok(AppState::with_media(settings, media))
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
