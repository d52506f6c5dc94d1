//! Graceful shutdown: what SIGTERM and Ctrl-C do. The first signal starts the drain: readiness
//! goes 503, no new calls or offers, the pages are told; calls in progress go on until they end
//! or `server.drain_s` passes (a second signal: at once). Then the rest are ended through their
//! normal path (interpreters to wrap-up), this node's pending offers are withdrawn, the
//! interpreters whose consoles are here are taken out of the pool's eligible set, the HTTP
//! server closes and every tracked task is awaited. It owns the order, not what each step does.

use super::{serve, AppState};
use crate::drivers::clock::now_ms;
use crate::pool::{Availability, Status};
use anyhow::Context;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How long the calls ended at the drain's deadline get to finish (close their media, write
/// their record, release their interpreter) before the node stops anyway.
pub const CALLS_END_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the tracked tasks get to stop after the root token is cancelled.
pub const TASKS_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves until SIGTERM or Ctrl-C, drains, and returns once every task has stopped (the
/// process then exits 0). An error only if the server could not run.
pub async fn run(listener: TcpListener, state: AppState) -> anyhow::Result<()> {
    let mut signals = Signals::install()?;
    let http = CancellationToken::new();
    let mut server = tokio::spawn(serve(listener, state.clone(), http.clone()));
    tokio::select! {
        _ = signals.next() => {}
        r = &mut server => {
            state.lifecycle.root().cancel();
            return r.context("http server task")?;
        }
    }
    drain(&state, &mut signals).await;
    http.cancel();
    state.lifecycle.root().cancel();
    let served = server.await.context("http server task")?;
    let tracker = state.lifecycle.tracker();
    tracker.close();
    if tokio::time::timeout(TASKS_TIMEOUT, tracker.wait())
        .await
        .is_err()
    {
        tracing::error!(
            tasks = tracker.len(),
            "tasks still running after {TASKS_TIMEOUT:?}; exiting without them"
        );
    }
    tracing::info!("stopped");
    served
}

/// The drain, up to the point where the node holds nothing in the pool.
async fn drain(state: &AppState, signals: &mut Signals) {
    let drain_for = Duration::from_secs(state.settings.server.drain_s);
    state.lifecycle.begin_drain(drain_for);
    release_presence(state).await;
    let mut live = state.calls.live_count();
    let in_progress = *live.borrow_and_update();
    tracing::info!(
        calls = in_progress,
        drain_s = drain_for.as_secs(),
        "draining: no new calls or offers; calls in progress go on until they end or drain_s \
         passes (a second signal ends them now)"
    );
    let ended = async { live.wait_for(|n| *n == 0).await.is_ok() };
    tokio::select! {
        ok = ended => if ok { tracing::info!("drain: every call has ended") },
        _ = tokio::time::sleep(drain_for) => tracing::info!("drain: drain_s has passed"),
        _ = signals.next() => tracing::info!("drain: second signal, ending the calls now"),
    }
    end_calls(state).await;
    state.dispatch.finish().await;
    release_presence(state).await;
}

/// Hangs up every call still in progress, as an operator would, and waits for their tasks.
async fn end_calls(state: &AppState) {
    let left = state.calls.live();
    if left.is_empty() {
        return;
    }
    state.lifecycle.drain_ends_now();
    tracing::info!(
        calls = left.len(),
        "drain: ending the calls still in progress"
    );
    crate::metrics::drain_calls_ended(left.len());
    for call in &left {
        if let Err(e) = call.hang_up().await {
            tracing::debug!(call_id = %call.id(), error = %e, "hang-up at shutdown");
        }
    }
    let mut live = state.calls.live_count();
    let ended = live.wait_for(|n| *n == 0);
    if tokio::time::timeout(CALLS_END_TIMEOUT, ended)
        .await
        .is_err()
    {
        tracing::warn!(
            calls = state.calls.live().len(),
            "calls did not finish within {CALLS_END_TIMEOUT:?} of their hang-up"
        );
    }
}

/// Interpreters whose console is connected here and who could be offered a call (available, or
/// in wrap-up) go offline: nobody rings a console that is about to lose its connection. Done when
/// the drain begins and again at its end (for those whose call ended meanwhile). Their console
/// makes them available again once it has reconnected to another node. Someone on a call, or
/// ringing, for another node is left as they are.
async fn release_presence(state: &AppState) {
    let now = now_ms();
    for iid in state.dispatch.consoles().connected() {
        match state.pool.state(&iid, now).await {
            Ok(Some(s)) if matches!(s.status, Status::Available | Status::WrapUp) => {}
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!(interpreter_id = %iid, error = %e, "presence not released");
                continue;
            }
        }
        match state
            .pool
            .set_availability(&iid, Availability::Offline, now)
            .await
        {
            Ok(s) => {
                tracing::info!(interpreter_id = %iid, "drain: interpreter offline on this node");
                state.dispatch.consoles().send(
                    &iid,
                    crate::protocol::ServerMessage::InterpreterStatus {
                        status: s.status,
                        until: None,
                        now,
                    },
                );
            }
            Err(e) => tracing::warn!(interpreter_id = %iid, error = %e, "presence not released"),
        }
    }
}

/// SIGTERM and SIGINT (Ctrl-C), each time one arrives.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Self {
                term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
                int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => tracing::info!(signal = "SIGTERM", "shutting down"),
                _ = self.int.recv() => tracing::info!(signal = "SIGINT", "shutting down"),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down");
        }
    }
}
