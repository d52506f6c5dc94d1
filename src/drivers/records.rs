//! The record's writer. This node's audit events (`RecordingPool` hands over each one the pool is
//! given) become `Record`s and wait in a bounded queue (`records.queue`) for one task that
//! writes them to the store in batches. Handing over never waits, so a slow or absent database
//! never delays a call; only what does not fit in a full queue is dropped, and counted.
//!
//! On a database error the batch stays and is written again after a backoff (doubling up to
//! `RETRY_MAX`, counted), so nothing in the queue is lost while the database is away: the
//! store's writes are idempotent, so a batch whose commit's answer was lost may be repeated. A
//! batch the database refuses is written record by record; only the refused ones are dropped.

mod pool;

pub use pool::RecordingPool;

use super::lifecycle::Lifecycle;
use crate::domain::{CallOutcome, CallSummary, EventKind, Leg, Millis, OfferOutcome, Rating};
use crate::pool::PoolEvent;
use crate::protocol::LanguageView;
use crate::store::{Record, RecordStore, StoreError};
use serde::Deserialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// Records written in one transaction at most.
pub const BATCH_MAX: usize = 256;
/// The first pause after a failed write; each further failure doubles it up to `RETRY_MAX`.
const RETRY_FIRST: Duration = Duration::from_millis(100);
/// The longest pause between two tries: how soon after the database is back writing resumes.
const RETRY_MAX: Duration = Duration::from_secs(2);
/// When the node stops: how long what is still queued gets to reach the database.
const FLUSH_ON_STOP: Duration = Duration::from_secs(5);
/// At most one warning about a full queue this often (each drop is counted in /metrics).
const FULL_WARNING_EVERY_MS: Millis = 10_000;

/// Cheap to clone; every clone feeds the same queue.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Record>,
    store: Arc<dyn RecordStore>,
    /// When a full queue was last warned about (Unix ms).
    warned_full: Arc<AtomicU64>,
    /// Records taken into the queue so far.
    queued_total: Arc<AtomicU64>,
    progress: watch::Receiver<Progress>,
}

/// How far the writer is, since the node started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Records done with, in queue order: written, or refused by the database.
    pub done: u64,
    /// Tries that failed because the database was unreachable or busy (each is tried again).
    pub failed_tries: u64,
    /// The store's tables are made (migrated): what reads or writes it directly may start.
    pub migrated: bool,
}

impl Recorder {
    /// The queue (`capacity` records) and its writer on `lifecycle`'s tracker: it migrates the
    /// store (again and again until the database answers), then writes until the node stops.
    pub fn start(store: Arc<dyn RecordStore>, capacity: usize, lifecycle: &Lifecycle) -> Self {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let (progress_tx, progress) = watch::channel(Progress::default());
        let writer = Writer {
            store: store.clone(),
            rx,
            progress: progress_tx,
        };
        lifecycle.spawn(writer.run(lifecycle.child()));
        Self {
            tx,
            store,
            warned_full: Arc::default(),
            queued_total: Arc::default(),
            progress,
        }
    }

    /// Queues what `event` tells the record, if anything; never waits.
    pub fn event(&self, event: &PoolEvent) {
        if let Some(r) = record_of(event) {
            self.send(r);
        }
    }

    /// Queues `record`; never waits. Dropped (and counted) when the queue is full.
    pub fn send(&self, record: Record) {
        match self.tx.try_send(record) {
            Ok(()) => {
                self.queued_total.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Full(_)) => {
                crate::metrics::records_dropped("full", 1);
                let now = super::clock::now_ms();
                let last = self.warned_full.load(Ordering::Relaxed);
                if now.saturating_sub(last) >= FULL_WARNING_EVERY_MS
                    && self
                        .warned_full
                        .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                {
                    tracing::warn!(
                        queue = self.tx.max_capacity(),
                        "record queue full: records are dropped until the store catches up"
                    );
                }
            }
            Err(TrySendError::Closed(_)) => crate::metrics::records_dropped("stopped", 1),
        }
    }

    /// Records waiting to be written.
    pub fn queued(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// The writer's progress, now and on every change.
    pub fn progress(&self) -> watch::Receiver<Progress> {
        self.progress.clone()
    }

    /// Until every record queued before this call is done with (or the writer has stopped).
    pub async fn settled(&self) {
        let target = self.queued_total.load(Ordering::Relaxed);
        let mut progress = self.progress.clone();
        let _ = progress.wait_for(|p| p.done >= target).await;
    }

    /// The store the writer writes to (the read API reads it).
    pub fn store(&self) -> &Arc<dyn RecordStore> {
        &self.store
    }
}

/// What the call task writes in a `call_ended` event's detail (drivers::call::report).
#[derive(Debug, Deserialize)]
struct EndedDetail {
    state: CallOutcome,
    created_at: Millis,
    answered_at: Option<Millis>,
    ended_at: Millis,
    language: LanguageView,
    #[serde(default)]
    legs: Vec<Leg>,
}

/// The record an audit event makes, if it makes one.
pub fn record_of(e: &PoolEvent) -> Option<Record> {
    let call = e.call_id.clone()?;
    let ended = |outcome| {
        Some(Record::OfferEnded {
            offer: e.offer_id.clone(),
            call: call.clone(),
            interpreter: e.interpreter.clone()?,
            outcome,
            at: e.at,
        })
    };
    match e.kind {
        EventKind::Offer => Some(Record::Offered {
            offer: e.offer_id.clone()?,
            call: call.clone(),
            interpreter: e.interpreter.clone()?,
            language: e.language,
            at: e.at,
        }),
        EventKind::Accept => ended(OfferOutcome::Accepted),
        EventKind::Decline => ended(OfferOutcome::Declined),
        EventKind::Expire => ended(OfferOutcome::Timeout),
        EventKind::Cancel => ended(OfferOutcome::Cancelled),
        EventKind::Rating => Some(Record::Rated {
            call: call.clone(),
            rating: Rating {
                stars: e.detail.trim().parse().ok()?,
                at: e.at,
            },
        }),
        EventKind::CallEnded => {
            let d: EndedDetail = match serde_json::from_str(&e.detail) {
                Ok(d) => d,
                Err(err) => {
                    tracing::warn!(call_id = %call, error = %err, "call record not understood");
                    return None;
                }
            };
            let source = serde_json::to_value(d.language.source)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            Some(Record::Call(CallSummary {
                call_id: call.clone(),
                language: d.language.code,
                language_source: source,
                outcome: d.state,
                created_at: d.created_at,
                answered_at: d.answered_at,
                ended_at: d.ended_at,
                legs: d.legs,
            }))
        }
        _ => None,
    }
}

/// The pause before the next try: doubles from `RETRY_FIRST` to `RETRY_MAX`.
struct Backoff(Duration);

impl Backoff {
    fn new() -> Self {
        Self(RETRY_FIRST)
    }

