//! `[redis]`: one address or a Sentinel-monitored master, and how long to wait for it.

use super::{invalid, ConfigError};
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    pub url: String,
    pub key_prefix: String,
    pub response_timeout_ms: u64,
    pub connection_timeout_ms: u64,
    /// The Sentinel-monitored master's name; with `sentinels`, in place of `url`.
    #[serde(default)]
    pub sentinel_master: String,
    /// Sentinel addresses, `host:port` or `redis://host:port`.
    #[serde(default)]
    pub sentinels: Vec<String>,
    /// Replicas that must have a write deciding who holds an interpreter (Redis `WAIT`).
    #[serde(default)]
    pub replica_acks: u32,
    #[serde(default = "default_replica_ack_timeout_ms")]
    pub replica_ack_timeout_ms: u64,
}

fn default_replica_ack_timeout_ms() -> u64 {
    200
}

impl std::fmt::Debug for RedisSettings {
    // Settings are printed in logs and test failures: a password in the URL never is.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &masked_url(&self.url))
            .field("key_prefix", &self.key_prefix)
            .field("response_timeout_ms", &self.response_timeout_ms)
            .field("connection_timeout_ms", &self.connection_timeout_ms)
            .field("sentinel_master", &self.sentinel_master)
            .field(
                "sentinels",
                &self
                    .sentinels
                    .iter()
                    .map(|s| masked_url(s))
                    .collect::<Vec<_>>(),
            )
            .field("replica_acks", &self.replica_acks)
            .field("replica_ack_timeout_ms", &self.replica_ack_timeout_ms)
            .finish()
    }
}

/// `url` with the password of its user information (`user:password@`) replaced by `***`.
pub(super) fn masked_url(url: &str) -> String {
    let rest_at = url.find("://").map_or(0, |i| i + 3);
    let (scheme, rest) = url.split_at(rest_at);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let (userinfo, host) = authority.split_at(at);
    // `user:password@` keeps the user; a lone `secret@` may be a password: all of it goes.
    let masked = match userinfo.split_once(':') {
        Some((user, _)) => format!("{user}:***"),
        None => "***".to_owned(),
    };
    format!("{scheme}{masked}{host}{path}")
}

impl RedisSettings {
    /// Whether the pool is in Redis (one address, or a Sentinel-monitored master).
    pub fn is_set(&self) -> bool {
        !self.url.is_empty() || !self.sentinels.is_empty()
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let schemes = ["redis://", "rediss://", "redis+unix://", "unix://"];
        let url = &self.url;
        if !url.is_empty() && !schemes.iter().any(|s| url.starts_with(s)) {
            return Err(invalid(
                "redis.url",
                "must start with redis://, rediss:// or unix://",
            ));
        }
        match (self.sentinel_master.is_empty(), self.sentinels.is_empty()) {
            (true, true) => {}
            (false, false) if url.is_empty() => {}
            (false, false) => return Err(invalid(
                "redis.url",
                "must be empty when redis.sentinels is set (the sentinels say where the master is)",
            )),
            (true, false) => {
                return Err(invalid(
                    "redis.sentinel_master",
                    "must name the monitored master when redis.sentinels is set",
                ))
            }
            (false, true) => {
                return Err(invalid(
                    "redis.sentinels",
                    "must list at least one sentinel (host:port) when redis.sentinel_master is set",
                ))
            }
        }
        if self.replica_acks > 0
            && (self.replica_ack_timeout_ms == 0
                || self.replica_ack_timeout_ms >= self.response_timeout_ms)
        {
            return Err(invalid(
                "redis.replica_ack_timeout_ms",
                "must be above 0 and below redis.response_timeout_ms when redis.replica_acks is set",
            ));
        }
        for s in &self.sentinels {
            if !sentinel_address_is_valid(s) {
                return Err(invalid(
                    "redis.sentinels",
                    format!("{s:?} is not host:port or redis://host:port"),
                ));
            }
        }
        Ok(())
    }
}

/// `host:port` or a `redis://` / `rediss://` URL with a host and a port.
fn sentinel_address_is_valid(s: &str) -> bool {
    let rest = s
        .strip_prefix("redis://")
        .or_else(|| s.strip_prefix("rediss://"))
        .unwrap_or(s);
    let hostport = rest.rsplit('@').next().unwrap_or(rest);
    let hostport = hostport.split('/').next().unwrap_or(hostport);
    match hostport.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0),
        None => false,
    }
}
