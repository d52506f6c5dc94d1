//! Prometheus metrics, served at `GET /metrics` (api::metrics), for the people who watch a
//! 24-hour hotline: every audit event counted by kind and language where it is written, the
//! time to interpreter as a histogram whose buckets include the 20 s and 30 s service levels,
//! ratings by stars, and (set at each scrape) calls waiting and live, interpreters by language
//! and status, and the media loop's counters.
//!
//! Recorded through the `metrics` facade into one process-wide Prometheus recorder, installed on
//! first use; with several app instances in one process (tests) they share it.

use crate::domain::Language;
use crate::pool::{PoolEvent, Status};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

pub const EVENTS: &str = "hotline_events_total";
pub const TIME_TO_INTERPRETER: &str = "hotline_time_to_interpreter_seconds";
pub const RATINGS: &str = "hotline_ratings_total";
pub const CALLS_WAITING: &str = "hotline_calls_waiting";
pub const CALLS_LIVE: &str = "hotline_calls_live";
pub const INTERPRETERS: &str = "hotline_interpreters";
pub const MEDIA_PEERS: &str = "hotline_media_peers";
pub const MEDIA_RTP_IN: &str = "hotline_media_rtp_in_total";
pub const MEDIA_RTP_FORWARDED: &str = "hotline_media_rtp_forwarded_total";
pub const MEDIA_SEND_ERRORS: &str = "hotline_media_send_errors_total";
pub const MEDIA_SHARD_CALLS: &str = "hotline_media_shard_calls";
pub const MEDIA_SHARD_PEERS: &str = "hotline_media_shard_peers";
pub const MEDIA_SHARD_RTP_IN: &str = "hotline_media_shard_rtp_in_total";
pub const MEDIA_SHARD_RTP_FORWARDED: &str = "hotline_media_shard_rtp_forwarded_total";
pub const MEDIA_SHARD_BUSY: &str = "hotline_media_shard_busy_ratio";
pub const MEDIA_SHARD_REALTIME: &str = "hotline_media_shard_realtime";
pub const CALLS_REFUSED: &str = "hotline_calls_refused_total";
pub const NODE_RECOVERIES: &str = "hotline_node_recoveries_total";
pub const NODE_LEASE_LOST: &str = "hotline_node_lease_lost_total";
pub const NODE_LEASE_RENEW_FAILURES: &str = "hotline_node_lease_renew_failures_total";
/// Pool writes the dispatcher repeats until the pool answers (Redis down, or a failover).
pub const UNSETTLED_WRITES: &str = "hotline_dispatch_unsettled_writes";
pub const DRAINING: &str = "hotline_draining";
pub const DRAIN_CALLS_ENDED: &str = "hotline_drain_calls_ended_total";
pub const LIMITED: &str = "hotline_limited_total";
pub const RECORDS_WRITTEN: &str = "hotline_records_written_total";
pub const RECORDS_RETRIES: &str = "hotline_records_retries_total";
pub const RECORDS_DROPPED: &str = "hotline_records_dropped_total";
pub const RECORDS_QUEUED: &str = "hotline_records_queued";
pub const RECORDING_PACKETS: &str = "hotline_recording_packets_total";
pub const RECORDING_DROPPED: &str = "hotline_recording_packets_dropped_total";
pub const RECORDINGS_SWEPT: &str = "hotline_recordings_swept_total";

/// Seconds; 20 and 30 are the service levels the hotline reports (answered within 20 s / 30 s).
const TTI_BUCKETS: &[f64] = &[5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 120.0, 300.0];

/// Every status, so a scrape sets each language's count for all of them (zeros included).
pub const STATUSES: [Status; 6] = [
    Status::Offline,
    Status::Available,
    Status::Offered,
    Status::Busy,
    Status::WrapUp,
    Status::Paused,
];