    fn next(&mut self) -> Duration {
        let d = self.0;
        self.0 = (self.0 * 2).min(RETRY_MAX);
        d
    }
}

/// Waits `d`; false if the node stops first.
async fn pause(d: Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
    }
}

/// The one task that writes: it owns the queue's receiving end.
struct Writer {
    store: Arc<dyn RecordStore>,
    rx: mpsc::Receiver<Record>,
    progress: watch::Sender<Progress>,
}

impl Writer {
    /// Migrates, then writes batches in queue order until the node stops.
    async fn run(mut self, stop: CancellationToken) {
        let mut backoff = Backoff::new();
        loop {
            match self.store.migrate().await {
                Ok(()) => break,
                Err(e) if e.is_transient() => {
                    self.failed();
                    tracing::warn!(error = %e, queued = self.rx.len(), "record store unreachable; trying again");
                    if !pause(backoff.next(), &stop).await {
                        crate::metrics::records_dropped("stopped", self.rx.len());
                        return;
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "record store not usable: nothing will be recorded");
                    return;
                }
            }
        }
        self.progress.send_modify(|p| p.migrated = true);
        tracing::info!("record store ready");
        let mut backoff = Backoff::new();
        let mut batch = Vec::with_capacity(BATCH_MAX);
        loop {
            if batch.is_empty() {
                tokio::select! {
                    biased;
                    r = self.rx.recv() => match r {
                        Some(r) => batch.push(r),
                        None => return,
                    },
                    _ = stop.cancelled() => break,
                }
                self.take(&mut batch);
            }
            metrics::gauge!(crate::metrics::RECORDS_QUEUED).set(self.rx.len() as f64);
            match self.write(&batch).await {
                Ok(()) => {
                    batch.clear();
                    backoff = Backoff::new();
                }
                Err(e) => {
                    tracing::warn!(error = %e, batch = batch.len(), queued = self.rx.len(),
                        "record store unreachable; the batch is kept and written again");
                    if !pause(backoff.next(), &stop).await {
                        break;
                    }
                }
            }
        }
        // The node stops: one more try for what is queued; what is left then is lost (counted).
        let flush = async {
            loop {
                self.take(&mut batch);
                if batch.is_empty() || self.write(&batch).await.is_err() {
                    return;
                }
                batch.clear();
            }
        };
        let _ = tokio::time::timeout(FLUSH_ON_STOP, flush).await;
        let lost = batch.len() + self.rx.len();
        if lost > 0 {
            crate::metrics::records_dropped("stopped", lost);
            tracing::warn!(
                records = lost,
                "node stopped before these records were written"
            );
        }
    }

    /// Moves what is queued into `batch`, up to `BATCH_MAX`.
    fn take(&mut self, batch: &mut Vec<Record>) {
        while batch.len() < BATCH_MAX {
            match self.rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => return,
            }
        }
    }

    fn failed(&self) {
        crate::metrics::records_retried();
        self.progress.send_modify(|p| p.failed_tries += 1);
    }

    fn done(&self, n: usize) {
        self.progress.send_modify(|p| p.done += n as u64);
    }

    /// Writes `batch`; refused records are dropped (and counted). An error only when the store
    /// could not be reached: then the whole batch is to be written again.
    async fn write(&self, batch: &[Record]) -> Result<(), StoreError> {
        match self.store.write(batch).await {
            Ok(()) => {
                crate::metrics::records_written(batch.len());
                self.done(batch.len());
                return Ok(());
            }
            Err(e) if e.is_transient() => {
                self.failed();
                return Err(e);
            }
            Err(e) => {
                tracing::warn!(error = %e, batch = batch.len(), "record batch refused; writing it record by record");
            }
        }
        for r in batch {
            match self.store.write(std::slice::from_ref(r)).await {
                Ok(()) => crate::metrics::records_written(1),
                Err(e) if e.is_transient() => {
                    self.failed();
                    return Err(e);
                }
                Err(e) => {
                    crate::metrics::records_dropped("refused", 1);
                    tracing::warn!(error = %e, record = ?r, "record refused by the store");
                }
            }
        }
        self.done(batch.len());
        Ok(())
    }
}

#[cfg(test)]
mod tests;
