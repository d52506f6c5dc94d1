//! The plain sections of the settings: server, languages, dispatch, media, calls, node, limits.
//! Each key is commented in config/default.toml; cross-key checks live in `validate.rs`.

use crate::domain::Language;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

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
    /// PEM certificate chain and private key: both set = the listener serves HTTPS and WSS
    /// (reloaded on SIGHUP); both empty = plain HTTP.
    #[serde(default)]
    pub tls_cert: String,
    #[serde(default)]
    pub tls_key: String,
    /// How often the certificate files are checked for a change, in milliseconds (0 = only
    /// SIGHUP reloads them).
    #[serde(default = "default_tls_check_ms")]
    pub tls_check_ms: u64,
}

fn default_drain_s() -> u64 {
    60
}

fn default_tls_check_ms() -> u64 {
    5_000
}

impl ServerSettings {
    /// Whether the listener serves HTTPS (both `tls_cert` and `tls_key` set).
    pub fn tls(&self) -> bool {
        !self.tls_cert.is_empty() && !self.tls_key.is_empty()
    }

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
    /// First UDP port: shard `i` binds `udp_port + i` (0 = a free port per shard).
    pub udp_port: u16,
    /// Media loops (shards), one thread and one socket each; 0 = one per available core.
    #[serde(default)]
    pub shards: usize,
    pub public_ip: IpAddr,
    #[serde(default)]
    pub turn_urls: Vec<String>,
    pub turn_ttl_s: u64,
    /// Shared secret with the TURN server (coturn `static-auth-secret`); from environment only.
    #[serde(default)]
    pub turn_secret: String,
    /// Every page (callers, operators, interpreters) sends its media only through the TURN
    /// servers (`iceTransportPolicy: "relay"`): the media ports need not be reachable from the
    /// internet, only from the TURN server, and no page offers its own addresses.
    #[serde(default)]
    pub turn_relay_only: bool,
    /// Kernel receive and send buffer asked for on each shard's socket, in bytes (capped by
    /// `net.core.rmem_max` / `wmem_max`).
    #[serde(default = "default_socket_buffer_bytes")]
    pub socket_buffer_bytes: usize,
    /// Each shard's thread runs at this real-time priority (SCHED_FIFO, 1-99) so that nothing
    /// else on the machine delays a packet; 0 = the normal scheduler. Needs RLIMIT_RTPRIO at
    /// least this high (systemd `LimitRTPRIO=`) or CAP_SYS_NICE; refused, the node warns and
    /// the shards run at normal priority.
    #[serde(default)]
    pub realtime_priority: u8,
}

fn default_socket_buffer_bytes() -> usize {
    4 << 20
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
