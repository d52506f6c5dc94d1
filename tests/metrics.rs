//! `GET /metrics` in Prometheus text format, after a real dispatch (real redis-server, an
//! interpreter bot over a real WebSocket): the request and the accept are counted by language,
//! the time to interpreter lands in the histogram's buckets (20 s and 30 s among them, the
//! service levels), the live call and the interpreters by language and status are gauges, and
//! nothing in it names a call, a person or a token.
//!
//! One test in its own binary: the recorder is process-wide.
mod common;

use common::dispatch::{
    add_interpreter, answered_call, app_on, bot, on_request_settings, progress,
};
use common::metrics::sample;
use common::redis::TestRedis;
use hotline_bridge::domain::Level;
use hotline_bridge::testkit::interpreter_bot::Answer;
use serde_json::json;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);
/// Between scrapes while the accept is being written.
const POLL: Duration = Duration::from_millis(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_a_dispatch_by_language_without_naming_anyone() {
    let redis = TestRedis::start();
    let app = app_on(&redis, on_request_settings()).await;
    let token = add_interpreter(&app, "ana-lima", &["pt"], Level::Native).await;
    let _ana = bot(&app, &token, Answer::Accept, 1).await;
    let mut call = answered_call(&app, "pt").await;
    call.operator
        .send(json!({"type": "request_interpreter"}))
        .await;
    progress(&mut call.operator, "accepted").await;

    // Audit events are counted as they are written, just after the operator hears of them.
    let http = reqwest::Client::new();
    let deadline = Instant::now() + WAIT;
    let (content_type, text) = loop {
        let r = http
            .get(app.url("/metrics"))
            .send()
            .await
            .expect("GET /metrics");
        assert_eq!(r.status(), 200);
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = r.text().await.expect("body");
        let accepted = sample(
            &text,
            "hotline_events_total",
            &[("kind", "accept"), ("language", "pt")],
        );
        if accepted == Some(1.0) || Instant::now() > deadline {
            break (ct, text);
        }
        tokio::time::sleep(POLL).await;
    };
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let get = |name: &str, labels: &[(&str, &str)]| {
        sample(&text, name, labels)
            .unwrap_or_else(|| panic!("no {name}{labels:?} in /metrics:\n{text}"))
    };

    for kind in ["request", "offer", "accept"] {
        let events = get(
            "hotline_events_total",
            &[("kind", kind), ("language", "pt")],
        );
        assert_eq!(events, 1.0, "{kind} events");
    }
    // The bot answers at once: within the 20 s service level, and in the 30 s one.
    for le in ["20", "30", "+Inf"] {
        assert_eq!(
            get(
                "hotline_time_to_interpreter_seconds_bucket",
                &[("language", "pt"), ("le", le)]
            ),
            1.0,
            "bucket le={le}"
        );
    }
    assert_eq!(
        get(
            "hotline_time_to_interpreter_seconds_count",
            &[("language", "pt")]
        ),
        1.0
    );
    assert_eq!(get("hotline_calls_live", &[]), 1.0);
    assert_eq!(get("hotline_calls_waiting", &[]), 0.0);
    let interpreters = |language, status| {
        get(
            "hotline_interpreters",
            &[("language", language), ("status", status)],
        )
    };
    assert_eq!(interpreters("pt", "busy"), 1.0);
    assert_eq!(interpreters("pt", "available"), 0.0);
    // Every served language is there, with nobody registered.
    assert_eq!(interpreters("de", "available"), 0.0);
    get("hotline_media_rtp_forwarded_total", &[]);
    // Per media shard: calls placed, peers, packets, how busy its loop is.
    for name in [
        "hotline_media_shard_calls",
        "hotline_media_shard_peers",
        "hotline_media_shard_busy_ratio",
    ] {
        get(name, &[("shard", "0")]);
    }
    // Counts only: no call id, interpreter id or token.
    for secret in [call.call_id.as_str(), "ana-lima", token.as_str()] {
        assert!(!text.contains(secret), "/metrics names {secret}");
    }
}
