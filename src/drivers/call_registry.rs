//! The live calls of this node and the operator queue: a small map behind a std mutex (never held
//! across an await), a `watch` channel carrying the queue to every operator session, and one task
//! that routes media events to the call they belong to. Ended calls are remembered for a while so
//! their caller can still rate them. Decides nothing about a call itself (that is its task).

use super::call::{self, CallHandle, Spawn};
use super::clock::now_ms;
use super::lifecycle::Lifecycle;
use super::media::MediaHandle;
use super::node::NodeLease;
use crate::domain::EventKind;
use crate::domain::{CallId, Millis};
use crate::engine::caller_wait::{admit, Presence, WaitCaps, WaitPolicy, WaitRefusal};
use crate::pool::{InterpreterPool, PoolEvent};
use crate::protocol::{LanguageView, QueueEntry};
use base64::Engine;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

mod book;

/// How long after its end a call can still be rated.
pub const RATING_WINDOW_MS: Millis = 60 * 60 * 1000;
/// Random bytes in a caller token (128 bits).
pub const CALLER_TOKEN_BYTES: usize = 16;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RatingError {
    #[error("no such call (or its rating window has closed)")]
    UnknownCall,
    #[error("this token is not the caller token of this call")]
    WrongToken,
    #[error("the call is still going on; rate it after it ends")]
    NotEnded,
    #[error("this call has already been rated")]
    AlreadyRated,
}

/// A queued call as the operators see it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueItem {
    pub call_id: CallId,
    pub language: LanguageView,
    pub queued_at: Millis,
    /// Whether the caller is there (session, media, packets): pre-dispatch follows it.
    pub caller: Presence,
    /// The address the call was created from (for the per-address cap; never shown).
    pub addr: Option<IpAddr>,
    /// A phone call's caller number, masked to its last digits (`…4567`).
    pub phone: Option<String>,
}

/// The queue at one moment, oldest first.
pub type Queue = Arc<Vec<QueueItem>>;

/// The queue as sent to operators at `now`.
pub fn queue_entries(queue: &[QueueItem], now: Millis) -> Vec<QueueEntry> {
    queue
        .iter()
        .enumerate()
        .map(|(i, q)| QueueEntry {
            call_id: q.call_id.clone(),
            position: i + 1,
            language: q.language.clone(),
            queued_at: q.queued_at,
            waited_ms: now.saturating_sub(q.queued_at),
            phone: q.phone.clone(),
        })
        .collect()
}

struct Finished {
    token_sha256: String,
    ended_at: Millis,
    rated: bool,
}

#[derive(Default)]
struct Inner {
    live: HashMap<CallId, CallHandle>,
    tokens: HashMap<CallId, String>,
    queue: Vec<QueueItem>,
    finished: HashMap<CallId, Finished>,
    /// Phone calls' masked caller numbers, kept for a requeue.
    phones: HashMap<CallId, String>,
    /// How long the calls answered lately had waited: (answered at, waited), oldest first.
    answered_waits: std::collections::VecDeque<(Millis, Millis)>,
}

/// The waits a typical wait is told from: the last hour's, at most this many.
const RECENT_WAITS: usize = 100;
const RECENT_WAIT_WINDOW_MS: Millis = 3_600_000;
/// Fewer answered calls than this in the window say nothing honest about the next one.
const TYPICAL_WAIT_MIN_SAMPLES: usize = 3;

impl Inner {
    /// Notes that a call left the queue, answered after `waited`.
    fn answered(&mut self, now: Millis, waited: Millis) {
        self.answered_waits.push_back((now, waited));
        while self.answered_waits.len() > RECENT_WAITS {
            self.answered_waits.pop_front();
        }
    }

