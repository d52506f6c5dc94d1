//! `RedisPool`'s offers: claim, respond, cancel, release, expire. Each is one script
//! (`scripts/*.lua`); this file sends it and reads the answer, the decision is the script's.

use super::RedisPool;
use crate::domain::Millis;
use crate::pool::keys::ENDED_OFFER_KEPT_MS;
use crate::pool::redis_codec as codec;
use crate::pool::{
    ClaimRequest, Expired, InterpreterId, Offer, OfferId, OfferState, PoolError, DAY_MS,
};

/// Offers one `sweep` script expires at most; `sweep` repeats until the backlog is done.
const SWEEP_BATCH: usize = 500;

impl RedisPool {
    /// A script's answer that is an offer state, or `unknown`.
    fn offer_state_answer(offer: &OfferId, reply: &str) -> Result<OfferState, PoolError> {
        match reply {
            "unknown" => Err(PoolError::UnknownOffer(offer.clone())),
            s => codec::offer_state(s),
        }
    }

    pub(super) async fn claim_in_redis(
        &self,
        req: &ClaimRequest,
    ) -> Result<Option<Offer>, PoolError> {
        let mut inv = self.scripts.claim.key(self.keys.deadlines());
        inv.arg(self.keys.base())
            .arg(req.offer_id.as_str())
            .arg(req.call_id.as_str())
            .arg(req.language.as_str())
            .arg(req.now)
            .arg(req.deadline)
            .arg(req.presence_ttl_ms)
            .arg(req.node.to_string());
        for id in &req.candidates {
            inv.arg(id.as_str());
        }
        let reply: Option<Vec<String>> = self.decisive("claim", inv).await?;
        reply
            .map(|fields| codec::claimed(&req.offer_id, &fields))
            .transpose()
    }

    pub(super) async fn respond_in_redis(
        &self,
        offer: &OfferId,
        by: &InterpreterId,
        accept: bool,
        now: Millis,
    ) -> Result<OfferState, PoolError> {
        let mut inv = self.scripts.respond.key(self.keys.deadlines());
        inv.arg(self.keys.base())
            .arg(offer.as_str())
            .arg(by.as_str())
            .arg(if accept { "1" } else { "0" })
            .arg(now)
            .arg(ENDED_OFFER_KEPT_MS)
            .arg(DAY_MS);
        let reply: Vec<String> = self.decisive("respond", inv).await?;
        match reply.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["ok", state] => codec::offer_state(state),
            ["unknown"] => Err(PoolError::UnknownOffer(offer.clone())),
            ["not_yours"] => Err(PoolError::NotYours(offer.clone())),
            ["too_late"] => Err(PoolError::TooLate(offer.clone())),
            ["ended", state] => Err(PoolError::AlreadyEnded {
                offer: offer.clone(),
                state: codec::offer_state(state)?,
            }),
            _ => Err(codec::unexpected("respond", &reply)),
        }
    }

    pub(super) async fn cancel_in_redis(
        &self,
        offer: &OfferId,
        now: Millis,
    ) -> Result<OfferState, PoolError> {
        let mut inv = self.scripts.cancel.key(self.keys.deadlines());
        inv.arg(self.keys.base())
            .arg(offer.as_str())
            .arg(now)
            .arg(ENDED_OFFER_KEPT_MS);
        let reply: String = self.decisive("cancel", inv).await?;
        Self::offer_state_answer(offer, &reply)
    }

    pub(super) async fn release_in_redis(
        &self,
        offer: &OfferId,
        now: Millis,
        wrap_up_ms: u64,
    ) -> Result<OfferState, PoolError> {
        let mut inv = self.scripts.release.key(self.keys.deadlines());
        inv.arg(self.keys.base())
            .arg(offer.as_str())
            .arg(now)
            .arg(wrap_up_ms)
            .arg(ENDED_OFFER_KEPT_MS);
        let reply: String = self.decisive("release", inv).await?;
        Self::offer_state_answer(offer, &reply)
    }

    pub(super) async fn sweep_in_redis(
        &self,
        now: Millis,
        max_missed: u32,
    ) -> Result<Vec<Expired>, PoolError> {
        let mut out = Vec::new();
        loop {
            let flat: Vec<String> = self
                .invoke("sweep", &self.scripts.sweep, self.keys.deadlines(), |inv| {
                    inv.arg(now)
                        .arg(max_missed)
                        .arg(ENDED_OFFER_KEPT_MS)
                        .arg(SWEEP_BATCH);
                })
                .await?;
            let batch = codec::expired(&flat)?;
            let done = batch.len() < SWEEP_BATCH;
            out.extend(batch);
            if done {
                return Ok(out);
            }
        }
    }

    pub(super) async fn offer_in_redis(
        &self,
        offer: &OfferId,
    ) -> Result<Option<(Offer, OfferState)>, PoolError> {
        let h = self.hash("offer", self.keys.offer(offer)).await?;
        if h.is_empty() {
            return Ok(None);
        }
        codec::offer(offer, &h).map(Some)
    }
}
