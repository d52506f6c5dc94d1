//! Recovery by hand: what is stuck (interpreters held by an offer or a call, with the node that
//! holds them and whether its lease is alive) and the forced release of an interpreter or end of
//! a call, shared by the HTTP API (`api::admin`) and the `hotline-bridge admin …` command. The
//! pool does the change and writes the audit event naming who (`pool::recovery`); the node that
//! holds the call, if alive, is told over the bus to take the interpreter out or hang up.

use crate::config::Settings;
use crate::domain::{CallId, InterpreterId, Language, Millis, NodeId, OfferId};
use crate::drivers::bus::{self, BusMessage};
use crate::pool::{
    Engagement, ForcedEnd, ForcedRelease, InterpreterPool, OfferState, PoolError, Status,
};
use serde::Serialize;
use utoipa::ToSchema;

/// Exit status of `admin` when the input is bad: a malformed or unknown id, no Redis configured.
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit status of `admin release` / `end-call` when there was nothing to do (not held, already
/// ended).
pub const EXIT_NOTHING_TO_DO: u8 = 3;
/// Longest name recorded as who did it.
pub const MAX_BY_CHARS: usize = 64;

/// What is held now, for an administrator.
#[derive(Debug, Serialize, ToSchema)]
pub struct StuckReport {
    /// The time the report was made (Unix ms).
    pub now: Millis,
    pub nodes: Vec<NodeView>,
    /// Every interpreter offered or busy; `stuck` when their node's lease is not alive.
    pub interpreters: Vec<HeldView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NodeView {
    #[schema(value_type = String)]
    pub node: NodeId,
    pub lease_expires_at: Millis,
    pub alive: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HeldView {
    #[schema(value_type = String)]
    pub interpreter: InterpreterId,
    #[schema(value_type = String)]
    pub status: Status,
    #[schema(value_type = Option<String>)]
    pub offer: Option<OfferId>,
    #[schema(value_type = Option<String>)]
    pub offer_state: Option<OfferState>,
    #[schema(value_type = Option<String>)]
    pub call: Option<CallId>,
    #[schema(value_type = Option<String>)]
    pub language: Option<Language>,
    #[schema(value_type = Option<String>)]
    pub node: Option<NodeId>,
    pub node_alive: bool,
    /// Since when (offer made, or accepted), Unix ms, and for how long.
    pub since: Millis,
    pub held_for_ms: u64,
    /// Held by a node whose lease is not alive (or by no known node): the sweep frees it within
    /// a sweep period; if it does not, release it by hand.
    pub stuck: bool,
}

impl HeldView {
    fn new(e: Engagement, now: Millis) -> Self {
        let alive = e.node_alive(now);
        Self {
            held_for_ms: if e.since > 0 {
                now.saturating_sub(e.since)
            } else {
                0
            },
            node_alive: alive,
            stuck: !alive,
            interpreter: e.interpreter,
            status: e.status,
            offer: e.offer,
            offer_state: e.offer_state,
            call: e.call,
            language: e.language,
            node: e.node,
            since: e.since,
        }
    }
}

/// The report at `now`.
pub async fn stuck(pool: &dyn InterpreterPool, now: Millis) -> Result<StuckReport, PoolError> {
    let nodes = pool
        .leases()
        .await?
        .into_iter()
        .map(|l| NodeView {
            alive: l.alive(now),
            node: l.node,
            lease_expires_at: l.expires_at,
        })
        .collect();
    let interpreters = pool
        .engagements()
        .await?
        .into_iter()
        .map(|e| HeldView::new(e, now))
        .collect();
    Ok(StuckReport {
        now,
        nodes,
        interpreters,
    })
}

/// Who did it, as recorded: at most `MAX_BY_CHARS` printable characters.
pub fn checked_by(by: &str) -> Result<String, String> {
    let ok = !by.is_empty()
        && by.chars().count() <= MAX_BY_CHARS
        && by.chars().all(|c| !c.is_control() && !c.is_whitespace());
    if ok {
        Ok(by.to_owned())
    } else {
        Err(format!(
            "--by {by:?}: a name of 1-{MAX_BY_CHARS} characters without spaces or control characters"
        ))
    }
}

/// One text line per node and per held interpreter, for the command line.
pub fn render(report: &StuckReport) -> String {
    let now = report.now;
    let mut out = String::new();
    out.push_str("nodes:\n");
    if report.nodes.is_empty() {
        out.push_str("  (none holds a lease)\n");
    }
    for n in &report.nodes {
        let left = n.lease_expires_at as i64 - now as i64;
        let state = if n.alive {
            format!("alive, lease runs out in {:.1} s", left as f64 / 1000.0)
        } else {
            format!("LOST, lease ran out {:.1} s ago", -left as f64 / 1000.0)
        };
        out.push_str(&format!("  {}  {state}\n", n.node));
    }
    out.push_str("interpreters held:\n");
    if report.interpreters.is_empty() {
        out.push_str("  (none)\n");
    }
    for h in &report.interpreters {
        let or_none = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        out.push_str(&format!(
            "  {}  {}  for {:.0} s  call {}  offer {}  node {} ({}){}\n",
            h.interpreter,
            crate::metrics::status_label(h.status),
            h.held_for_ms as f64 / 1000.0,
            or_none(h.call.as_ref().map(|c| c.to_string())),
            or_none(h.offer.as_ref().map(|o| o.to_string())),
            or_none(h.node.map(|n| n.to_string())),
            if h.node_alive { "alive" } else { "lost" },
            if h.stuck { "  STUCK" } else { "" },
        ));
    }
    out
}

/// After a forced release: the node holding the call, if alive, takes the interpreter out of it.
pub fn send_out_message(r: &ForcedRelease) -> Option<(NodeId, BusMessage)> {
    match r {
        ForcedRelease::Released {
            call: Some(call),
            node: Some(node),
            ..
        } => Some((*node, BusMessage::SendOut { call: call.clone() })),
        _ => None,
    }
}

/// After a forced end: the node holding the call hangs it up.
pub fn end_call_message(call: &CallId, e: &ForcedEnd) -> (NodeId, BusMessage) {
    (e.node, BusMessage::EndCall { call: call.clone() })
}

/// `hotline-bridge admin …`: recovery on the configured Redis pool, without a running node.
#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// List the interpreters held by an offer or a call, with the node holding them and whether
    /// its lease is alive ("STUCK" when it is not).
    Stuck {
        /// Print JSON (the same shape as GET /api/admin/stuck).
        #[arg(long)]
        json: bool,
    },
    /// Free an interpreter whatever holds them (offer ended, available at once); audited.
    Release {
        /// The interpreter id, e.g. bfsu-pt-01.
        interpreter: String,
        /// Who does it, for the audit (default: the login name).
        #[arg(long)]
        by: Option<String>,
    },
    /// End a call: its record ends and every interpreter its offers hold is freed; audited.
    EndCall {
        /// The call id.
        call: String,
        /// Who does it, for the audit (default: the login name).
        #[arg(long)]
        by: Option<String>,
    },
}

/// Why an admin command failed: its message is one line; `code` is the exit status.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct AdminFailure {
    pub code: u8,
    pub message: String,
}

fn bad_input(message: impl Into<String>) -> AdminFailure {
    AdminFailure {
        code: EXIT_BAD_INPUT,
        message: message.into(),
    }
}

fn failed(e: impl std::fmt::Display) -> AdminFailure {
    AdminFailure {
        code: 1,
        message: e.to_string(),
    }
}

/// Runs one admin command against the settings' Redis; prints what it did on stdout.
pub async fn run(settings: &Settings, cmd: AdminCommand) -> Result<(), AdminFailure> {
    if !settings.redis.is_set() {
        return Err(bad_input(
            "redis.url is not set: the admin commands work on the shared Redis pool \
             (set HOTLINE__REDIS__URL, or redis.sentinels and redis.sentinel_master)",
        ));
    }
    let pool = crate::pool::RedisPool::open(&settings.redis).map_err(failed)?;
    let now = crate::drivers::clock::now_ms();
    let by = |given: Option<String>| {
        let name = given
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "unknown".into());
        checked_by(&name)
            .map(|n| format!("cli:{n}"))
            .map_err(bad_input)
    };
    match cmd {
        AdminCommand::Stuck { json } => {
            let report = stuck(&pool, now).await.map_err(failed)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report).map_err(failed)?);
            } else {
                print!("{}", render(&report));
            }
            Ok(())
        }
        AdminCommand::Release {
            interpreter,
            by: who,
        } => {
            let who = by(who)?;
            let id = InterpreterId::parse(&interpreter).map_err(|e| bad_input(e.to_string()))?;
            let r = match pool.force_release(&id, now, &who).await {
                Err(PoolError::UnknownInterpreter(_)) => {
                    return Err(bad_input(format!("no interpreter {id} in the pool")))
                }
                r => r.map_err(failed)?,
            };
            if let ForcedRelease::NotHeld { status } = r {
                return Err(AdminFailure {
                    code: EXIT_NOTHING_TO_DO,
                    message: format!(
                        "{id} is {} (not offered or busy): nothing to release",
                        crate::metrics::status_label(status)
                    ),
                });
            }
            if let Some((node, msg)) = send_out_message(&r) {
                tell(settings, node, msg).await;
            }
            println!("released {id} (audited as {who})");
            Ok(())
        }
        AdminCommand::EndCall { call, by: who } => {
            let who = by(who)?;
            let id = CallId::parse(&call).map_err(|e| bad_input(e.to_string()))?;
            let Some(e) = pool.force_end_call(&id, now, &who).await.map_err(failed)? else {
                return Err(bad_input(format!("no call {id} in the pool")));
            };
            if !e.was_live && e.freed.is_empty() {
                return Err(AdminFailure {
                    code: EXIT_NOTHING_TO_DO,
                    message: format!("call {id} had already ended: nothing to do"),
                });
            }
            let (node, msg) = end_call_message(&id, &e);
            tell(settings, node, msg).await;
            let freed: Vec<String> = e.freed.iter().map(|f| f.0.to_string()).collect();
            println!(
                "ended call {id} (audited as {who}); interpreters freed: {}",
                if freed.is_empty() {
                    "none".into()
                } else {
                    freed.join(", ")
                }
            );
            Ok(())
        }
    }
}

/// Best effort: a node that is gone hears nothing, and the pool is already right.
async fn tell(settings: &Settings, node: NodeId, msg: BusMessage) {
    if let Err(e) = bus::publish_once(&settings.redis, node, msg).await {
        tracing::warn!(node = %node, error = %e, "node not told");
    }
}