/// The process's Prometheus recorder, installed on the first call; `None` if another recorder
/// was installed first (metrics are then not served, and nothing else changes).
pub fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let installed = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(TIME_TO_INTERPRETER.into()), TTI_BUCKETS)
                .and_then(|b| b.install_recorder());
            match installed {
                Ok(h) => {
                    describe();
                    Some(h)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed: /metrics is off");
                    None
                }
            }
        })
        .as_ref()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        EVENTS,
        "Audit events (request, offer, accept, decline, expire, escalate, join, leave, …) by kind and language"
    );
    describe_histogram!(
        TIME_TO_INTERPRETER,
        Unit::Seconds,
        "From the interpreter request to an interpreter's accept, by language"
    );
    describe_counter!(RATINGS, "Callers' ratings of their calls, by stars");
    describe_gauge!(CALLS_WAITING, "Calls waiting for an operator on this node");
    describe_gauge!(CALLS_LIVE, "Calls on this node that have not ended");
    describe_gauge!(
        INTERPRETERS,
        "Registered interpreters by language and live status"
    );
    describe_gauge!(MEDIA_PEERS, "WebRTC peers in this node's media loop");
    describe_counter!(MEDIA_RTP_IN, "RTP packets received by the media loop");
    describe_counter!(
        MEDIA_RTP_FORWARDED,
        "RTP packets forwarded to listeners by the media loop"
    );
    describe_counter!(
        MEDIA_SEND_ERRORS,
        "Datagrams the media socket refused to send"
    );
    describe_gauge!(MEDIA_SHARD_CALLS, "Calls placed on each media shard");
    describe_gauge!(
        MEDIA_SHARD_PEERS,
        "WebRTC peers connected on each media shard"
    );
    describe_counter!(
        MEDIA_SHARD_RTP_IN,
        "RTP packets received by each media shard"
    );
    describe_counter!(
        MEDIA_SHARD_RTP_FORWARDED,
        "RTP packets forwarded to listeners by each media shard"
    );
    describe_gauge!(
        MEDIA_SHARD_BUSY,
        "Share of the last second each media shard's loop spent working (1 = saturated)"
    );
    describe_gauge!(
        MEDIA_SHARD_REALTIME,
        "1 when the media shard's thread runs at real-time priority (media.realtime_priority granted), else 0"
    );
    describe_counter!(
        NODE_RECOVERIES,
        "What this node's sweeps took back from nodes whose lease ran out: offers (each frees an interpreter) and calls, by what"
    );
    describe_counter!(
        NODE_LEASE_LOST,
        "Times this node found its own lease had run out and its calls freed by another node"
    );
    describe_counter!(
        NODE_LEASE_RENEW_FAILURES,
        "Lease renewals that failed (the pool unreachable); the lease runs out after node.lease_ttl_ms"
    );
    describe_counter!(
        CALLS_REFUSED,
        "New calls refused by a cap on waiting calls (reason: per_address, total)"
    );
    describe_gauge!(
        UNSETTLED_WRITES,
        "Pool writes (withdrawals, releases) this node repeats until Redis answers again"
    );
    describe_counter!(
        crate::pool::link::MASTER_CHANGES,
        "Times a new Redis master was found through the sentinels"
    );
    describe_counter!(
        crate::pool::UNREPLICATED_WRITES,
        "Pool writes that went on without the replicas redis.replica_acks asks for"
    );
    describe_gauge!(
        DRAINING,
        "1 while this node drains for shutdown (no new calls or offers), else 0"
    );
    describe_counter!(
        LIMITED,
        "Requests, connections and messages refused by a limit of [limits] or [calls], by limit"
    );
    describe_counter!(
        DRAIN_CALLS_ENDED,
        "Calls this node ended because its drain time ran out (or a second signal came)"
    );
    describe_counter!(
        RECORDS_WRITTEN,
        "Records (ended calls, offers, offer ends, ratings) this node wrote to the record store"
    );
    describe_counter!(
        RECORDS_RETRIES,
        "Record batches written again after the record store failed (unreachable or busy)"
    );
    describe_counter!(
        RECORDS_DROPPED,
        "Records lost, by reason: full (the queue was at records.queue), refused (the database rejected it), stopped (still queued when the node stopped)"
    );
    describe_gauge!(
        RECORDS_QUEUED,
        "Records waiting in this node's queue for the record store"
    );
    describe_counter!(
        RECORDING_PACKETS,
        "Opus packets written to call recordings (gaps filled included)"
    );
    describe_counter!(
        RECORDING_DROPPED,
        "Opus packets not recorded, by reason: full (the media loop found the writer's queue full; it never waits), write (the file could not be written)"
    );
    describe_counter!(
        RECORDINGS_SWEPT,
        "Recordings (file and row) deleted after records.retention_days"
    );
}

