//! Caps on what one client address, and everyone together, may hold open at once: TCP
//! connections and signalling WebSockets. A `Slot` is taken on entry and given back when it is
//! dropped, whatever way the connection ends. Refusals are counted in `/metrics`
//! (`hotline_limited_total`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// Why a slot was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// This address holds `per_address` already.
    Address,
    /// The node holds `total` already.
    Node,
}

/// How many slots each address, and all together, hold (0 = no cap).
#[derive(Debug)]
pub struct Occupancy {
    what: &'static str,
    per_address: u32,
    total: u32,
    held: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    total: u32,
    by_address: HashMap<IpAddr, u32>,
}

impl Occupancy {
    /// `what` names the limit in `/metrics` and logs (`connections`, `ws_sessions`).
    pub fn new(what: &'static str, per_address: u32, total: u32) -> Arc<Self> {
        Arc::new(Self {
            what,
            per_address,
            total,
            held: Mutex::default(),
        })
    }

    /// Takes one slot for `addr`, or says which cap is reached.
    pub fn enter(self: &Arc<Self>, addr: IpAddr) -> Result<Slot, Full> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let mine = held.by_address.get(&addr).copied().unwrap_or(0);
        let full = if self.total > 0 && held.total >= self.total {
            Some((Full::Node, self.metric(Full::Node)))
        } else if self.per_address > 0 && mine >= self.per_address {
            Some((Full::Address, self.metric(Full::Address)))
        } else {
            None
        };
        if let Some((full, metric)) = full {
            drop(held);
            crate::metrics::limited(metric);
            return Err(full);
        }
        held.total += 1;
        held.by_address.insert(addr, mine + 1);
        Ok(Slot {
            occupancy: self.clone(),
            addr,
        })
    }

    /// Slots held now, by everyone.
    pub fn held(&self) -> u32 {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }

    fn metric(&self, full: Full) -> &'static str {
        match (self.what, full) {
            ("connections", Full::Address) => "connections_per_address",
            ("connections", Full::Node) => "connections",
            ("ws_sessions", Full::Address) => "ws_sessions_per_address",
            ("ws_sessions", Full::Node) => "ws_sessions",
            (other, _) => other,
        }
    }

    fn leave(&self, addr: IpAddr) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.total = held.total.saturating_sub(1);
        if let Some(n) = held.by_address.get_mut(&addr) {
            *n -= 1;
            if *n == 0 {
                held.by_address.remove(&addr);
            }
        }
    }
}

/// One held slot; dropping it gives the slot back.
#[derive(Debug)]
pub struct Slot {
    occupancy: Arc<Occupancy>,
    addr: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.occupancy.leave(self.addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
    }

    #[test]
    fn an_address_gets_its_share_and_gets_it_back_when_it_lets_go() {
        let o = Occupancy::new("connections", 2, 10);
        let a1 = o.enter(ip(1)).expect("first");
        let _a2 = o.enter(ip(1)).expect("second");
        assert_eq!(o.enter(ip(1)).expect_err("third"), Full::Address);
        let _b = o.enter(ip(2)).expect("another address is not affected");
        drop(a1);
        let _a3 = o.enter(ip(1)).expect("a slot given back is free again");
        assert_eq!(o.held(), 3);
    }

    #[test]
    fn the_node_cap_holds_across_addresses_and_zero_means_none() {
        let o = Occupancy::new("ws_sessions", 0, 3);
        let held: Vec<Slot> = (1..=3).map(|i| o.enter(ip(i)).expect("room")).collect();
        assert_eq!(o.enter(ip(9)).expect_err("full"), Full::Node);
        drop(held);
        assert_eq!(o.held(), 0);
        let open = Occupancy::new("ws_sessions", 0, 0);
        let many: Vec<Slot> = (0..1000)
            .map(|_| open.enter(ip(1)).expect("no cap"))
            .collect();
        assert_eq!(open.held(), 1000);
        drop(many);
    }
}
