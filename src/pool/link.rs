//! `RedisLink`: the way to the pool's Redis master, for the pool and the node bus. With
//! `redis.url` it is one redis-rs `ConnectionManager` to that address. With `redis.sentinels` the
//! master is the one the sentinels name (redis-rs `SentinelClient`, which also checks that it
//! answers `ROLE` as a master); they are asked again after a connection error or a `READONLY`
//! answer, so the service follows a failover without a restart. It retries nothing: an operation
//! that failed fails (the pool's scripts are idempotent, so callers may repeat it).

use crate::config::RedisSettings;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::sentinel::{SentinelClient, SentinelServerType};
use redis::{Client, Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, RedisResult, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// After a look-up found no master, operations fail at once for this long instead of asking
/// again: the sentinels need a moment to agree on a new master, and callers should not queue up.
pub const LOOKUP_BACKOFF: Duration = Duration::from_millis(200);
/// Counter: times this process found a new master through the sentinels (the first included).
pub const MASTER_CHANGES: &str = "hotline_redis_master_changes_total";

/// Cheap to clone; every clone uses the same master and connection. Implements redis-rs'
/// `ConnectionLike`, so commands, pipelines and scripts run on it directly.
#[derive(Clone)]
pub struct RedisLink(Arc<Inner>);

struct Inner {
    config: ConnectionManagerConfig,
    /// The master in use; `None` until the sentinels first named one. Never held across `.await`.
    master: RwLock<Option<Master>>,
    sentinels: Option<Sentinels>,
    /// `host:port`, or the master's name and the sentinels (never a password), for messages.
    target: String,
}

#[derive(Clone)]
struct Master {
    addr: String,
    client: Client,
    conn: ConnectionManager,
}

struct Sentinels {
    client: tokio::sync::Mutex<SentinelClient>,
    /// The next use asks the sentinels first.
    stale: AtomicBool,
    /// When a look-up last failed (for `LOOKUP_BACKOFF`).
    failed_at: Mutex<Option<Instant>>,
    /// Bound on one look-up, so a silent sentinel cannot hold the others' callers.
    timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("redis.url is not usable: {0}")]
    Url(String),
    #[error("redis.sentinels is not usable: {0}")]
    Sentinels(String),
}

