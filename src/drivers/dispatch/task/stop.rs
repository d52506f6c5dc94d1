//! The node stops: every offer still pending is withdrawn and every interpreter still held
//! released, then the task ends.

use super::handle::Cmd;
use super::Driver;
use crate::domain::{CallId, Millis, OfferId};
use crate::drivers::clock::now_ms;
use crate::engine::dispatch::Action;
use crate::pool::OfferState;

impl Driver {
    /// The node stops and its calls have ended: the calls whose end no watcher has reported
    /// yet are ended in the engine (which withdraws their offers and releases their
    /// interpreters through the pool as usual); whatever this node still holds after that is
    /// withdrawn or released directly.
    pub(super) async fn finish(&mut self) {
        let gone: Vec<CallId> = self
            .meta
            .keys()
            .filter(|c| self.calls.get(c).is_none())
            .cloned()
            .collect();
        for call in gone {
            self.command(Cmd::CallEnded(call)).await;
        }
        self.drain().await;
        let now = now_ms();
        let pending: Vec<OfferId> = self.offers.keys().cloned().collect();
        for offer in pending {
            match self.pool.cancel(&offer, now).await {
                Ok(state) => {
                    self.withdrawn(&offer, now);
                    if state == OfferState::Accepted {
                        self.release_held(&offer, now).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(offer_id = %offer, error = %e, "offer not withdrawn at shutdown")
                }
            }
        }
        let held: Vec<OfferId> = self.accepted.keys().cloned().collect();
        for offer in held {
            self.release_held(&offer, now).await;
        }
        tracing::info!("dispatcher finished: no offer pending, no interpreter held");
    }

    /// Releases an accepted offer of this node to wrap-up (shutdown only; normally the engine
    /// decides when).
    pub(super) async fn release_held(&mut self, offer: &OfferId, now: Millis) {
        let wrap_up_ms = self.engine.policy().wrap_up_ms;
        self.act(Action::Release {
            offer: offer.clone(),
            wrap_up_ms,
            at: now,
        })
        .await;
    }
}
