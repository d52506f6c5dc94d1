//! `RedisPool`'s node leases, call records, recovery of lost nodes and the administrator's forced
//! releases: one script each (`scripts/*.lua`, keys in `keys.rs`); this file sends them and reads
//! their answers. The decisions are the scripts'.

use super::super::redis_codec::{self as codec, Hash};
use super::{
    CallId, CallRecord, Engagement, ForcedEnd, ForcedRelease, InterpreterId, LeaseRenewal, Millis,
    NodeId, NodeLease, NodeSummary, PoolError, Recovered, RedisPool, Script, ENDED_OFFER_KEPT_MS,
};
use crate::pool::Status;

/// Lost nodes one `sweep_lost` script frees at most; `sweep_lost` repeats until none is left.
const SWEEP_LOST_BATCH: usize = 16;

pub(super) struct NodeScripts {
    renew_lease: Script,
    sweep_lost: Script,
    call_open: Script,
    call_end: Script,
    engagements: Script,
    force_release: Script,
    force_end_call: Script,
}

impl NodeScripts {
    pub(super) fn new() -> Self {
        Self {
            renew_lease: script!("renew_lease.lua"),
            sweep_lost: script!("sweep_lost.lua"),
            call_open: script!("call_open.lua"),
            call_end: script!("call_end.lua"),
            engagements: script!("engagements.lua"),
            force_release: script!("force_release.lua"),
            force_end_call: script!("force_end_call.lua"),
        }
    }
}

/// `''` = none, else parsed.
fn opt<T: std::str::FromStr>(what: &str, s: &str) -> Result<Option<T>, PoolError>
where
    T::Err: std::fmt::Display,
{
    if s.is_empty() {
        Ok(None)
    } else {
        codec::parse(what, s).map(Some)
    }
}

fn status(s: &str) -> Result<Status, PoolError> {
    Ok(match s {
        "offline" => Status::Offline,
        "available" => Status::Available,
        "offered" => Status::Offered,
        "busy" => Status::Busy,
        "paused" => Status::Paused,
        other => return Err(codec::corrupt("status", format!("{other:?}"))),
    })
}

/// A lease score: Redis writes a sorted set's score as a double.
fn score(what: &str, s: &str) -> Result<Millis, PoolError> {
    let v: f64 = codec::parse(what, s)?;
    Ok(v as Millis)
}

fn call_record(call: &CallId, h: &Hash) -> Result<CallRecord, PoolError> {
    let ended = (codec::required(h, "state")? == "ended")
        .then(|| codec::millis(h, "ended"))
        .transpose()?;
    Ok(CallRecord {
        call: call.clone(),
        node: codec::parse("node", codec::required(h, "node")?)?,
        created: codec::millis(h, "created")?,
        token_sha256: h.get("token").cloned().unwrap_or_default(),
        ended,
        why: h.get("why").cloned().unwrap_or_default(),
    })
}

/// `sweep_lost`'s flat answer, less its last element (the count of nodes swept).
fn recovered(flat: &[String]) -> Result<Vec<Recovered>, PoolError> {
    let mut out = Vec::new();
    let mut rest = flat;
    while let Some(tag) = rest.first() {
        match (tag.as_str(), rest) {
            ("offer", [_, node, oid, interp, call, lang, created, deadline, was, more @ ..]) => {
                let fields = [interp, call, lang, created, deadline].map(|s| s.to_owned());
                out.push(Recovered::Offer {
                    node: codec::parse("node", node)?,
                    offer: codec::claimed(&codec::parse("offer id", oid)?, &fields)?,
                    was: codec::offer_state(was)?,
                });
                rest = more;
            }
            ("call", [_, node, call, more @ ..]) => {
                out.push(Recovered::Call {
                    node: codec::parse("node", node)?,
                    call: codec::parse("call", call)?,
                });
                rest = more;
            }
            _ => return Err(codec::unexpected("sweep_lost", flat)),
        }
    }
    Ok(out)
}

impl RedisPool {
    pub(super) async fn renew_lease_in_redis(
        &self,
        node: NodeId,
        now: Millis,
        ttl_ms: u64,
    ) -> Result<LeaseRenewal, PoolError> {
        let reply: String = self
            .invoke(
                "renew_lease",
                &self.node_scripts.renew_lease,
                self.keys.nodes(),
                |inv| {
                    inv.arg(node.to_string()).arg(now).arg(ttl_ms);
                },
            )
            .await?;
        match reply.as_str() {
            "renewed" => Ok(LeaseRenewal::Renewed),
            "started" => Ok(LeaseRenewal::Started),
            _ => Err(codec::unexpected("renew_lease", &[reply])),
        }
    }

