//! `MemoryPool`'s offers: claim, respond, cancel, release, expire, under the pool's one lock and
//! with the same answers as the Redis scripts (`scripts/claim.lua` …), which the contract suite
//! checks against both.

use super::{Inner, OfferEntry};
use crate::domain::Millis;
use crate::pool::{
    ClaimRequest, Expired, InterpreterId, Offer, OfferId, OfferState, PoolError, Status, DAY_MS,
    ENDED_OFFER_KEPT_MS,
};

impl Inner {
    pub(super) fn claim(&mut self, req: &ClaimRequest) -> Result<Option<Offer>, PoolError> {
        if let Some(e) = self.offers.get(&req.offer_id) {
            return Ok(Some(e.offer.clone()));
        }
        let chosen = req.candidates.iter().find(|id| {
            let speaks = self
                .profiles
                .get(*id)
                .is_some_and(|p| p.level_in(req.language).is_some());
            let ready = self.live.get(*id).is_some_and(|l| {
                l.status == Status::Available
                    && l.idle_since <= req.now
                    && l.last_seen > 0
                    && l.last_seen.saturating_add(req.presence_ttl_ms) >= req.now
            });
            speaks && ready
        });
        let Some(id) = chosen.cloned() else {
            return Ok(None);
        };
        let offer = Offer {
            id: req.offer_id.clone(),
            call_id: req.call_id.clone(),
            interpreter: id.clone(),
            language: req.language,
            created: req.now,
            deadline: req.deadline,
        };
        let live = self.live_mut(&id)?;
        live.status = Status::Offered;
        live.offer = Some(offer.id.clone());
        live.call = Some(offer.call_id.clone());
        self.offers.insert(
            offer.id.clone(),
            OfferEntry {
                offer: offer.clone(),
                state: OfferState::Pending,
                ended: None,
                node: req.node,
                accepted: None,
            },
        );
        Ok(Some(offer))
    }

    pub(super) fn respond(
        &mut self,
        offer: &OfferId,
        by: &InterpreterId,
        accept: bool,
        now: Millis,
    ) -> Result<OfferState, PoolError> {
        let (o, state) = self.known_offer(offer)?;
        if &o.interpreter != by {
            return Err(PoolError::NotYours(offer.clone()));
        }
        match (state, accept) {
            (OfferState::Pending, _) if now >= o.deadline => Err(PoolError::TooLate(offer.clone())),
            (OfferState::Pending, true) => {
                let live = self.live_mut(by)?;
                live.status = Status::Busy;
                live.missed = 0;
                let day = now / DAY_MS;
                if live.calls_day != day {
                    live.calls_day = day;
                    live.calls_today = 0;
                }
                live.calls_today += 1;
                self.set_offer(o, OfferState::Accepted, now);
                Ok(OfferState::Accepted)
            }
            (OfferState::Pending, false) => {
                let live = self.live_mut(by)?;
                live.free();
                live.missed = 0;
                self.set_offer(o, OfferState::Declined, now);
                Ok(OfferState::Declined)
            }
            (OfferState::Accepted, true) => Ok(OfferState::Accepted),
            (OfferState::Declined, false) => Ok(OfferState::Declined),
            (OfferState::Expired, _) => Err(PoolError::TooLate(offer.clone())),
            (state, _) => Err(PoolError::AlreadyEnded {
                offer: offer.clone(),
                state,
            }),
        }
    }

    pub(super) fn cancel(&mut self, offer: &OfferId, now: Millis) -> Result<OfferState, PoolError> {
        let (o, state) = self.known_offer(offer)?;
        if state != OfferState::Pending {
            return Ok(state);
        }
        self.live_mut(&o.interpreter)?.free();
        self.set_offer(o, OfferState::Cancelled, now);
        Ok(OfferState::Cancelled)
    }

    pub(super) fn release(
        &mut self,
        offer: &OfferId,
        now: Millis,
        wrap_up_ms: u64,
    ) -> Result<OfferState, PoolError> {
        let (o, state) = self.known_offer(offer)?;
        if !matches!(state, OfferState::Pending | OfferState::Accepted) {
            return Ok(state);
        }
        if let Some(live) = self.live.get_mut(&o.interpreter) {
            live.free();
            live.idle_since = now.saturating_add(wrap_up_ms);
        }
        self.set_offer(o, OfferState::Released, now);
        Ok(OfferState::Released)
    }

    pub(super) fn sweep(
        &mut self,
        now: Millis,
        max_missed: u32,
    ) -> Result<Vec<Expired>, PoolError> {
        let mut due: Vec<Offer> = self
            .offers
            .values()
            .filter(|e| e.state == OfferState::Pending && e.offer.deadline <= now)
            .map(|e| e.offer.clone())
            .collect();
        // Oldest deadline first, as the Redis pool reads its deadline set.
        due.sort_by(|a, b| (a.deadline, &a.id).cmp(&(b.deadline, &b.id)));
        let mut out = Vec::with_capacity(due.len());
        for o in due {
            let mut paused = false;
            if let Some(live) = self.live.get_mut(&o.interpreter) {
                live.free();
                live.missed += 1;
                if max_missed > 0 && live.missed >= max_missed {
                    live.status = Status::Paused;
                    paused = true;
                }
            }
            self.set_offer(o.clone(), OfferState::Expired, now);
            out.push(Expired { offer: o, paused });
        }
        self.offers.retain(|_, e| {
            e.ended
                .is_none_or(|t| t.saturating_add(ENDED_OFFER_KEPT_MS) > now)
        });
        self.calls.retain(|_, c| {
            c.ended
                .is_none_or(|t| t.saturating_add(ENDED_OFFER_KEPT_MS) > now)
        });
        Ok(out)
    }
}
