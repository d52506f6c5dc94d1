//! `RedisPool`: the pool in Redis, shared by every node. Each offer transition is one Lua script
//! (`scripts/*.lua`, keys in `keys.rs`); this file only sends commands, bounds them in time and
//! reads the answers (`redis_codec.rs`). It never decides anything a script should decide.
//!
//! Connection: one redis-rs `ConnectionManager` (multiplexed, reconnects by itself), created lazily
//! so the service starts while Redis is down, to `redis.url` or to the master the sentinels name
//! (`link.rs`, which follows a failover). Every operation is bounded by
//! `connection_timeout_ms + response_timeout_ms`; past that, or on any connection error, it
//! returns `PoolError::Unavailable` (the scripts are idempotent, so a caller may simply repeat).
//! With `redis.replica_acks`, the writes that decide who holds an interpreter wait for replicas
//! (`WAIT`) before they count, so a failover does not lose them (see the README).

use super::keys::{Keys, ENDED_OFFER_KEPT_MS};
use super::link::RedisLink;
use super::redis_codec::{self as codec, Hash};
use super::{
    Availability, CallId, CallRecord, ClaimRequest, Engagement, Expired, ForcedEnd, ForcedRelease,
    InterpreterId, InterpreterPool, InterpreterProfile, InterpreterState, Language, LeaseRenewal,
    NodeId, NodeLease, NodeSummary, Offer, OfferId, OfferState, PoolError, PoolEvent, Recovered,
};
use crate::config::RedisSettings;
use crate::domain::Millis;
use ::redis::aio::ConnectionManagerConfig;
use ::redis::Script;
use async_trait::async_trait;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Reconnect attempts per failed connection before pending commands fail (the next command
/// starts a new round), and the back-off between attempts.
const RECONNECT_RETRIES: usize = 2;
const RECONNECT_MIN_DELAY: Duration = Duration::from_millis(50);
const RECONNECT_MAX_DELAY: Duration = Duration::from_millis(1000);
/// Counter: writes that went on without the replicas `redis.replica_acks` asks for.
pub const UNREPLICATED_WRITES: &str = "hotline_redis_unreplicated_writes_total";

/// A script: the shared prelude, then the transition (paths from the crate root, so the macro
/// works from `redis/nodes.rs` too).
macro_rules! script {
    ($file:literal) => {
        Script::new(concat!(
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/src/pool/scripts/lib.lua"
            )),
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/src/pool/scripts/",
                $file
            ))
        ))
    };
}

mod audit;
mod commands;
mod nodes;
mod offers;

struct Scripts {
    upsert: Script,
    remove: Script,
    heartbeat: Script,
    availability: Script,
    claim: Script,
    respond: Script,
    cancel: Script,
    release: Script,
    sweep: Script,
}

impl Scripts {
    fn new() -> Self {
        Self {
            upsert: script!("upsert.lua"),
            remove: script!("remove.lua"),
            heartbeat: script!("heartbeat.lua"),
            availability: script!("availability.lua"),
            claim: script!("claim.lua"),
            respond: script!("respond.lua"),
            cancel: script!("cancel.lua"),
            release: script!("release.lua"),
            sweep: script!("sweep.lua"),
        }
    }
}

pub struct RedisPool {
    conn: RedisLink,
    keys: Keys,
    scripts: Scripts,
    /// Node leases, call records, recovery and the administrator's scripts (`redis/nodes.rs`).
    node_scripts: nodes::NodeScripts,
    /// Hard bound on one operation, however many round trips it takes.
    op_timeout: Duration,
    /// `host:port` (never the URL, which may hold a password), for error messages.
    target: String,
    /// `redis.replica_acks` and how long to wait for them.
    replica_acks: u32,
    replica_ack_timeout: Duration,
    /// The last such write found too few replicas (logged once per change, counted every time).
    short_of_replicas: AtomicBool,
}

