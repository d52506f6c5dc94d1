//! Settings: `config/default.toml` (embedded), then an optional override file, then `HOTLINE__…`
//! environment variables. `Settings::load` returns one readable error naming the key at fault.

use crate::domain::Language;
use figment::providers::{Format, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// The shipped defaults, embedded so the binary runs from any directory.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");
pub const ENV_PREFIX: &str = "HOTLINE__";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config: {0}")]
    Parse(String),
    #[error("config: {key}: {problem}")]
    Invalid { key: String, problem: String },
}

fn invalid(key: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        problem: problem.into(),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub languages: LanguageSettings,
    pub redis: RedisSettings,
    pub roster: RosterSettings,
    pub coverage: CoverageSettings,
    pub dispatch: DispatchSettings,
    pub detect: DetectSettings,
    pub media: MediaSettings,
    pub calls: CallSettings,
    pub node: NodeSettings,
    pub limits: LimitSettings,
    #[serde(default)]
    pub universities: BTreeMap<String, UniversityAuth>,
    #[serde(default)]
    pub operators: BTreeMap<String, OperatorAccount>,
    /// Administrators (recovery: `/api/admin/…`), by name.
    #[serde(default)]
    pub admins: BTreeMap<String, AdminKey>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    pub max_body_bytes: usize,
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// This node's public address (`https://node-a.example`); empty = consoles reach calls on the
    /// origin they are on (a single node, or every node behind one address).
    #[serde(default)]
    pub public_url: String,
    /// On SIGTERM or Ctrl-C, how long calls in progress may go on before they are ended.
    #[serde(default = "default_drain_s")]
    pub drain_s: u64,
}

fn default_drain_s() -> u64 {
    60
}

