//! What a failover may lose, tried again: pool writes that failed while Redis was unreachable
//! (oldest first), and invitations sent over the node bus to consoles on other nodes.

use super::Driver;
use crate::domain::{CallId, InterpreterId, OfferId};
use std::collections::HashSet;

impl Driver {
    /// Repeats the pool writes that failed while the pool was unreachable, oldest first, until
    /// one fails again (the pool is still unreachable: the next tick tries again).
    pub(super) async fn settle(&mut self) {
        let mut left = self.unsettled.len();
        while left > 0 {
            let Some(action) = self.unsettled.pop_front() else {
                break;
            };
            left -= 1;
            let before = self.unsettled.len();
            self.act(action).await;
            if self.unsettled.len() > before {
                // Still unreachable: it keeps its place at the head.
                if let Some(again) = self.unsettled.pop_back() {
                    self.unsettled.push_front(again);
                }
                break;
            }
        }
        metrics::gauge!(crate::metrics::UNSETTLED_WRITES).set(self.unsettled.len() as f64);
    }

    /// Invites again an interpreter who accepted a call here from a console on another node and,
    /// a whole rescan later, is still only invited: that invitation went over the bus, which loses
    /// what is published while Redis fails over. (Consoles ignore an invitation to the call they
    /// are entering; one on this node is told directly, never lost.)
    pub(super) async fn invite_unjoined_again(&mut self) {
        if !self.bus.is_shared() {
            return;
        }
        let held: Vec<(OfferId, InterpreterId, CallId)> = self
            .accepted
            .iter()
            .filter(|(_, o)| !self.consoles.is_connected(&o.interpreter))
            .map(|(id, o)| (id.clone(), o.interpreter.clone(), o.call_id.clone()))
            .collect();
        let mut unjoined = HashSet::new();
        for (offer, iid, call) in held {
            let Some(meta) = self.meta.get(&call).filter(|m| m.answered) else {
                continue;
            };
            let Ok(view) = meta.handle.view().await else {
                continue;
            };
            if !view.invited.contains(&iid) {
                continue;
            }
            if self.unjoined.contains(&offer) {
                tracing::info!(call_id = %call, interpreter_id = %iid, "invited again");
                let invited = self.invited(&iid, call);
                self.tell(&iid, invited);
            }
            unjoined.insert(offer);
        }
        self.unjoined = unjoined;
    }
}