/// The `language` label: the code, or "none" for events without one.
fn language_label(language: Option<Language>) -> String {
    language.map_or_else(|| "none".to_owned(), |l| l.as_str().to_owned())
}

/// Counts one audit event (called where it is written to the audit stream).
pub fn event(e: &PoolEvent) {
    metrics::counter!(EVENTS, "kind" => e.kind.as_str(), "language" => language_label(e.language))
        .increment(1);
}

/// One request served: `waited_ms` from the request to the accept.
pub fn time_to_interpreter(language: Language, waited_ms: u64) {
    metrics::histogram!(TIME_TO_INTERPRETER, "language" => language.as_str().to_owned())
        .record(waited_ms as f64 / 1000.0);
}

/// One thing a sweep took back from a lost node: `what` is "offer" or "call".
pub fn recovered(what: &'static str) {
    metrics::counter!(NODE_RECOVERIES, "what" => what).increment(1);
}

pub fn lease_lost() {
    metrics::counter!(NODE_LEASE_LOST).increment(1);
}

pub fn lease_renew_failed() {
    metrics::counter!(NODE_LEASE_RENEW_FAILURES).increment(1);
}

/// One new call refused by a waiting-call cap (`per_address` or `total`).
pub fn call_refused(reason: &'static str) {
    metrics::counter!(CALLS_REFUSED, "reason" => reason).increment(1);
}

/// One request, connection or message refused by the limit named `limit` (a `[limits]` key
/// without its unit, e.g. `connections_per_address`, `ice_candidates_per_offer`).
pub fn limited(limit: &'static str) {
    metrics::counter!(LIMITED, "limit" => limit).increment(1);
}

/// One caller's rating.
pub fn rating(stars: u8) {
    metrics::counter!(RATINGS, "stars" => stars.to_string()).increment(1);
}

/// This node drains (or not).
pub fn draining(on: bool) {
    metrics::gauge!(DRAINING).set(if on { 1.0 } else { 0.0 });
}

/// Calls ended by the drain's deadline.
pub fn drain_calls_ended(n: usize) {
    metrics::counter!(DRAIN_CALLS_ENDED).increment(n as u64);
}

/// `n` records written to the record store.
pub fn records_written(n: usize) {
    metrics::counter!(RECORDS_WRITTEN).increment(n as u64);
}

/// One record batch to be written again.
pub fn records_retried() {
    metrics::counter!(RECORDS_RETRIES).increment(1);
}

/// `n` records lost: `reason` is "full", "refused" or "stopped".
pub fn records_dropped(reason: &'static str, n: usize) {
    metrics::counter!(RECORDS_DROPPED, "reason" => reason).increment(n as u64);
}

/// `n` packets written to recordings.
pub fn recording_packets(n: u64) {
    metrics::counter!(RECORDING_PACKETS).increment(n);
}

/// `n` packets not recorded: `reason` is "full" or "write".
pub fn recording_dropped(reason: &'static str, n: u64) {
    metrics::counter!(RECORDING_DROPPED, "reason" => reason).increment(n);
}

/// `n` recordings deleted by the retention sweep.
pub fn recordings_swept(n: usize) {
    metrics::counter!(RECORDINGS_SWEPT).increment(n as u64);
}

/// The `status` label of an interpreter status.
pub fn status_label(s: Status) -> &'static str {
    match s {
        Status::Offline => "offline",
        Status::Available => "available",
        Status::Offered => "offered",
        Status::Busy => "busy",
        Status::WrapUp => "wrap_up",
        Status::Paused => "paused",
    }
}
