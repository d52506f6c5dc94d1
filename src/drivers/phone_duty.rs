//! Presence for interpreters rung only on their phone: they have no console to send heartbeats,
//! so during their shift (`engine::phone_ring::on_phone_duty`) this loop sends them, and makes
//! them available when they are offline. Every node runs it; a heartbeat or an availability
//! repeated by several nodes changes nothing more. A paused interpreter stays paused (after missed
//! offers the phone is not rung again until they or their console say so).

use super::clock::now_ms;
use super::dispatch::DispatchHandle;
use super::lifecycle::Lifecycle;
use crate::domain::InterpreterProfile;
use crate::engine::phone_ring::on_phone_duty;
use crate::pool::{Availability, InterpreterPool, PoolError, Status};
use std::sync::Arc;
use std::time::Duration;

/// How often the profiles are read again (a university's edit shows within this).
const PROFILE_REFRESH: Duration = Duration::from_secs(30);

/// Runs the loop every `every` (the consoles' heartbeat period) until the node stops. Not
/// started when the bridge cannot dial (`can_dial` false): then nobody is on phone duty.
pub fn start(
    pool: Arc<dyn InterpreterPool>,
    dispatch: DispatchHandle,
    every: Duration,
    can_dial: bool,
    lifecycle: &Lifecycle,
) {
    if !can_dial {
        return;
    }
    let stop = lifecycle.child();
    lifecycle.spawn(async move {
        let mut tick = tokio::time::interval(every.max(Duration::from_millis(100)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut profiles: Vec<InterpreterProfile> = Vec::new();
        let mut read_at: Option<tokio::time::Instant> = None;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            if read_at.is_none_or(|t| t.elapsed() >= PROFILE_REFRESH) {
                match pool.profiles().await {
                    Ok(p) => {
                        profiles = p.into_iter().filter(|p| p.ring.uses_phone()).collect();
                        read_at = Some(tokio::time::Instant::now());
                    }
                    Err(e) => tracing::warn!(error = %e, "phone duty: profiles unreadable"),
                }
            }
            let at = chrono::Utc::now();
            for p in profiles.iter().filter(|p| on_phone_duty(p, at, can_dial)) {
                if let Err(e) = keep_present(pool.as_ref(), &dispatch, p).await {
                    tracing::warn!(interpreter_id = %p.id, error = %e, "phone duty: heartbeat failed");
                }
            }
        }
    });
}

async fn keep_present(
    pool: &dyn InterpreterPool,
    dispatch: &DispatchHandle,
    p: &InterpreterProfile,
) -> Result<(), PoolError> {
    let now = now_ms();
    let state = pool.heartbeat(&p.id, now).await?;
    if state.status == Status::Offline {
        match pool
            .set_availability(&p.id, Availability::Available, now)
            .await
        {
            Ok(_) => {
                tracing::info!(interpreter_id = %p.id, "on phone duty: available");
                dispatch.available(p.id.clone()).await;
            }
            // Offered or on a call meanwhile: nothing to do.
            Err(PoolError::Engaged(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
