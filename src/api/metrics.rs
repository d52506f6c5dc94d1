//! `GET /metrics`: Prometheus text format (see `crate::metrics` for what is counted). The gauges
//! are read at each scrape: calls waiting and live on this node, interpreters by language and
//! status from the pool (shared by every node), the media shards' counters (summed and per shard), and whether this
//! node is draining. Counts only: no call ids, names or tokens.

use super::error::ApiError;
use crate::api::state::AppState;
use crate::drivers::clock::now_ms;
use crate::metrics::{self as m, STATUSES};
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape))
}

async fn scrape(State(state): State<AppState>) -> Response {
    let Some(handle) = m::handle() else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics_off",
            "metrics are off: another metrics recorder is installed in this process",
        )
        .into_response();
    };
    let waiting = state.calls.queue().borrow().len();
    metrics::gauge!(m::CALLS_WAITING).set(waiting as f64);
    metrics::gauge!(m::CALLS_LIVE).set(state.calls.live().len() as f64);
    m::draining(state.lifecycle.draining().is_some());
    if let Some(r) = &state.records {
        metrics::gauge!(m::RECORDS_QUEUED).set(r.queued() as f64);
    }
    interpreters(&state).await;
    match state.media.stats().await {
        Ok(s) => {
            metrics::gauge!(m::MEDIA_PEERS).set(s.forwarder.peers as f64);
            metrics::counter!(m::MEDIA_RTP_IN).absolute(s.forwarder.rtp_in);
            metrics::counter!(m::MEDIA_RTP_FORWARDED).absolute(s.forwarder.rtp_forwarded);
            metrics::counter!(m::MEDIA_SEND_ERRORS).absolute(s.send_errors);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: no media figures"),
    }
    match state.media.shard_stats().await {
        Ok(shards) => {
            for s in shards {
                let label = [("shard", s.shard.to_string())];
                metrics::gauge!(m::MEDIA_SHARD_CALLS, &label).set(s.calls as f64);
                metrics::gauge!(m::MEDIA_SHARD_PEERS, &label).set(s.stats.live_peers as f64);
                metrics::counter!(m::MEDIA_SHARD_RTP_IN, &label).absolute(s.stats.forwarder.rtp_in);
                metrics::counter!(m::MEDIA_SHARD_RTP_FORWARDED, &label)
                    .absolute(s.stats.forwarder.rtp_forwarded);
                metrics::gauge!(m::MEDIA_SHARD_BUSY, &label)
                    .set(s.stats.busy_permille as f64 / 1000.0);
                metrics::gauge!(m::MEDIA_SHARD_REALTIME, &label)
                    .set(f64::from(s.stats.realtime_shards));
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: no media shard figures"),
    }
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        handle.render(),
    )
        .into_response()
}

/// Sets `hotline_interpreters{language, status}` for every served language and status. A pool
/// that does not answer leaves the last figures (and says so in the log).
async fn interpreters(state: &AppState) {
    let now = now_ms();
    for language in state.settings.languages.served() {
        let states = match state.pool.states_for(language, now).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "metrics: interpreters not counted");
                return;
            }
        };
        let mut by_status: HashMap<_, usize> = HashMap::new();
        for s in &states {
            *by_status.entry(s.status).or_default() += 1;
        }
        for status in STATUSES {
            metrics::gauge!(m::INTERPRETERS,
                "language" => language.as_str().to_owned(),
                "status" => m::status_label(status))
            .set(by_status.get(&status).copied().unwrap_or(0) as f64);
        }
    }
}