    /// One hash field per node: the latest summary as JSON (its own `expires_at` inside).
    pub(super) async fn publish_summary_in_redis(
        &self,
        summary: &NodeSummary,
    ) -> Result<(), PoolError> {
        let json = serde_json::to_string(summary)
            .map_err(|e| codec::unexpected("publish_summary", &[e.to_string()]))?;
        let (key, node) = (self.keys.summaries(), summary.node.to_string());
        let mut c = self.conn.clone();
        self.run("publish_summary", async move {
            ::redis::cmd("HSET")
                .arg(key)
                .arg(node)
                .arg(json)
                .query_async::<()>(&mut c)
                .await
        })
        .await
    }

    /// Every field read at once; run-out ones (a node that stopped) are deleted as they are seen,
    /// and a field that does not parse is skipped (and logged), never an error for the screen.
    pub(super) async fn summaries_in_redis(
        &self,
        now: Millis,
    ) -> Result<Vec<NodeSummary>, PoolError> {
        let key = self.keys.summaries();
        let mut c = self.conn.clone();
        let k = key.clone();
        let all: Vec<(String, String)> = self
            .run("summaries", async move {
                ::redis::cmd("HGETALL").arg(k).query_async(&mut c).await
            })
            .await?;
        let mut live = Vec::new();
        let mut gone = Vec::new();
        for (node, json) in all {
            match serde_json::from_str::<NodeSummary>(&json) {
                Ok(s) if s.expires_at > now => live.push(s),
                Ok(_) => gone.push(node),
                Err(e) => {
                    tracing::warn!(node = %node, error = %e, "a node summary that does not parse")
                }
            }
        }
        if !gone.is_empty() {
            let mut c = self.conn.clone();
            // Best effort: the next reader drops them again if this fails.
            let _ = self
                .run("summaries", async move {
                    ::redis::cmd("HDEL")
                        .arg(key)
                        .arg(gone)
                        .query_async::<()>(&mut c)
                        .await
                })
                .await;
        }
        live.sort_by_key(|s| s.node);
        Ok(live)
    }

    pub(super) async fn leases_in_redis(&self) -> Result<Vec<NodeLease>, PoolError> {
        let key = self.keys.nodes();
        let mut c = self.conn.clone();
        let flat: Vec<String> = self
            .run("leases", async move {
                ::redis::cmd("ZRANGE")
                    .arg(key)
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES")
                    .query_async(&mut c)
                    .await
            })
            .await?;
        let mut leases = flat
            .chunks_exact(2)
            .map(|p| {
                Ok(NodeLease {
                    node: codec::parse("node", &p[0])?,
                    expires_at: score("lease", &p[1])?,
                })
            })
            .collect::<Result<Vec<_>, PoolError>>()?;
        leases.sort_by_key(|l| l.node);
        Ok(leases)
    }

    pub(super) async fn call_opened_in_redis(
        &self,
        call: &CallId,
        node: NodeId,
        token_sha256: &str,
        now: Millis,
    ) -> Result<(), PoolError> {
        let _: String = self
            .invoke(
                "call_opened",
                &self.node_scripts.call_open,
                self.keys.nodes(),
                |inv| {
                    inv.arg(call.as_str())
                        .arg(node.to_string())
                        .arg(now)
                        .arg(token_sha256);
                },
            )
            .await?;
        Ok(())
    }

    pub(super) async fn call_ended_in_redis(
        &self,
        call: &CallId,
        now: Millis,
        why: &str,
    ) -> Result<Option<CallRecord>, PoolError> {
        let reply: Option<Vec<String>> = self
            .invoke(
                "call_ended",
                &self.node_scripts.call_end,
                self.keys.nodes(),
                |inv| {
                    inv.arg(call.as_str())
                        .arg(now)
                        .arg(why)
                        .arg(ENDED_OFFER_KEPT_MS);
                },
            )
            .await?;
        reply
            .map(|flat| call_record(call, &codec::pairs(&flat)))
            .transpose()
    }

    pub(super) async fn call_record_in_redis(
        &self,
        call: &CallId,
    ) -> Result<Option<CallRecord>, PoolError> {
        let h = self.hash("call_record", self.keys.call(call)).await?;
        if h.is_empty() {
            return Ok(None);
        }
        call_record(call, &h).map(Some)
    }

