//! Per-client-address rate limits for the unauthenticated endpoints (call creation, operator
//! login), and the client address itself. A GCRA limiter (governor) per route; refusals are
//! `429 rate_limited` with `Retry-After`, in our error format.

use super::ApiError;
use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Forget idle addresses after this many checks, so the maps stay small.
const PURGE_EVERY: u64 = 1024;

/// One keyed limiter; cheap to clone.
#[derive(Clone)]
pub struct RateLimit {
    /// The setting that sets it, as counted in `/metrics` (`hotline_limited_total{limit}`).
    name: &'static str,
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    checks: Arc<AtomicU64>,
}

impl RateLimit {
    /// `per_minute` requests per address per minute, up to `burst` at once (both at least 1).
    pub fn per_minute(name: &'static str, per_minute: u32, burst: u32) -> Self {
        let rate = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        Self {
            name,
            limiter: Arc::new(DefaultKeyedRateLimiter::keyed(
                Quota::per_minute(rate).allow_burst(burst),
            )),
            checks: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Counts one request from `addr`; `Err` says how long to wait.
    pub fn check(&self, addr: IpAddr) -> Result<(), RateLimited> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == PURGE_EVERY - 1 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&addr).map_err(|not_until| {
            crate::metrics::limited(self.name);
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            RateLimited {
                retry_after_s: wait.as_secs().max(1),
            }
        })
    }
}

/// A refused request: `429` with `Retry-After`.
#[derive(Debug)]
pub struct RateLimited {
    pub retry_after_s: u64,
}

impl IntoResponse for RateLimited {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

impl From<RateLimited> for ApiError {
    fn from(r: RateLimited) -> Self {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "too many requests from your address; try again in {} s",
                r.retry_after_s
            ),
        );
        e.retry_after_s = Some(r.retry_after_s);
        e
    }
}

/// The peer address of the connection (the server is served with connect info). Requests built
/// in-process (router tests) have none and share one bucket. Behind a reverse proxy every caller
/// shares the proxy's address: limit at the proxy then, or raise the settings.
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        Ok(ClientAddr(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_the_address_waits_while_others_do_not() {
        let limit = RateLimit::per_minute("test", 6, 3);
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        for _ in 0..3 {
            assert!(limit.check(a).is_ok());
        }
        let refused = limit.check(a).expect_err("fourth request in a burst of 3");
        assert!((1..=10).contains(&refused.retry_after_s), "{refused:?}");
        assert!(limit.check(b).is_ok());
    }
}
