//! What a call's task tells the registry (`CallBook`): it left the queue, needs an operator
//! again, its caller's presence or its language changed, it ended.

use super::{CallRegistry, Finished, QueueItem, RATING_WINDOW_MS};
use crate::domain::{CallId, Millis};
use crate::drivers::call::CallBook;
use crate::drivers::clock::now_ms;
use crate::engine::caller_wait::Presence;
use crate::protocol::LanguageView;
use std::sync::Arc;

impl CallBook for CallRegistry {
    /// The call left the queue (answered).
    fn dequeue(&self, id: &CallId) {
        let mut inner = self.lock();
        let Some(i) = inner.queue.iter().position(|q| &q.call_id == id) else {
            return;
        };
        let item = inner.queue.remove(i);
        let now = now_ms();
        inner.answered(now, now.saturating_sub(item.queued_at));
        self.publish(&inner);
    }

    /// A live call needs an operator again; it goes back in the queue by its original time.
    fn requeue(&self, id: &CallId, language: LanguageView, queued_at: Millis) {
        let mut inner = self.lock();
        if !inner.live.contains_key(id) || inner.queue.iter().any(|q| &q.call_id == id) {
            return;
        }
        let at = inner
            .queue
            .iter()
            .position(|q| q.queued_at > queued_at)
            .unwrap_or(inner.queue.len());
        let phone = inner.phones.get(id).cloned();
        inner.queue.insert(
            at,
            QueueItem {
                call_id: id.clone(),
                language,
                queued_at,
                caller: Presence::Answered,
                addr: None,
                phone,
            },
        );
        self.publish(&inner);
    }

    /// The queued call's caller presence changed (pre-dispatch follows the queue).
    fn set_caller_presence(&self, id: &CallId, caller: Presence) {
        let mut inner = self.lock();
        if let Some(q) = inner.queue.iter_mut().find(|q| &q.call_id == id) {
            if q.caller != caller {
                q.caller = caller;
                self.presence.send_replace(Arc::new(inner.queue.clone()));
            }
        }
    }

    fn set_queue_language(&self, id: &CallId, language: LanguageView) {
        let mut inner = self.lock();
        if let Some(q) = inner.queue.iter_mut().find(|q| &q.call_id == id) {
            q.language = language;
            self.publish(&inner);
        }
    }

    /// The call's task has ended it.
    fn finish(&self, id: &CallId) {
        let now = now_ms();
        if let Some(r) = &self.records {
            r.call_ended(id);
        }
        let mut inner = self.lock();
        inner.live.remove(id);
        inner.phones.remove(id);
        self.live_count.send_replace(inner.live.len());
        inner
            .finished
            .retain(|_, f| f.ended_at + RATING_WINDOW_MS > now);
        if let Some(token_sha256) = inner.tokens.remove(id) {
            inner.finished.insert(
                id.clone(),
                Finished {
                    token_sha256,
                    ended_at: now,
                    rated: false,
                },
            );
        }
        let before = inner.queue.len();
        inner.queue.retain(|q| &q.call_id != id);
        if inner.queue.len() != before {
            self.publish(&inner);
        }
    }
}