    /// The median wait of the calls answered in the last hour, once there are enough of them.
    fn typical_wait(&self, now: Millis) -> Option<Millis> {
        let mut waits: Vec<Millis> = self
            .answered_waits
            .iter()
            .filter(|(at, _)| now.saturating_sub(*at) <= RECENT_WAIT_WINDOW_MS)
            .map(|(_, w)| *w)
            .collect();
        if waits.len() < TYPICAL_WAIT_MIN_SAMPLES {
            return None;
        }
        waits.sort_unstable();
        Some(waits[waits.len() / 2])
    }
}

/// Cheap to clone; every clone is the same registry.
#[derive(Clone)]
pub struct CallRegistry {
    inner: Arc<Mutex<Inner>>,
    queue: Arc<watch::Sender<Queue>>,
    /// The queue again, also sent when only a caller's presence changed: for the dispatcher,
    /// so operators' consoles are not re-sent a queue that looks the same to them.
    presence: Arc<watch::Sender<Queue>>,
    media: Option<MediaHandle>,
    pool: Arc<dyn InterpreterPool>,
    grace: Duration,
    interpreter_silence: Option<Duration>,
    wait: WaitPolicy,
    /// Where calls are recorded in the pool for this node (`with_records`); `None`: not at all.
    records: Option<NodeLease>,
    lifecycle: Lifecycle,
    /// How many calls are live, on every change (the drain waits for 0).
    live_count: Arc<watch::Sender<usize>>,
}

impl CallRegistry {
    /// A registry whose calls use `media` (None: calls work, offers are refused). With media, a
    /// task routes its events to the calls until the node stops. A party away from signalling
    /// for `grace` leaves; a joined interpreter whose media sent nothing for
    /// `interpreter_silence` is taken out as gone (`None`: never). Every call task and the
    /// router run on `lifecycle`'s tracker.
    pub fn new(
        pool: Arc<dyn InterpreterPool>,
        media: Option<MediaHandle>,
        grace: Duration,
        interpreter_silence: Option<Duration>,
        lifecycle: &Lifecycle,
    ) -> Self {
        let (queue, _) = watch::channel(Arc::new(Vec::new()));
        let (presence, _) = watch::channel(Arc::new(Vec::new()));
        let (live_count, _) = watch::channel(0);
        let reg = Self {
            inner: Arc::default(),
            queue: Arc::new(queue),
            presence: Arc::new(presence),
            media,
            pool,
            grace,
            interpreter_silence,
            wait: WaitPolicy {
                max_wait_ms: 0,
                reply_ms: 0,
            },
            records: None,
            lifecycle: lifecycle.clone(),
            live_count: Arc::new(live_count),
        };
        if let Some(m) = &reg.media {
            // Holds the registry weakly: when the app state goes, the router goes too.
            let task =
                route_media_events(Arc::downgrade(&reg.inner), m.subscribe(), lifecycle.child());
            lifecycle.spawn(task);
        }
        reg
    }

    /// Records every call this registry creates and ends in the pool, held by `lease`'s node, so
    /// the node's calls are ended if it is lost.
    pub fn with_records(mut self, lease: NodeLease) -> Self {
        self.records = Some(lease);
        self
    }

    /// The longest queue wait of the calls created from now on (default: never asked).
    pub fn with_wait_policy(mut self, wait: WaitPolicy) -> Self {
        self.wait = wait;
        self
    }

    /// The number of live calls, now and on every change.
    pub fn live_count(&self) -> watch::Receiver<usize> {
        self.live_count.subscribe()
    }

