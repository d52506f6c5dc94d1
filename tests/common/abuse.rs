//! A real call in progress (caller and operator with WebRTC media over loopback) that abuse tests
//! keep checking on: whatever another client floods the service with, its audio keeps flowing.

use super::dispatch::{answered_call, hears_more, join_media, AnsweredCall};
use super::metrics::{samples_with, scrape};
use super::TestApp;
use hotline_bridge::sfu::peer::PeerConfig;
use hotline_bridge::testkit::TestPeer;

pub const CALLER_TAG: u32 = 1;
pub const OPERATOR_TAG: u32 = 2;

pub struct LiveCall {
    pub call: AnsweredCall,
    pub caller: TestPeer,
    pub operator: TestPeer,
}

impl LiveCall {
    /// A call in `language`, answered, with both sides' audio flowing.
    pub async fn start(app: &TestApp, language: &str) -> LiveCall {
        let config = PeerConfig::new().expect("peer config");
        let mut call = answered_call(app, language).await;
        let caller = join_media(&mut call.caller, &config, CALLER_TAG).await;
        let operator = join_media(&mut call.operator, &config, OPERATOR_TAG).await;
        let live = LiveCall {
            call,
            caller,
            operator,
        };
        live.still_flowing("before").await;
        live
    }

    /// Both sides hear each other, from now on (fresh packets, not old counters).
    pub async fn still_flowing(&self, when: &str) {
        hears_more(
            &self.operator,
            &[CALLER_TAG],
            &format!("the operator, {when}"),
        )
        .await;
        hears_more(
            &self.caller,
            &[OPERATOR_TAG],
            &format!("the caller, {when}"),
        )
        .await;
    }
}

/// The counter `hotline_limited_total{limit="<limit>"}` in the app's /metrics, 0 if absent.
pub async fn limited(app: &TestApp, limit: &str) -> u64 {
    let text = scrape(app.url("/metrics")).await;
    samples_with(&text, "hotline_limited_total", ("limit", limit))
        .into_iter()
        .map(|v| v as u64)
        .sum()
}