impl RedisLink {
    /// The link the settings describe, its connections made with `config`. Connects to nothing
    /// yet (the first command does), so this succeeds while Redis or the sentinels are down.
    pub fn open(
        settings: &RedisSettings,
        config: ConnectionManagerConfig,
    ) -> Result<Self, LinkError> {
        if settings.sentinels.is_empty() {
            let client =
                Client::open(settings.url.as_str()).map_err(|e| LinkError::Url(e.to_string()))?;
            let addr = client.get_connection_info().addr().to_string();
            let conn = ConnectionManager::new_lazy_with_config(client.clone(), config.clone())
                .map_err(|e| LinkError::Url(e.to_string()))?;
            return Ok(Self(Arc::new(Inner {
                config,
                master: RwLock::new(Some(Master {
                    addr: addr.clone(),
                    client,
                    conn,
                })),
                sentinels: None,
                target: addr,
            })));
        }
        let nodes: Vec<String> = settings
            .sentinels
            .iter()
            .map(|s| {
                if s.contains("://") {
                    s.clone()
                } else {
                    format!("redis://{s}")
                }
            })
            .collect();
        let client = SentinelClient::build(
            nodes,
            settings.sentinel_master.clone(),
            None,
            SentinelServerType::Master,
        )
        .map_err(|e| LinkError::Sentinels(e.to_string()))?;
        let timeout = config
            .connection_timeout()
            .unwrap_or(Duration::from_secs(1))
            + config.response_timeout().unwrap_or(Duration::from_secs(1));
        Ok(Self(Arc::new(Inner {
            config,
            master: RwLock::new(None),
            sentinels: Some(Sentinels {
                client: tokio::sync::Mutex::new(client),
                stale: AtomicBool::new(true),
                failed_at: Mutex::new(None),
                timeout,
            }),
            target: format!(
                "master {:?} of sentinels {}",
                settings.sentinel_master,
                settings
                    .sentinels
                    .iter()
                    .map(|s| without_password(s))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })))
    }

    /// What this link reaches, for messages (no password).
    pub fn target(&self) -> &str {
        &self.0.target
    }

    /// A client for the current master, for connections of their own (pub/sub, blocking reads):
    /// make a new one from a new call after such a connection fails, and call `suspect` then.
    pub async fn client(&self) -> RedisResult<Client> {
        Ok(self.master().await?.client)
    }

    /// The master may have changed (a dedicated connection ended): ask the sentinels before the
    /// next use. Nothing to do without sentinels.
    pub fn suspect(&self) {
        if let Some(s) = &self.0.sentinels {
            s.stale.store(true, Ordering::Relaxed);
        }
    }

    fn current(&self) -> Option<Master> {
        self.0
            .master
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The master to use now: the known one, or the one the sentinels name when it may have
    /// changed.
    async fn master(&self) -> RedisResult<Master> {
        let Some(s) = &self.0.sentinels else {
            return self.current().ok_or_else(|| no_master("no address"));
        };
        let known = || {
            if s.stale.load(Ordering::Relaxed) {
                None
            } else {
                self.current()
            }
        };
        if let Some(m) = known() {
            return Ok(m);
        }
        let backing_off = || {
            s.failed_at
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_some_and(|at| at.elapsed() < LOOKUP_BACKOFF)
        };
        if backing_off() {
            return Err(no_master(
                "the sentinels named no reachable master a moment ago",
            ));
        }
        let mut client = s.client.lock().await;
        // Another caller may have looked while this one waited.
        if let Some(m) = known() {
            return Ok(m);
        }
        if backing_off() {
            return Err(no_master(
                "the sentinels named no reachable master a moment ago",
            ));
        }
        let found = match tokio::time::timeout(s.timeout, client.async_get_client()).await {
            Ok(found) => found,
            Err(_) => Err(no_master("the sentinels did not answer in time")),
        };
        let found = match found {
            Ok(c) => c,
            Err(e) => {
                *s.failed_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
                return Err(e);
            }
        };
        let addr = found.get_connection_info().addr().to_string();
        let master = match self.current() {
            Some(m) if m.addr == addr => m,
            before => {
                let conn =
                    ConnectionManager::new_lazy_with_config(found.clone(), self.0.config.clone())?;
                let m = Master {
                    addr: addr.clone(),
                    client: found,
                    conn,
                };
                *self.0.master.write().unwrap_or_else(|e| e.into_inner()) = Some(m.clone());
                metrics::counter!(MASTER_CHANGES).increment(1);
                tracing::info!(
                    master = %addr,
                    before = before.map(|b| b.addr).unwrap_or_default(),
                    "redis master found through the sentinels"
                );
                m
            }
        };
        s.stale.store(false, Ordering::Relaxed);
        *s.failed_at.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Ok(master)
    }

    /// Notes an error of a command: one that says the master is gone or is no longer the
    /// master makes the next use ask the sentinels.
    fn failed(&self, e: &RedisError) {
        let moved = e.is_io_error()
            || e.is_connection_refusal()
            || e.is_connection_dropped()
            || e.is_timeout()
            || matches!(
                e.kind(),
                ErrorKind::Server(
                    redis::ServerErrorKind::ReadOnly
                        | redis::ServerErrorKind::MasterDown
                        | redis::ServerErrorKind::BusyLoading
                )
            );
        if moved {
            self.suspect();
        }
    }
}

impl ConnectionLike for RedisLink {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let mut conn = self.master().await?.conn;
            let answer = conn.req_packed_command(cmd).await;
            if let Err(e) = &answer {
                self.failed(e);
            }
            answer
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let mut conn = self.master().await?.conn;
            let answer = conn.req_packed_commands(pipeline, offset, count).await;
            if let Err(e) = &answer {
                self.failed(e);
            }
            answer
        })
    }

    fn get_db(&self) -> i64 {
        self.current()
            .map_or(0, |m| m.client.get_connection_info().redis_settings().db())
    }
}

fn no_master(why: &str) -> RedisError {
    RedisError::from((ErrorKind::Io, "no redis master", why.to_owned()))
}

/// `s` with any `user:password@` left out.
fn without_password(s: &str) -> String {
    match (s.split_once("://"), s.rsplit_once('@')) {
        (Some((scheme, _)), Some((_, host))) => format!("{scheme}://{host}"),
        _ => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sentinel_password_never_reaches_a_message() {
        assert_eq!(
            without_password("redis://:secret@10.0.0.2:26379/"),
            "redis://10.0.0.2:26379/"
        );
        assert_eq!(without_password("10.0.0.1:26379"), "10.0.0.1:26379");
    }
}