    pub(super) async fn sweep_lost_in_redis(
        &self,
        now: Millis,
    ) -> Result<Vec<Recovered>, PoolError> {
        let mut out = Vec::new();
        loop {
            let mut c = self.conn.clone();
            let mut inv = self.node_scripts.sweep_lost.key(self.keys.nodes());
            inv.arg(self.keys.base())
                .arg(now)
                .arg(ENDED_OFFER_KEPT_MS)
                .arg(SWEEP_LOST_BATCH);
            let mut flat: Vec<String> = self
                .run("sweep_lost", async move { inv.invoke_async(&mut c).await })
                .await?;
            let nodes: usize = match flat.pop() {
                Some(n) => codec::parse("sweep_lost", &n)?,
                None => return Err(codec::unexpected("sweep_lost", &flat)),
            };
            out.extend(recovered(&flat)?);
            if nodes < SWEEP_LOST_BATCH {
                return Ok(out);
            }
        }
    }

    pub(super) async fn engagements_in_redis(&self) -> Result<Vec<Engagement>, PoolError> {
        let flat: Vec<String> = self
            .invoke(
                "engagements",
                &self.node_scripts.engagements,
                self.keys.ids(),
                |_| {},
            )
            .await?;
        if flat.len() % 9 != 0 {
            return Err(codec::unexpected("engagements", &flat));
        }
        let mut out = flat
            .chunks_exact(9)
            .map(|f| {
                Ok(Engagement {
                    interpreter: codec::interpreter_id(&f[0])?,
                    status: status(&f[1])?,
                    offer: opt("offer", &f[2])?,
                    offer_state: (!f[3].is_empty())
                        .then(|| codec::offer_state(&f[3]))
                        .transpose()?,
                    call: opt("call", &f[4])?,
                    language: opt("lang", &f[5])?,
                    node: opt("node", &f[6])?,
                    since: opt("since", &f[7])?.unwrap_or(0),
                    lease_expires_at: (!f[8].is_empty())
                        .then(|| score("lease", &f[8]))
                        .transpose()?,
                })
            })
            .collect::<Result<Vec<_>, PoolError>>()?;
        out.sort_by(|a, b| a.interpreter.cmp(&b.interpreter));
        Ok(out)
    }

    pub(super) async fn force_release_in_redis(
        &self,
        id: &InterpreterId,
        now: Millis,
        by: &str,
    ) -> Result<ForcedRelease, PoolError> {
        let reply: Vec<String> = self
            .invoke(
                "force_release",
                &self.node_scripts.force_release,
                self.keys.ids(),
                |inv| {
                    inv.arg((id.as_str(), now, ENDED_OFFER_KEPT_MS, by));
                },
            )
            .await?;
        match reply.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["unknown"] => Err(PoolError::UnknownInterpreter(id.clone())),
            ["not_held", s] => Ok(ForcedRelease::NotHeld { status: status(s)? }),
            ["released", was, offer, offer_was, call, node] => Ok(ForcedRelease::Released {
                was: status(was)?,
                offer: opt("offer", offer)?,
                offer_was: (!offer_was.is_empty())
                    .then(|| codec::offer_state(offer_was))
                    .transpose()?,
                call: opt("call", call)?,
                node: opt("node", node)?,
            }),
            _ => Err(codec::unexpected("force_release", &reply)),
        }
    }

    pub(super) async fn force_end_call_in_redis(
        &self,
        call: &CallId,
        now: Millis,
        by: &str,
    ) -> Result<Option<ForcedEnd>, PoolError> {
        let reply: Vec<String> = self
            .invoke(
                "force_end_call",
                &self.node_scripts.force_end_call,
                self.keys.nodes(),
                |inv| {
                    inv.arg((call.as_str(), now, ENDED_OFFER_KEPT_MS, by));
                },
            )
            .await?;
        match &reply[..] {
            [u] if u == "unknown" => Ok(None),
            [tag, node, was, freed @ ..] if tag == "ended" && freed.len() % 3 == 0 => {
                Ok(Some(ForcedEnd {
                    node: codec::parse("node", node)?,
                    was_live: was == "live",
                    freed: freed
                        .chunks_exact(3)
                        .map(|f| {
                            Ok((
                                codec::interpreter_id(&f[0])?,
                                codec::parse("offer id", &f[1])?,
                                codec::offer_state(&f[2])?,
                            ))
                        })
                        .collect::<Result<_, PoolError>>()?,
                }))
            }
            _ => Err(codec::unexpected("force_end_call", &reply)),
        }
    }
}
