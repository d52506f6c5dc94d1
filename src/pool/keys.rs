//! Every Redis key of the pool, in one place. Builds names only; never talks to Redis.
//!
//! All keys start with `{<prefix>}:`, one hash tag, so every key of a pool lives in one Cluster
//! slot and every multi-key script is Cluster-safe. Scripts get the tagged base (`{hb}:`) as
//! `ARGV[1]` and build the per-interpreter, per-language and per-offer names themselves; `KEYS[1]`
//! is always a fixed key of the same slot, so a Cluster client routes the script to that slot.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `{p}:ids` | SET | every interpreter id in the pool |
//! | `{p}:interp:<id>` | HASH | one interpreter: `profile` (JSON, without token), `token` (SHA-256 hex, absent = none), `langs` (comma-separated codes, the profile's languages), `status` (`offline`/`available`/`offered`/`busy`/`paused`; wrap-up is `available` with `idle_since` in the future), `last_seen`, `idle_since` (Unix ms), `offer`, `call` (absent = none), `missed` (consecutive expiries), `calls_today`, `calls_day` (the UTC day number `calls_today` counts) |
//! | `{p}:lang:<ll>` | SET | ids of interpreters who speak language `ll` (`states_for`) |
//! | `{p}:idle:<ll>` | ZSET | ids of interpreters who speak `ll` and whose status is `available`, scored by `idle_since` (a future score = in wrap-up); `claim` checks eligibility here |
//! | `{p}:offer:<offer_id>` | HASH | one offer: `call`, `interp`, `lang`, `created`, `deadline`, `node` (the node that made it, 16 hex digits), `state` (`pending`/`accepted`/`declined`/`expired`/`cancelled`/`released`), `accepted` (Unix ms, once accepted), `ended` (Unix ms, once ended); an ended offer's key expires after [`ENDED_OFFER_KEPT_MS`] |
//! | `{p}:deadlines` | ZSET | ids of pending offers, scored by deadline (`sweep` reads it) |
//! | `{p}:nodes` | ZSET | node leases: node ids (16 hex digits) scored by when the lease runs out (Unix ms); `sweep_lost` takes the expired ones and removes them |
//! | `{p}:node_offers:<node>` | SET | ids of the live (pending or accepted) offers the node made |
//! | `{p}:node_calls:<node>` | SET | ids of the live calls the node holds |
//! | `{p}:call:<call_id>` | HASH | one call's record: `node`, `created` (Unix ms), `token` (SHA-256 hex of the caller token), `state` (`live`/`ended`), `ended` (Unix ms), `why` (`hung_up`, `node_lost`, `admin_end_call`, …); an ended call's key expires after [`ENDED_OFFER_KEPT_MS`] |
//! | `{p}:bus` | pub/sub channel | not a key: the node bus (`drivers::bus`), JSON messages `{from, to, kind, …}` between the nodes sharing this pool |
//! | `{p}:events` | STREAM | audit events, fields `kind`, `at`, `call_id`, `interpreter_id`, `language`, `offer_id`, `detail` (absent = none), trimmed to about [`EVENTS_KEPT`] entries |
//!
//! Invariants the scripts keep: an interpreter is in `idle:<ll>` exactly when its status is
//! `available` and it speaks `ll`; an offer is in `deadlines` exactly while it is pending; an
//! interpreter's `offer` names its one live (pending or accepted) offer; an offer is in
//! `node_offers:<node>` exactly while it is live, a call in `node_calls:<node>` exactly while its
//! record is live.

use crate::domain::{CallId, InterpreterId, Language, NodeId, OfferId};

pub use super::ENDED_OFFER_KEPT_MS;

/// Approximate length of the events stream (`XADD … MAXLEN ~`).
pub const EVENTS_KEPT: usize = 100_000;

/// Key names of one pool (one prefix).
#[derive(Debug, Clone)]
pub struct Keys {
    base: String,
}

impl Keys {
    /// `prefix` comes from `redis.key_prefix` (validated: letters, digits, `-`, `_`, `:`).
    pub fn new(prefix: &str) -> Self {
        Self {
            base: format!("{{{prefix}}}:"),
        }
    }

    /// `{prefix}:`, handed to every script as `ARGV[1]`.
    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn ids(&self) -> String {
        format!("{}ids", self.base)
    }

    pub fn interpreter(&self, id: &InterpreterId) -> String {
        format!("{}interp:{id}", self.base)
    }

    pub fn speakers(&self, language: Language) -> String {
        format!("{}lang:{language}", self.base)
    }

    pub fn idle(&self, language: Language) -> String {
        format!("{}idle:{language}", self.base)
    }

    pub fn offer(&self, id: &OfferId) -> String {
        format!("{}offer:{id}", self.base)
    }

    pub fn deadlines(&self) -> String {
        format!("{}deadlines", self.base)
    }

    pub fn nodes(&self) -> String {
        format!("{}nodes", self.base)
    }

    pub fn node_offers(&self, node: NodeId) -> String {
        format!("{}node_offers:{node}", self.base)
    }

    /// Each node's latest `NodeSummary` (JSON), by node id: the big screen's cluster figures.
    pub fn summaries(&self) -> String {
        format!("{}summaries", self.base)
    }

    pub fn node_calls(&self, node: NodeId) -> String {
        format!("{}node_calls:{node}", self.base)
    }

    pub fn call(&self, id: &CallId) -> String {
        format!("{}call:{id}", self.base)
    }

    /// The node bus's pub/sub channel (not a key; named here so every name is in one place).
    pub fn bus(&self) -> String {
        format!("{}bus", self.base)
    }

    pub fn events(&self) -> String {
        format!("{}events", self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_carries_the_one_hash_tag() {
        let k = Keys::new("hb");
        let id = InterpreterId::parse("bfsu-pt-01").expect("id");
        let offer = OfferId::parse("o1").expect("id");
        let pt = Language::parse("pt").expect("lang");
        let node = NodeId::new(7);
        let call = CallId::parse("c1").expect("id");
        for key in [
            k.nodes(),
            k.node_offers(node),
            k.node_calls(node),
            k.call(&call),
            k.ids(),
            k.interpreter(&id),
            k.speakers(pt),
            k.idle(pt),
            k.offer(&offer),
            k.deadlines(),
            k.events(),
        ] {
            assert!(key.starts_with("{hb}:"), "{key}");
        }
        assert_eq!(k.idle(pt), "{hb}:idle:pt");
        assert_eq!(k.interpreter(&id), "{hb}:interp:bfsu-pt-01");
        assert_eq!(k.node_calls(node), "{hb}:node_calls:0000000000000007");
    }

    #[test]
    fn the_scripts_trim_the_event_stream_as_the_pool_does() {
        let lib = include_str!("scripts/lib.lua");
        assert!(
            lib.contains(&format!("local EVENTS_KEPT = {EVENTS_KEPT}\n")),
            "scripts/lib.lua must mirror EVENTS_KEPT"
        );
    }
}
