//! The supervisors' big screen over HTTP: `GET /api/dashboard` (the figures now) and
//! `GET /api/dashboard/live`, a Server-Sent Events stream of the figures on every change (read
//! with `fetch`, so the session token travels in the Authorization header, never in a URL). A
//! stream sends at most one update per `MIN_GAP`, always the newest, and ends at logout and when
//! the node stops. Supervisors only: 401 without a session, 403 with an operator's.

use super::supervisor::Supervisor;
use crate::api::state::AppState;
use crate::drivers::dashboard::DashboardView;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use axum::{Json, Router};
use futures::Stream;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Shortest time between two updates of one stream (a busy hour changes the figures many times a
/// second; a wall display needs one a second at most).
pub const MIN_GAP: Duration = Duration::from_secs(1);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/dashboard", get(now))
        .route("/api/dashboard/live", get(live))
}

/// The dashboard's figures now: per language calls waiting and live and interpreters available,
/// busy and on shift; today's service level, time to interpreter, satisfaction; the last 24
/// hours.
#[utoipa::path(get, path = "/api/dashboard", tag = "supervisor",
    security(("supervisor_session" = [])),
    responses(
        (status = 200, description = "the figures (see README, Supervisors and the dashboard)"),
        (status = 401, description = "not logged in as a supervisor"),
        (status = 403, description = "an operator's session"),
    ))]
pub async fn now(_sup: Supervisor, State(state): State<AppState>) -> Json<DashboardView> {
    Json(state.dashboard.now().await)
}

/// The figures as Server-Sent Events (`event: dashboard`, the JSON of `GET /api/dashboard`):
/// the current ones at once, then on every change, at most one a second.
#[utoipa::path(get, path = "/api/dashboard/live", tag = "supervisor",
    security(("supervisor_session" = [])),
    responses(
        (status = 200, description = "text/event-stream of `dashboard` events"),
        (status = 401, description = "not logged in as a supervisor"),
        (status = 403, description = "an operator's session"),
    ))]
pub async fn live(
    sup: Supervisor,
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // Subscribed first: a change while the first figures are gathered is sent after them.
    let rx = state.dashboard.subscribe();
    let first = Arc::new(state.dashboard.now().await);
    tracing::info!(supervisor = %sup.name, "dashboard stream opened");
    let stream = Updates {
        rx,
        first: Some(first),
        last_sent: None,
        ended: sup.ended,
        stop: state.lifecycle.child(),
    }
    .into_stream();
    Sse::new(stream).keep_alive(KeepAlive::default())
}

struct Updates {
    rx: watch::Receiver<Arc<DashboardView>>,
    first: Option<Arc<DashboardView>>,
    last_sent: Option<Instant>,
    /// The session's logout.
    ended: CancellationToken,
    /// The node's stop.
    stop: CancellationToken,
}

impl Updates {
    fn into_stream(self) -> impl Stream<Item = Result<Event, Infallible>> {
        futures::stream::unfold(self, |mut u| async move {
            let view = u.next().await?;
            u.last_sent = Some(Instant::now());
            let event = Event::default()
                .event("dashboard")
                .json_data(&*view)
                .unwrap_or_else(|_| Event::default().event("dashboard").data("{}"));
            Some((Ok(event), u))
        })
    }

    /// The next figures to send; `None` ends the stream.
    async fn next(&mut self) -> Option<Arc<DashboardView>> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        if let Some(at) = self.last_sent {
            tokio::select! {
                _ = tokio::time::sleep_until(at + MIN_GAP) => {}
                _ = self.ended.cancelled() => return None,
                _ = self.stop.cancelled() => return None,
            }
        }
        tokio::select! {
            r = self.rx.changed() => r.ok()?,
            _ = self.ended.cancelled() => return None,
            _ = self.stop.cancelled() => return None,
        }
        Some(self.rx.borrow_and_update().clone())
    }
}
