//! The dispatcher of this node: `DispatchHandle` (cheap, in `AppState`; `task/handle`) feeds one
//! task that owns the `Dispatcher` engine (`task`), which rings interpreter consoles (`consoles`,
//! `task/notify`) or, through the dialler, their phones (`phones`) and brings the accepting interpreter into the call. `carry_out` runs one engine action against the pool and
//! turns the pool's answer into the engine's inputs; the decisions are the engine's.

mod consoles;
mod phones;
mod task;

pub use consoles::Consoles;
pub use phones::{PhoneCmd, Phones, PHONE_CAPACITY};
pub use task::{DispatchHandle, DispatchRefused};

use crate::domain::Millis;
use crate::engine::dispatch::{Action, Input};
use crate::pool::{InterpreterPool, OfferState, PoolError};

/// Runs one action against `pool` at `now` and returns what the engine must be told. Pool errors
/// are logged and answered as the engine's contract says: a failed claim is "nobody eligible" (the
/// request waits and is retried on the next event), anything else is simply not reported.
/// `Notify` and `WakeAt` are the caller's and return nothing.
pub async fn carry_out(pool: &dyn InterpreterPool, action: &Action, now: Millis) -> Vec<Input> {
    match try_carry_out(pool, action, now).await {
        Ok(inputs) => inputs,
        Err(e) => failed(action, &e),
    }
}

/// As `carry_out`, with the pool's error when the action failed (then `failed` says what the
/// engine must be told, and `settlement` what to repeat once the pool answers again).
pub async fn try_carry_out(
    pool: &dyn InterpreterPool,
    action: &Action,
    now: Millis,
) -> Result<Vec<Input>, PoolError> {
    Ok(match action {
        Action::Snapshot(language) => vec![Input::Snapshot {
            language: *language,
            states: pool.states_for(*language, now).await?,
        }],
        Action::Claim(req) => vec![Input::Claimed {
            offer: req.offer_id.clone(),
            result: pool.claim(req).await?,
        }],
        Action::Cancel(offer) => {
            let state = match pool.cancel(offer, now).await {
                // Not in the pool (a claim whose write a failover lost): nobody holds it.
                Err(PoolError::UnknownOffer(_)) => OfferState::Cancelled,
                other => other?,
            };
            vec![Input::OfferEnded {
                offer: offer.clone(),
                state,
                paused: false,
            }]
        }
        Action::Release {
            offer,
            wrap_up_ms,
            at,
        } => {
            // From the engine's instant, not `now`: both must agree when the wrap-up ends.
            pool.release(offer, *at, *wrap_up_ms).await?;
            Vec::new()
        }
        Action::Sweep { max_missed } => pool
            .sweep(now, *max_missed)
            .await?
            .into_iter()
            .map(|x| Input::OfferEnded {
                offer: x.offer.id,
                state: OfferState::Expired,
                paused: x.paused,
            })
            .collect(),
        Action::Notify(_) | Action::WakeAt(_) => Vec::new(),
    })
}

/// Logs a failed action and returns what the engine must be told: a failed claim is "nobody
/// eligible"; nothing otherwise.
pub fn failed(action: &Action, e: &PoolError) -> Vec<Input> {
    match action {
        Action::Snapshot(language) => {
            tracing::warn!(language = %language, error = %e, "dispatch snapshot failed");
        }
        Action::Claim(req) => {
            tracing::warn!(call_id = %req.call_id, offer_id = %req.offer_id, error = %e,
                "claim failed; the request waits");
            return vec![Input::Claimed {
                offer: req.offer_id.clone(),
                result: None,
            }];
        }
        Action::Cancel(offer) => tracing::warn!(offer_id = %offer, error = %e, "cancel failed"),
        Action::Release { offer, .. } => {
            tracing::warn!(offer_id = %offer, error = %e, "release failed")
        }
        Action::Sweep { .. } => tracing::warn!(error = %e, "sweep failed"),
        Action::Notify(_) | Action::WakeAt(_) => {}
    }
    Vec::new()
}

/// What to repeat, once the pool answers again, after `action` failed with `e`: an unreachable
/// pool (Redis down, or a failover) may or may not have applied a write, and nobody may be left
/// held by it. A failed claim is withdrawn (it may have been made, its answer lost); a failed
/// withdrawal or release is made again (all idempotent on the offer id); a failed snapshot is
/// taken again, since requests still searching wait for it.
pub fn settlement(action: &Action, e: &PoolError) -> Option<Action> {
    if !matches!(e, PoolError::Unavailable(_)) {
        return None;
    }
    match action {
        Action::Claim(req) => Some(Action::Cancel(req.offer_id.clone())),
        Action::Cancel(_) | Action::Release { .. } | Action::Snapshot(_) => Some(action.clone()),
        Action::Sweep { .. } | Action::Notify(_) | Action::WakeAt(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CallId, Language, NodeId, OfferId};
    use crate::pool::ClaimRequest;

    fn offer() -> OfferId {
        OfferId::parse("0000000000000001-7").expect("offer id")
    }

    #[test]
    fn a_claim_lost_to_an_unreachable_pool_is_withdrawn_once_it_answers() {
        let claim = Action::Claim(ClaimRequest {
            offer_id: offer(),
            call_id: CallId::random(),
            node: NodeId::new(1),
            language: Language::parse("en").expect("language"),
            candidates: Vec::new(),
            now: 1,
            deadline: 2,
            presence_ttl_ms: 3,
        });
        let down = PoolError::Unavailable("down".into());
        assert_eq!(settlement(&claim, &down), Some(Action::Cancel(offer())));
        // The engine hears "nobody eligible" at once: the request waits.
        assert!(matches!(
            failed(&claim, &down)[..],
            [Input::Claimed { result: None, .. }]
        ));
    }

    #[test]
    fn withdrawals_releases_and_snapshots_are_repeated_only_when_the_pool_was_unreachable() {
        let release = Action::Release {
            offer: offer(),
            wrap_up_ms: 10,
            at: 5,
        };
        let cancel = Action::Cancel(offer());
        let down = PoolError::Unavailable("down".into());
        assert_eq!(settlement(&release, &down), Some(release.clone()));
        assert_eq!(settlement(&cancel, &down), Some(cancel.clone()));
        let refused = PoolError::UnknownOffer(offer());
        assert_eq!(settlement(&release, &refused), None);
        let sweep = Action::Sweep { max_missed: 2 };
        assert_eq!(settlement(&sweep, &down), None);
        // Requests still searching wait for their snapshot: it is taken again.
        let snapshot = Action::Snapshot(Language::parse("en").expect("language"));
        assert_eq!(settlement(&snapshot, &down), Some(snapshot.clone()));
    }
}