impl ServerSettings {
    /// This node's signalling WebSocket URL (`wss://…/ws` for `https://…`), when `public_url` is
    /// set: where a console connected to another node enters a call living here.
    pub fn ws_url(&self) -> Option<String> {
        let base = self.public_url.trim_end_matches('/');
        let rest = if let Some(r) = base.strip_prefix("https://") {
            format!("wss://{r}")
        } else {
            format!("ws://{}", base.strip_prefix("http://")?)
        };
        Some(format!("{rest}/ws"))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageSettings {
    pub core: Vec<Language>,
    pub extended: Vec<Language>,
    pub operator: Language,
}

impl LanguageSettings {
    /// Every language an interpreter may be registered for: core then extended.
    pub fn served(&self) -> Vec<Language> {
        self.core.iter().chain(&self.extended).copied().collect()
    }

    /// Every language the hotline knows: served ones and the operators' own.
    pub fn all(&self) -> Vec<Language> {
        let mut v = self.served();
        v.push(self.operator);
        v
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
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

impl RedisSettings {
    /// Whether the pool is in Redis (one address, or a Sentinel-monitored master).
    pub fn is_set(&self) -> bool {
        !self.url.is_empty() || !self.sentinels.is_empty()
    }

    fn validate(&self) -> Result<(), ConfigError> {
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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterSettings {
    pub file: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoverageSettings {
    pub min_interpreters: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatchSettings {
    pub ring_timeout_s: u64,
    pub parallel_offers: u32,
    pub escalate_after_s: u64,
    pub max_missed_offers: u32,
    pub wrap_up_s: u64,
    pub heartbeat_s: u64,
    pub presence_ttl_s: u64,
    pub predispatch: bool,
    #[serde(default)]
    pub relay: BTreeMap<Language, Language>,
    /// A joined interpreter whose media sent no packet at all for this long is treated as gone
    /// (replacement sought); 0 = never.
    #[serde(default = "default_interpreter_silence_s")]
    pub interpreter_silence_s: u64,
}

fn default_interpreter_silence_s() -> u64 {
    20
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectSettings {
    pub threshold: f64,
    pub max_text_bytes: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaSettings {
    pub udp_port: u16,
    pub public_ip: IpAddr,
    #[serde(default)]
    pub turn_urls: Vec<String>,
    pub turn_ttl_s: u64,
    /// Shared secret with the TURN server (coturn `static-auth-secret`); from environment only.
    #[serde(default)]
    pub turn_secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallSettings {
    /// Calls one client address may create per minute, and the burst allowed at once.
    pub create_per_minute: u32,
    pub create_burst: u32,
    /// Seconds a party may be disconnected from signalling before leaving (the caller: the call ends).
    pub reconnect_grace_s: u64,
    /// Lifetime of an operator's login session, in hours.
    pub operator_session_hours: u64,
    /// Calls waiting for an operator at once from one client address (0 = no cap).
    pub max_waiting_per_address: u32,
    /// Calls waiting for an operator at once on this node (0 = no cap).
    pub max_waiting: u32,
    /// Waited this long, the caller is asked whether to keep waiting, in seconds (0 = never).
    pub max_queue_wait_s: u64,
    /// Seconds the caller has to answer that question before the call ends.
    pub queue_wait_reply_s: u64,
}

/// This node's lease in the pool and the sweep that frees what lost nodes held. After a node
/// dies, what it held is free again within `lease_ttl_ms + sweep_every_ms`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSettings {
    pub lease_ttl_ms: u64,
    pub lease_renew_ms: u64,
    pub sweep_every_ms: u64,
}

/// Limits on every door (`[limits]`, each key commented in config/default.toml); 0 = no cap.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    pub connections_per_address: u32,
    pub connections: u32,
    pub header_read_timeout_s: u64,
    pub hello_timeout_s: u64,
    pub ws_sessions_per_address: u32,
    pub ws_sessions: u32,
    pub ws_messages_per_s: u32,
    pub ws_messages_burst: u32,
    pub ice_candidates_per_offer: u32,
    pub offers_per_minute: u32,
    pub media_sections_per_offer: u32,
    pub public_per_minute: u32,
    pub public_burst: u32,
    pub login_per_minute: u32,
    pub login_burst: u32,
    pub password_checks: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UniversityAuth {
    /// SHA-256 hex of the university's API key.
    pub api_key_sha256: String,
}

/// An administrator's API key, as SHA-256 hex of the key (a random key, like a university's).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminKey {
    pub api_key_sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorAccount {
    /// Argon2 PHC string of the operator's password.
    pub password_argon2: String,
    /// Languages the operator speaks besides the operators' language (for relays).
    #[serde(default)]
    pub languages: Vec<Language>,
}

impl Settings {
    /// Defaults, then `file` if given, then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with_env(file, std::env::vars())
    }

    /// As `load`, with the environment given (for tests).
    pub fn load_with_env(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(f) = file {
            if !f.exists() {
                return Err(ConfigError::Parse(format!("{}: no such file", f.display())));
            }
            fig = fig.merge(Toml::file(f));
        }
        let vars: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .collect();
        for (k, v) in vars {
            let key = k[ENV_PREFIX.len()..]
                .to_ascii_lowercase()
                .replace("__", ".");
            let value = v
                .parse::<figment::value::Value>()
                .unwrap_or_else(|_| v.clone().into());
            // Strings that look like numbers stay strings where the field wants a string: figment
            // converts between the two on extraction.
            fig = fig.merge((key, value));
        }
        let settings: Settings = fig.extract().map_err(|e| {
            let key = e.path.join(".");
            let problem = e.kind.to_string();
            if key.is_empty() {
                ConfigError::Parse(problem)
            } else {
                invalid(&key, problem)
            }
        })?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn from_toml_str(toml: &str) -> Result<Self, ConfigError> {
        let fig = Figment::from(Toml::string(DEFAULT_TOML)).merge(Toml::string(toml));
        let settings: Settings = fig
            .extract()
            .map_err(|e| invalid(&e.path.join("."), e.kind.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let l = &self.languages;
        if l.core.is_empty() {
            return Err(invalid("languages.core", "at least one language is needed"));
        }
        let served = l.served();
        for (i, lang) in served.iter().enumerate() {
            if served[..i].contains(lang) {
                return Err(invalid("languages", format!("{lang} is listed twice")));
            }
            if *lang == l.operator {
                return Err(invalid(
                    "languages.operator",
                    format!(
                        "{lang} is the operators' language and cannot also need an interpreter"
                    ),
                ));
            }
        }
        self.redis.validate()?;
        if self.redis.key_prefix.is_empty()
            || !self
                .redis
                .key_prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b':')
        {
            return Err(invalid(
                "redis.key_prefix",
                "must be non-empty letters, digits, '-', '_' or ':'",
            ));
        }
        if self.redis.response_timeout_ms == 0 {
            return Err(invalid("redis.response_timeout_ms", "must be above 0"));
        }
        let p = &self.server.public_url;
        let http = p.starts_with("http://") || p.starts_with("https://");
        if !p.is_empty() && !http {
            return Err(invalid(
                "server.public_url",
                "must be empty or start with http:// or https://",
            ));
        }
        let d = &self.dispatch;
        if d.ring_timeout_s == 0 {
            return Err(invalid("dispatch.ring_timeout_s", "must be above 0"));
        }
        if d.parallel_offers == 0 {
            return Err(invalid("dispatch.parallel_offers", "must be at least 1"));
        }
        if d.heartbeat_s == 0 || d.presence_ttl_s <= d.heartbeat_s {
            return Err(invalid(
                "dispatch.presence_ttl_s",
                "must be longer than dispatch.heartbeat_s (which must be above 0)",
            ));
        }
        for (from, to) in &d.relay {
            if !served.contains(from) {
                return Err(invalid(
                    &format!("dispatch.relay.{from}"),
                    "not a served language",
                ));
            }
            if !l.all().contains(to) || from == to {
                return Err(invalid(
                    &format!("dispatch.relay.{from}"),
                    format!("relay language {to} must be another configured language"),
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.detect.threshold) {
            return Err(invalid("detect.threshold", "must be between 0 and 1"));
        }
        if self.detect.max_text_bytes == 0 {
            return Err(invalid("detect.max_text_bytes", "must be above 0"));
        }
        let c = &self.calls;
        if c.create_per_minute == 0 || c.create_burst == 0 {
            return Err(invalid(
                "calls.create_per_minute",
                "create_per_minute and create_burst must be at least 1",
            ));
        }
        if c.operator_session_hours == 0 {
            return Err(invalid("calls.operator_session_hours", "must be above 0"));
        }
        if c.max_queue_wait_s > 0 && c.queue_wait_reply_s == 0 {
            return Err(invalid(
                "calls.queue_wait_reply_s",
                "must be above 0 when max_queue_wait_s is set",
            ));
        }
        let m = &self.limits;
        for (key, v) in [
            ("limits.header_read_timeout_s", m.header_read_timeout_s),
            ("limits.hello_timeout_s", m.hello_timeout_s),
            ("limits.ws_messages_per_s", m.ws_messages_per_s.into()),
            ("limits.ws_messages_burst", m.ws_messages_burst.into()),
            ("limits.offers_per_minute", m.offers_per_minute.into()),
            ("limits.public_per_minute", m.public_per_minute.into()),
            ("limits.public_burst", m.public_burst.into()),
            ("limits.login_per_minute", m.login_per_minute.into()),
            ("limits.login_burst", m.login_burst.into()),
            ("limits.password_checks", m.password_checks.into()),
        ] {
            if v == 0 {
                return Err(invalid(key, "must be above 0"));
            }
        }
        let n = &self.node;
        if n.lease_renew_ms == 0 || n.lease_ttl_ms < 2 * n.lease_renew_ms {
            return Err(invalid(
                "node.lease_ttl_ms",
                "must be at least twice node.lease_renew_ms (which must be above 0), so one late \
                 renewal does not lose the lease",
            ));
        }
        if n.sweep_every_ms == 0 {
            return Err(invalid("node.sweep_every_ms", "must be above 0"));
        }
        if self.server.max_body_bytes < 1024 {
            return Err(invalid("server.max_body_bytes", "must be at least 1024"));
        }
        for (id, u) in &self.universities {
            if crate::domain::UniversityId::parse(id).is_err() {
                return Err(invalid(
                    &format!("universities.{id}"),
                    "not a valid university id",
                ));
            }
            let h = &u.api_key_sha256;
            if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid(
                    &format!("universities.{id}.api_key_sha256"),
                    "must be 64 hex digits (SHA-256 of the key; see `hotline-bridge new-secret`)",
                ));
            }
        }
        for (name, a) in &self.admins {
            let named = !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
            if !named {
                return Err(invalid(
                    &format!("admins.{name}"),
                    "an administrator's name is 1-64 letters, digits, '-', '_' or '.'",
                ));
            }
            let h = &a.api_key_sha256;
            if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid(
                    &format!("admins.{name}.api_key_sha256"),
                    "must be 64 hex digits (SHA-256 of the key; see `hotline-bridge new-secret`)",
                ));
            }
        }
        for (name, op) in &self.operators {
            if argon2::PasswordHash::new(&op.password_argon2).is_err() {
                return Err(invalid(
                    &format!("operators.{name}.password_argon2"),
                    "not an argon2 PHC string (see `hotline-bridge new-secret --argon2`)",
                ));
            }
        }
        Ok(())
    }

    pub fn roster_path(&self) -> Option<PathBuf> {
        (!self.roster.file.is_empty()).then(|| PathBuf::from(&self.roster.file))
    }
}

#[cfg(test)]
mod tests;