impl RedisPool {
    /// A pool over `settings.url` (or the sentinels' master) with its timeouts. Does not connect:
    /// the first operation does, so this succeeds while Redis is down. Call it inside a Tokio
    /// runtime.
    pub fn open(settings: &RedisSettings) -> Result<Self, PoolError> {
        let connect = Duration::from_millis(settings.connection_timeout_ms);
        let respond = Duration::from_millis(settings.response_timeout_ms);
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(connect))
            .set_response_timeout(Some(respond))
            .set_number_of_retries(RECONNECT_RETRIES)
            .set_min_delay(RECONNECT_MIN_DELAY)
            .set_max_delay(RECONNECT_MAX_DELAY);
        let conn =
            RedisLink::open(settings, config).map_err(|e| PoolError::Unavailable(e.to_string()))?;
        let ack_timeout = Duration::from_millis(settings.replica_ack_timeout_ms);
        Ok(Self {
            target: conn.target().to_owned(),
            conn,
            keys: Keys::new(&settings.key_prefix),
            scripts: Scripts::new(),
            node_scripts: nodes::NodeScripts::new(),
            op_timeout: connect + respond + ack_timeout,
            replica_acks: settings.replica_acks,
            replica_ack_timeout: ack_timeout,
            short_of_replicas: AtomicBool::new(false),
        })
    }

    /// Interpreter hashes of `ids` (sorted), skipping any removed meanwhile.
    async fn interpreters(
        &self,
        what: &str,
        ids: Vec<String>,
    ) -> Result<Vec<(InterpreterId, Hash)>, PoolError> {
        let parsed = ids
            .iter()
            .map(|s| codec::interpreter_id(s))
            .collect::<Result<Vec<_>, _>>()?;
        let keys = parsed.iter().map(|id| self.keys.interpreter(id)).collect();
        let hashes = self.hashes(what, keys).await?;
        Ok(parsed
            .into_iter()
            .zip(hashes)
            .filter(|(_, h)| !h.is_empty())
            .collect())
    }

    /// `{'ok', fields…}` / `{'unknown'}` / `{'engaged'}` answer of a presence script.
    fn presence_answer(
        id: &InterpreterId,
        reply: Vec<String>,
        now: Millis,
    ) -> Result<InterpreterState, PoolError> {
        match reply.first().map(String::as_str) {
            Some("ok") => codec::state(id, &codec::pairs(&reply[1..]), now),
            Some("unknown") => Err(PoolError::UnknownInterpreter(id.clone())),
            Some("engaged") => Err(PoolError::Engaged(id.clone())),
            _ => Err(codec::unexpected("presence", &reply)),
        }
    }
}

#[async_trait]
impl InterpreterPool for RedisPool {
    async fn ping(&self) -> Result<(), PoolError> {
        let mut c = self.conn.clone();
        let pong: String = self
            .run("ping", async move {
                ::redis::cmd("PING").query_async(&mut c).await
            })
            .await?;
        match pong.as_str() {
            "PONG" => Ok(()),
            other => Err(PoolError::Corrupt(format!("PING answered {other:?}"))),
        }
    }

    async fn upsert(&self, profile: &InterpreterProfile) -> Result<(), PoolError> {
        let token = profile.token_sha256.clone().unwrap_or_default();
        let mut stored = profile.clone();
        stored.token_sha256 = None;
        let json = serde_json::to_string(&stored)
            .map_err(|e| PoolError::Corrupt(format!("profile {}: {e}", profile.id)))?;
        let langs: Vec<&str> = profile
            .languages
            .iter()
            .map(|s| s.language.as_str())
            .collect();
        let _: String = self
            .invoke("upsert", &self.scripts.upsert, self.keys.ids(), |inv| {
                inv.arg(profile.id.as_str())
                    .arg(json)
                    .arg(token)
                    .arg(langs.join(","));
            })
            .await?;
        Ok(())
    }

    async fn remove(&self, id: &InterpreterId) -> Result<bool, PoolError> {
        let reply: String = self
            .invoke("remove", &self.scripts.remove, self.keys.ids(), |inv| {
                inv.arg(id.as_str());
            })
            .await?;
        match reply.as_str() {
            "removed" => Ok(true),
            "unknown" => Ok(false),
            "engaged" => Err(PoolError::Engaged(id.clone())),
            _ => Err(codec::unexpected("remove", &[reply])),
        }
    }

    async fn profile(&self, id: &InterpreterId) -> Result<Option<InterpreterProfile>, PoolError> {
        let h = self.hash("profile", self.keys.interpreter(id)).await?;
        if h.is_empty() {
            return Ok(None);
        }
        codec::profile(id, &h).map(Some)
    }

    async fn profiles(&self) -> Result<Vec<InterpreterProfile>, PoolError> {
        let ids = self.members("profiles", self.keys.ids()).await?;
        self.interpreters("profiles", ids)
            .await?
            .iter()
            .map(|(id, h)| codec::profile(id, h))
            .collect()
    }

    async fn heartbeat(
        &self,
        id: &InterpreterId,
        now: Millis,
    ) -> Result<InterpreterState, PoolError> {
        let reply: Vec<String> = self
            .invoke(
                "heartbeat",
                &self.scripts.heartbeat,
                self.keys.ids(),
                |inv| {
                    inv.arg(id.as_str()).arg(now);
                },
            )
            .await?;
        Self::presence_answer(id, reply, now)
    }

