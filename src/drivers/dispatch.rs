//! The dispatcher of this node: `DispatchHandle` (cheap, in `AppState`; `task/handle`) feeds one
//! task that owns the `Dispatcher` engine (`task`), which rings interpreter consoles (`consoles`,
//! `task/notify`) and brings the accepting interpreter into the call. `carry_out` runs one engine action against the pool and
//! turns the pool's answer into the engine's inputs; the decisions are the engine's.

mod consoles;
mod task;

pub use consoles::Consoles;
pub use task::{progress_line, DispatchHandle, DispatchRefused};

use crate::domain::Millis;
use crate::engine::dispatch::{Action, Input};
use crate::pool::{InterpreterPool, OfferState};

/// Runs one action against `pool` at `now` and returns what the engine must be told. Pool errors
/// are logged and answered as the engine's contract says: a failed claim is "nobody eligible" (the
/// request waits and is retried on the next event), anything else is simply not reported.
/// `Notify` and `WakeAt` are the caller's and return nothing.
pub async fn carry_out(pool: &dyn InterpreterPool, action: &Action, now: Millis) -> Vec<Input> {
    match action {
        Action::Snapshot(language) => match pool.states_for(*language, now).await {
            Ok(states) => vec![Input::Snapshot {
                language: *language,
                states,
            }],
            Err(e) => {
                tracing::warn!(language = %language, error = %e, "dispatch snapshot failed");
                Vec::new()
            }
        },
        Action::Claim(req) => {
            let result = pool.claim(req).await.unwrap_or_else(|e| {
                tracing::warn!(call_id = %req.call_id, offer_id = %req.offer_id, error = %e,
                    "claim failed; the request waits");
                None
            });
            vec![Input::Claimed {
                offer: req.offer_id.clone(),
                result,
            }]
        }
        Action::Cancel(offer) => match pool.cancel(offer, now).await {
            Ok(state) => vec![Input::OfferEnded {
                offer: offer.clone(),
                state,
                paused: false,
            }],
            Err(e) => {
                tracing::warn!(offer_id = %offer, error = %e, "cancel failed");
                Vec::new()
            }
        },
        Action::Release {
            offer,
            wrap_up_ms,
            at,
        } => {
            // From the engine's instant, not `now`: both must agree when the wrap-up ends.
            if let Err(e) = pool.release(offer, *at, *wrap_up_ms).await {
                tracing::warn!(offer_id = %offer, error = %e, "release failed");
            }
            Vec::new()
        }
        Action::Sweep { max_missed } => match pool.sweep(now, *max_missed).await {
            Ok(expired) => expired
                .into_iter()
                .map(|x| Input::OfferEnded {
                    offer: x.offer.id,
                    state: OfferState::Expired,
                    paused: x.paused,
                })
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "sweep failed");
                Vec::new()
            }
        },
        Action::Notify(_) | Action::WakeAt(_) => Vec::new(),
    }
}
