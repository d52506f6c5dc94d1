//! `Timers`: when each peer next needs its WebRTC timer, as a min-heap keyed by deadline with
//! lazy invalidation, so the loop finds the next due peer without walking every peer. A peer has
//! at most one live entry (its earliest); a later deadline only replaces it when that entry
//! comes due, and superseded entries are dropped as they reach the top.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// (deadline, peer slot, key of the connection in that slot when scheduled).
type Item = Reverse<(Instant, usize, u64)>;

#[derive(Default)]
pub(super) struct Timers {
    heap: BinaryHeap<Item>,
    /// Per peer slot: the live entry's (deadline, key), if one is queued.
    armed: Vec<Option<(Instant, u64)>>,
}

impl Timers {
    /// Peer `idx` (connection `key`) needs its timer at `at`: queued unless an entry at or
    /// before `at` already is (when that one comes due, the peer's real deadline is looked up).
    pub(super) fn schedule(&mut self, idx: usize, key: u64, at: Instant) {
        if self.armed.len() <= idx {
            self.armed.resize(idx + 1, None);
        }
        match self.armed[idx] {
            Some((t, k)) if k == key && t <= at => {}
            _ => {
                self.armed[idx] = Some((at, key));
                self.heap.push(Reverse((at, idx, key)));
            }
        }
    }

    /// The slot is emptied or reused: its queued entries become stale.
    pub(super) fn forget(&mut self, idx: usize) {
        if let Some(a) = self.armed.get_mut(idx) {
            *a = None;
        }
    }

    /// The earliest queued deadline (possibly a stale one: waking early is harmless).
    pub(super) fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((t, _, _))| *t)
    }

    /// Moves every live entry due at `now` into `due` (each peer once), dropping stale ones.
    pub(super) fn take_due(&mut self, now: Instant, due: &mut Vec<usize>) {
        while let Some(&Reverse((t, idx, key))) = self.heap.peek() {
            if t > now {
                break;
            }
            self.heap.pop();
            if self.armed.get(idx).copied().flatten() == Some((t, key)) {
                self.armed[idx] = None;
                due.push(idx);
            }
        }
    }

    /// Entries queued, live and stale (for tests: the heap must not grow with traffic).
    #[cfg(test)]
    pub(super) fn queued(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ms(t: Instant, n: u64) -> Instant {
        t + Duration::from_millis(n)
    }

    #[test]
    fn only_due_peers_come_out_earliest_first_each_once() {
        let t = Instant::now();
        let mut timers = Timers::default();
        timers.schedule(0, 1, ms(t, 30));
        timers.schedule(1, 2, ms(t, 10));
        timers.schedule(2, 3, ms(t, 50));
        assert_eq!(timers.next(), Some(ms(t, 10)));
        let mut due = Vec::new();
        timers.take_due(ms(t, 5), &mut due);
        assert!(due.is_empty());
        timers.take_due(ms(t, 30), &mut due);
        assert_eq!(due, vec![1, 0]);
        due.clear();
        timers.take_due(ms(t, 30), &mut due);
        assert!(due.is_empty(), "a peer comes out once per scheduling");
    }

    #[test]
    fn an_earlier_deadline_supersedes_a_later_one_and_the_later_is_kept_only_once() {
        let t = Instant::now();
        let mut timers = Timers::default();
        timers.schedule(0, 1, ms(t, 100));
        for _ in 0..10 {
            timers.schedule(0, 1, ms(t, 200)); // later than the live entry: nothing queued
        }
        assert_eq!(timers.queued(), 1);
        timers.schedule(0, 1, ms(t, 20));
        let mut due = Vec::new();
        timers.take_due(ms(t, 20), &mut due);
        assert_eq!(due, vec![0]);
        due.clear();
        timers.take_due(ms(t, 150), &mut due);
        assert!(due.is_empty(), "the superseded entry is stale");
        assert_eq!(timers.queued(), 0);
    }

    #[test]
    fn a_reused_slot_does_not_inherit_the_old_connections_entries() {
        let t = Instant::now();
        let mut timers = Timers::default();
        timers.schedule(0, 1, ms(t, 10));
        timers.forget(0);
        timers.schedule(0, 2, ms(t, 40));
        let mut due = Vec::new();
        timers.take_due(ms(t, 20), &mut due);
        assert!(due.is_empty());
        timers.take_due(ms(t, 40), &mut due);
        assert_eq!(due, vec![0]);
    }
}