    async fn set_availability(
        &self,
        id: &InterpreterId,
        to: Availability,
        now: Millis,
    ) -> Result<InterpreterState, PoolError> {
        let to = match to {
            Availability::Available => "available",
            Availability::Paused => "paused",
            Availability::Offline => "offline",
        };
        let reply: Vec<String> = self
            .invoke(
                "set_availability",
                &self.scripts.availability,
                self.keys.ids(),
                |inv| {
                    inv.arg(id.as_str()).arg(to).arg(now);
                },
            )
            .await?;
        Self::presence_answer(id, reply, now)
    }

    async fn state(
        &self,
        id: &InterpreterId,
        now: Millis,
    ) -> Result<Option<InterpreterState>, PoolError> {
        let h = self.hash("state", self.keys.interpreter(id)).await?;
        if h.is_empty() {
            return Ok(None);
        }
        codec::state(id, &h, now).map(Some)
    }

    async fn states_for(
        &self,
        language: Language,
        now: Millis,
    ) -> Result<Vec<InterpreterState>, PoolError> {
        let ids = self
            .members("states_for", self.keys.speakers(language))
            .await?;
        self.interpreters("states_for", ids)
            .await?
            .iter()
            .map(|(id, h)| codec::state(id, h, now))
            .collect()
    }

    async fn claim(&self, req: &ClaimRequest) -> Result<Option<Offer>, PoolError> {
        self.claim_in_redis(req).await
    }

    async fn respond(
        &self,
        offer: &OfferId,
        by: &InterpreterId,
        accept: bool,
        now: Millis,
    ) -> Result<OfferState, PoolError> {
        self.respond_in_redis(offer, by, accept, now).await
    }

    async fn cancel(&self, offer: &OfferId, now: Millis) -> Result<OfferState, PoolError> {
        self.cancel_in_redis(offer, now).await
    }

    async fn release(
        &self,
        offer: &OfferId,
        now: Millis,
        wrap_up_ms: u64,
    ) -> Result<OfferState, PoolError> {
        self.release_in_redis(offer, now, wrap_up_ms).await
    }

    async fn sweep(&self, now: Millis, max_missed: u32) -> Result<Vec<Expired>, PoolError> {
        self.sweep_in_redis(now, max_missed).await
    }

    async fn offer(&self, offer: &OfferId) -> Result<Option<(Offer, OfferState)>, PoolError> {
        self.offer_in_redis(offer).await
    }

    async fn renew_lease(
        &self,
        node: NodeId,
        now: Millis,
        ttl_ms: u64,
    ) -> Result<LeaseRenewal, PoolError> {
        self.renew_lease_in_redis(node, now, ttl_ms).await
    }

    async fn leases(&self) -> Result<Vec<NodeLease>, PoolError> {
        self.leases_in_redis().await
    }

    async fn publish_summary(&self, summary: &NodeSummary) -> Result<(), PoolError> {
        self.publish_summary_in_redis(summary).await
    }

    async fn summaries(&self, now: Millis) -> Result<Vec<NodeSummary>, PoolError> {
        self.summaries_in_redis(now).await
    }

    async fn call_opened(
        &self,
        call: &CallId,
        node: NodeId,
        token_sha256: &str,
        now: Millis,
    ) -> Result<(), PoolError> {
        self.call_opened_in_redis(call, node, token_sha256, now)
            .await
    }

    async fn call_ended(
        &self,
        call: &CallId,
        now: Millis,
        why: &str,
    ) -> Result<Option<CallRecord>, PoolError> {
        self.call_ended_in_redis(call, now, why).await
    }

    async fn call_record(&self, call: &CallId) -> Result<Option<CallRecord>, PoolError> {
        self.call_record_in_redis(call).await
    }

    async fn sweep_lost(&self, now: Millis) -> Result<Vec<Recovered>, PoolError> {
        self.sweep_lost_in_redis(now).await
    }

    async fn engagements(&self) -> Result<Vec<Engagement>, PoolError> {
        self.engagements_in_redis().await
    }

    async fn force_release(
        &self,
        id: &InterpreterId,
        now: Millis,
        by: &str,
    ) -> Result<ForcedRelease, PoolError> {
        self.force_release_in_redis(id, now, by).await
    }

    async fn force_end_call(
        &self,
        call: &CallId,
        now: Millis,
        by: &str,
    ) -> Result<Option<ForcedEnd>, PoolError> {
        self.force_end_call_in_redis(call, now, by).await
    }

    async fn record(&self, event: &PoolEvent) -> Result<(), PoolError> {
        self.record_in_redis(event).await
    }

    async fn recent_events(&self, limit: usize) -> Result<Vec<PoolEvent>, PoolError> {
        self.recent_events_in_redis(limit).await
    }
}
