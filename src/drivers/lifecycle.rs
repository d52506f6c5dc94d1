//! The node's lifecycle: one root cancellation token, one task tracker that owns every long-lived
//! task (media loop, call tasks, dispatcher, bus, sessions, retries), and the drain state that
//! the edges and the dispatcher read. What draining does is each reader's and `app::drain`'s;
//! this only holds the state and spawns.

use super::clock::now_ms;
use crate::domain::Millis;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The node is draining: it takes no new calls or offers, and calls in progress may go on until
/// `deadline` (Unix ms), when the rest are ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drain {
    pub since: Millis,
    pub deadline: Millis,
}

/// Cheap to clone; every clone is the same node lifecycle.
#[derive(Clone)]
pub struct Lifecycle {
    root: CancellationToken,
    tracker: TaskTracker,
    drain: Arc<watch::Sender<Option<Drain>>>,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self::new()
    }
}

impl Lifecycle {
    pub fn new() -> Self {
        let (drain, _) = watch::channel(None);
        Self {
            root: CancellationToken::new(),
            tracker: TaskTracker::new(),
            drain: Arc::new(drain),
        }
    }

    /// Cancelled when the node stops: every task ends.
    pub fn root(&self) -> &CancellationToken {
        &self.root
    }

    /// A token for one task or loop: cancelled with the root, or on its own.
    pub fn child(&self) -> CancellationToken {
        self.root.child_token()
    }

    /// Every task of the node; `app` closes and awaits it at shutdown.
    pub fn tracker(&self) -> &TaskTracker {
        &self.tracker
    }

    /// Spawns `task` on the tracker, on the current tokio runtime; false (and logged) without
    /// one. A task that must stop with the node selects on `root()` or a `child()`.
    pub fn spawn<F>(&self, task: F) -> bool
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                self.tracker.spawn_on(task, &rt);
                true
            }
            Err(_) => {
                tracing::error!("no tokio runtime: a task of the node was not started");
                false
            }
        }
    }

    /// Starts draining for `drain_for` from now; `None` if the node was already draining.
    pub fn begin_drain(&self, drain_for: Duration) -> Option<Drain> {
        let now = now_ms();
        let drain = Drain {
            since: now,
            deadline: now.saturating_add(u64::try_from(drain_for.as_millis()).unwrap_or(u64::MAX)),
        };
        let begun = self.drain.send_if_modified(|d| {
            if d.is_some() {
                return false;
            }
            *d = Some(drain);
            true
        });
        begun.then_some(drain)
    }

    /// The drain's deadline is now: calls still in progress are being ended.
    pub fn drain_ends_now(&self) {
        let now = now_ms();
        self.drain.send_if_modified(|d| match d {
            Some(d) if d.deadline > now => {
                d.deadline = now;
                true
            }
            _ => false,
        });
    }

    /// `Some` while the node drains (and after, until it exits).
    pub fn draining(&self) -> Option<Drain> {
        *self.drain.borrow()
    }

    /// The drain state now and on every change (the start, and an earlier deadline).
    pub fn watch_drain(&self) -> watch::Receiver<Option<Drain>> {
        self.drain.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drain_begins_once_and_its_deadline_only_comes_earlier() {
        let l = Lifecycle::new();
        assert_eq!(l.draining(), None);
        let mut rx = l.watch_drain();
        let d = l.begin_drain(Duration::from_secs(60)).expect("begins");
        assert_eq!(d.deadline - d.since, 60_000);
        assert!(rx.has_changed().expect("open"));
        rx.borrow_and_update();
        assert_eq!(
            l.begin_drain(Duration::from_secs(5)),
            None,
            "already draining"
        );
        assert_eq!(l.draining(), Some(d));
        assert!(!rx.has_changed().expect("open"));
        l.drain_ends_now();
        let now = l.draining().expect("draining");
        assert!(now.deadline < d.deadline);
        assert!(rx.has_changed().expect("open"));
    }

    #[tokio::test]
    async fn spawned_tasks_are_awaited_by_the_tracker_and_stop_with_the_root() {
        let l = Lifecycle::new();
        let token = l.child();
        assert!(l.spawn(async move { token.cancelled().await }));
        l.tracker().close();
        tokio::task::yield_now().await;
        assert_eq!(
            l.tracker().len(),
            1,
            "the task runs until the root is cancelled"
        );
        l.root().cancel();
        l.tracker().wait().await;
        assert!(l.tracker().is_empty());
    }
}
