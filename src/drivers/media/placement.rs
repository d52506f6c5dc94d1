//! Which shard each call's media is on: a call is placed when it first gets media, on the shard
//! with the fewest calls, and every later command about it goes there until it ends. A tiny map
//! behind a std mutex, never held across an await.

use crate::domain::CallId;
use std::collections::HashMap;
use std::sync::Mutex;

pub(super) struct Placement {
    shards: usize,
    calls: Mutex<HashMap<CallId, usize>>,
}

/// The shard with the fewest calls (the lowest index among equals).
pub(super) fn least_loaded(calls_per_shard: &[usize]) -> usize {
    calls_per_shard
        .iter()
        .enumerate()
        .min_by_key(|&(i, n)| (*n, i))
        .map_or(0, |(i, _)| i)
}

impl Placement {
    pub(super) fn new(shards: usize) -> Self {
        Self {
            shards: shards.max(1),
            calls: Mutex::new(HashMap::new()),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<CallId, usize>> {
        // A panic elsewhere cannot leave the map half-written: every change is one insert/remove.
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The call's shard, placing it on the least-loaded one if `place` and it has none yet.
    /// Unplaced and not placing: shard 0 (which will answer that it does not know the call).
    pub(super) fn route(&self, call: &CallId, place: bool) -> usize {
        let mut map = self.map();
        if let Some(&s) = map.get(call) {
            return s;
        }
        if !place {
            return 0;
        }
        let s = least_loaded(&Self::counts(&map, self.shards));
        map.insert(call.clone(), s);
        tracing::debug!(call_id = %call, shard = s, "call placed on media shard");
        s
    }

    /// The call has ended: its shard has one call less.
    pub(super) fn release(&self, call: &CallId) {
        self.map().remove(call);
    }

    pub(super) fn shard_of(&self, call: &CallId) -> Option<usize> {
        self.map().get(call).copied()
    }

    pub(super) fn calls_per_shard(&self) -> Vec<usize> {
        Self::counts(&self.map(), self.shards)
    }

    fn counts(map: &HashMap<CallId, usize>, shards: usize) -> Vec<usize> {
        let mut n = vec![0; shards];
        for &s in map.values() {
            if let Some(c) = n.get_mut(s) {
                *c += 1;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cid(s: &str) -> CallId {
        CallId::parse(s).expect("call id")
    }

    #[test]
    fn calls_go_to_the_shard_with_fewest_calls_and_stay_there() {
        let p = Placement::new(2);
        assert_eq!(p.route(&cid("a"), true), 0);
        assert_eq!(p.route(&cid("b"), true), 1);
        assert_eq!(p.route(&cid("c"), true), 0);
        assert_eq!(p.route(&cid("a"), false), 0, "a placed call stays");
        assert_eq!(p.route(&cid("b"), true), 1, "placing again changes nothing");
        p.release(&cid("a"));
        p.release(&cid("c"));
        assert_eq!(p.calls_per_shard(), vec![0, 1]);
        assert_eq!(
            p.route(&cid("d"), true),
            0,
            "the emptier shard gets the next call"
        );
    }

    #[test]
    fn commands_that_do_not_place_leave_unknown_calls_unplaced() {
        let p = Placement::new(3);
        assert_eq!(p.route(&cid("x"), false), 0);
        assert_eq!(p.shard_of(&cid("x")), None);
        assert_eq!(p.calls_per_shard(), vec![0, 0, 0]);
    }

    #[test]
    fn least_loaded_prefers_the_lowest_index_among_equals() {
        assert_eq!(least_loaded(&[2, 1, 1]), 1);
        assert_eq!(least_loaded(&[0, 0]), 0);
        assert_eq!(least_loaded(&[]), 0);
    }
}