    /// How long callers answered on this node in the last hour typically waited (the median),
    /// or `None` when too few were answered to say: what a waiting caller is told.
    pub fn typical_wait(&self, now: Millis) -> Option<Millis> {
        self.lock().typical_wait(now)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the maps half-changed in a way that
        // matters more than stopping every call, so keep serving.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new queued call with its own task; returns its handle and the caller token (shown once).
    pub fn create(&self, language: LanguageView) -> (CallHandle, String) {
        let mut inner = self.lock();
        self.queue_new(&mut inner, language, None, None, self.wait)
    }

    /// A new queued call from `addr`, unless the waiting calls are at one of `caps` (checked and
    /// queued under one lock, so concurrent requests cannot overshoot).
    pub fn create_capped(
        &self,
        language: LanguageView,
        addr: IpAddr,
        caps: WaitCaps,
    ) -> Result<(CallHandle, String), WaitRefusal> {
        let mut inner = self.lock();
        let from = inner.queue.iter().filter(|q| q.addr == Some(addr)).count();
        admit(caps, inner.queue.len(), from)?;
        Ok(self.queue_new(&mut inner, language, Some(addr), None, self.wait))
    }

    /// A new queued phone call (a SIP edge's INVITE) from trunk address `addr`, with the caller's
    /// number as the operators may see it (`masked`), under the same caps as `create_capped`.
    pub fn create_phone(
        &self,
        language: LanguageView,
        addr: IpAddr,
        caps: WaitCaps,
        masked: String,
    ) -> Result<CallHandle, WaitRefusal> {
        let mut inner = self.lock();
        let from = inner.queue.iter().filter(|q| q.addr == Some(addr)).count();
        admit(caps, inner.queue.len(), from)?;
        // A phone caller cannot answer the long-wait question (it is asked on the page), so it
        // is never asked: asking would end the call of someone still holding the line. They
        // wait, hearing their place in the queue, until answered or they hang up.
        let wait = WaitPolicy {
            max_wait_ms: 0,
            ..self.wait
        };
        Ok(self
            .queue_new(&mut inner, language, Some(addr), Some(masked), wait)
            .0)
    }

    /// Spawns a call's task and queues the call (spawning does not wait, and the new task cannot
    /// take the registry's lock before the caller releases it).
    fn queue_new(
        &self,
        inner: &mut Inner,
        language: LanguageView,
        addr: Option<IpAddr>,
        phone: Option<String>,
        wait: WaitPolicy,
    ) -> (CallHandle, String) {
        let now = now_ms();
        let id = CallId::random();
        let bytes: [u8; CALLER_TOKEN_BYTES] = rand::random();
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let token_sha256 = crate::auth::sha256_hex(&token);
        let handle = call::spawn(Spawn {
            id: id.clone(),
            token_sha256: token_sha256.clone(),
            language: language.clone(),
            now,
            grace: self.grace,
            interpreter_silence: self.interpreter_silence,
            wait,
            media: self.media.clone(),
            pool: self.pool.clone(),
            book: Arc::new(self.clone()),
            lifecycle: self.lifecycle.clone(),
        });
        if let Some(r) = &self.records {
            r.call_opened(&id, &token_sha256);
        }
        inner.live.insert(id.clone(), handle.clone());
        self.live_count.send_replace(inner.live.len());
        inner.tokens.insert(id.clone(), token_sha256);
        if let Some(p) = &phone {
            inner.phones.insert(id.clone(), p.clone());
        }
        inner.queue.push(QueueItem {
            call_id: id,
            language,
            queued_at: now,
            caller: Presence::Away,
            addr,
            phone,
        });
        self.publish(inner);
        (handle, token)
    }

    pub fn get(&self, id: &CallId) -> Option<CallHandle> {
        self.lock().live.get(id).cloned()
    }

    /// Live calls, for status pages and the dispatcher.
    pub fn live(&self) -> Vec<CallHandle> {
        self.lock().live.values().cloned().collect()
    }

    /// The operator queue, now and on every change.
    pub fn queue(&self) -> watch::Receiver<Queue> {
        self.queue.subscribe()
    }

    /// The queue on every change, callers' presence included (pre-dispatch follows it).
    pub fn queue_with_presence(&self) -> watch::Receiver<Queue> {
        self.presence.subscribe()
    }

    /// Whether `token` is the caller token of call `id`, live or recently ended (constant time).
    pub fn caller_token_matches(&self, id: &CallId, token: &str) -> Option<bool> {
        let inner = self.lock();
        let hash = inner
            .tokens
            .get(id)
            .or_else(|| inner.finished.get(id).map(|f| &f.token_sha256))?;
        Some(crate::auth::matches_sha256(token, hash))
    }

    /// Stores the caller's 1–5 rating of an ended call in the call records.
    pub async fn rate(&self, id: &CallId, token: &str, stars: u8) -> Result<(), RatingError> {
        {
            let mut inner = self.lock();
            if inner.live.contains_key(id) {
                let ok = inner
                    .tokens
                    .get(id)
                    .is_some_and(|h| crate::auth::matches_sha256(token, h));
                return Err(if ok {
                    RatingError::NotEnded
                } else {
                    RatingError::WrongToken
                });
            }
            let f = inner.finished.get_mut(id).ok_or(RatingError::UnknownCall)?;
            if !crate::auth::matches_sha256(token, &f.token_sha256) {
                return Err(RatingError::WrongToken);
            }
            if f.rated {
                return Err(RatingError::AlreadyRated);
            }
            f.rated = true;
        }
        let event = PoolEvent {
            kind: EventKind::Rating,
            at: now_ms(),
            call_id: Some(id.clone()),
            interpreter: None,
            language: None,
            offer_id: None,
            detail: stars.to_string(),
        };
        crate::metrics::event(&event);
        crate::metrics::rating(stars);
        if let Err(e) = self.pool.record(&event).await {
            tracing::warn!(call_id = %id, error = %e, "rating not recorded");
        }
        tracing::info!(call_id = %id, stars, "call rated");
        Ok(())
    }

    fn publish(&self, inner: &Inner) {
        let queue = Arc::new(inner.queue.clone());
        self.presence.send_replace(queue.clone());
        self.queue.send_replace(queue);
    }
}

/// Hands every media event to its call's task.
async fn route_media_events(
    calls: Weak<Mutex<Inner>>,
    mut events: broadcast::Receiver<super::media::MediaEvent>,
    shutdown: CancellationToken,
) {
    use super::media::MediaEvent as E;
    loop {
        let ev = tokio::select! {
            _ = shutdown.cancelled() => return,
            ev = events.recv() => ev,
        };
        let ev = match ev {
            Ok(ev) => ev,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(
                    missed = n,
                    "media events dropped: the call router fell behind"
                );
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let call = match &ev {
            E::Connected { call, .. }
            | E::Disconnected { call, .. }
            | E::Slots { call, .. }
            | E::Levels { call, .. }
            | E::Silent { call, .. } => call.clone(),
            // The phone's keys and prompts: watched by the SIP edge and the dispatcher.
            E::Digit { .. } | E::PlayoutDone { .. } => continue,
        };
        let Some(inner) = calls.upgrade() else {
            return;
        };
        let handle = inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .live
            .get(&call)
            .cloned();
        if let Some(h) = handle {
            if !h.media_event(ev) {
                tracing::debug!(call_id = %call, "media event dropped: the call task is busy");
            }
        }
    }
}

#[cfg(test)]
mod typical_wait_tests {
    use super::Inner;

    #[test]
    fn the_typical_wait_is_the_median_of_the_last_hours_answers_once_there_are_three() {
        let mut inner = Inner::default();
        let hour = 3_600_000;
        inner.answered(1_000, 90_000);
        inner.answered(2_000, 10_000);
        assert_eq!(inner.typical_wait(2_000), None, "two answers say nothing");
        inner.answered(3_000, 30_000);
        assert_eq!(inner.typical_wait(3_000), Some(30_000));
        inner.answered(4_000, 40_000);
        assert_eq!(inner.typical_wait(4_000), Some(40_000));
        // An hour on, the first two are no longer 'lately': two left, too few.
        assert_eq!(inner.typical_wait(2_000 + hour + 1), None);
    }
}
