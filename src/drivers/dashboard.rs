//! The dashboard's feed: one task that gathers the big screen's figures (every node's calls and
//! queue, the pool's interpreters per language, today's figures from the record) and publishes
//! them on a `watch` channel whenever they change. It recomputes at once when the queue or the
//! number of live calls changes (an answer moves a call from waiting to live), after each write
//! of the record, and every `REFRESH` for the pool's interpreters and the other nodes. Each node
//! publishes its own calls per language in the pool (`NodeSummary`, on change and at least every
//! `SUMMARY_EVERY`, running out after `SUMMARY_TTL`) and adds the other nodes' to its own, so
//! every node's big screen shows the whole hotline; while nobody watches it only publishes.
//! The figures themselves are computed in `domain::dashboard`.

use super::call_registry::CallRegistry;
use super::clock::now_ms;
use super::lifecycle::Lifecycle;
use super::records::{Progress, Recorder};
use crate::config::Settings;
use crate::domain::dashboard::{self as figures, HourBucket, LanguageNow, Today};
use crate::domain::{Language, Millis, NodeId};
use crate::engine::call::CallState;
use crate::pool::{InterpreterPool, NodeSummary, Status};
use crate::store::RecordStore;
use chrono::{TimeZone, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

/// How often the interpreters' figures (and the clock's hour) are looked at again.
pub const REFRESH: Duration = Duration::from_secs(1);
/// Today's figures are read from the record after each write, and at least this often.
const RECORD_REFRESH: Duration = Duration::from_secs(15);
/// A node's published calls count this long (a node that stops drops out of the figures then).
pub const SUMMARY_TTL: Duration = Duration::from_secs(5);
/// Its summary is published again at least this often, changed or not.
const SUMMARY_EVERY: Duration = Duration::from_secs(2);
/// How long one live call gets to tell its state (a call task that does not answer is skipped).
const CALL_VIEW_WAIT: Duration = Duration::from_millis(250);

/// Everything on the big screen at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DashboardView {
    /// Per language: the served ones always, others (the operators' own, unknown) when they have
    /// calls.
    pub languages: Vec<LanguageNow>,
    /// The sums over every language (`language` absent).
    pub totals: LanguageNow,
    /// Today's figures; `None` when no record is kept or it cannot be read now.
    pub today: Option<Today>,
    /// The last 24 hours, the current one last (empty without a record).
    pub hours: Vec<HourBucket>,
    /// The hotline's time zone (`dashboard.time_zone`): "today" starts at its midnight.
    pub time_zone: String,
    /// Whether this node keeps a record (`records.database`).
    pub record: bool,
}

/// One node's calls per language (`None`: not known yet).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct LocalCalls {
    waiting: BTreeMap<Option<Language>, u32>,
    live: BTreeMap<Option<Language>, u32>,
}

/// Cheap to clone; every clone reads the same feed.
#[derive(Clone)]
pub struct DashboardFeed {
    tx: Arc<watch::Sender<Arc<DashboardView>>>,
    source: Arc<Source>,
}

struct Source {
    /// This node: its own calls are counted live, the others' from their summaries.
    node: NodeId,
    pool: Arc<dyn InterpreterPool>,
    calls: CallRegistry,
    store: Option<Arc<dyn RecordStore>>,
    served: Vec<Language>,
    presence_ttl_ms: Millis,
    tz: chrono_tz::Tz,
    time_zone: String,
}

impl DashboardFeed {
    /// The feed and its task on `lifecycle`'s tracker.
    pub fn start(
        settings: &Settings,
        node: NodeId,
        pool: Arc<dyn InterpreterPool>,
        calls: CallRegistry,
        records: Option<&Recorder>,
        lifecycle: &Lifecycle,
    ) -> Self {
        let source = Arc::new(Source {
            node,
            pool,
            calls,
            store: records.map(|r| r.store().clone()),
            served: settings.languages.served(),
            presence_ttl_ms: settings.dispatch.presence_ttl_s.saturating_mul(1000),
            tz: settings.dashboard.tz(),
            time_zone: settings.dashboard.time_zone.clone(),
        });
        let (tx, _) = watch::channel(Arc::new(DashboardView::default()));
        let feed = Self {
            tx: Arc::new(tx),
            source,
        };
        lifecycle.spawn(
            feed.clone()
                .run(records.map(Recorder::progress), lifecycle.child()),
        );
        feed
    }

    /// The figures on every change (the first value may be stale: read `now` for a fresh one).
    pub fn subscribe(&self) -> watch::Receiver<Arc<DashboardView>> {
        self.tx.subscribe()
    }

    /// The figures now, freshly gathered.
    pub async fn now(&self) -> DashboardView {
        let now = now_ms();
        let (today, hours) = self.source.history(now).await;
        let local = self.source.local_calls().await;
        self.source.view(now, &local, today, hours).await
    }

    async fn run(
        self,
        progress: Option<watch::Receiver<Progress>>,
        stop: tokio_util::sync::CancellationToken,
    ) {
        let mut queue = self.source.calls.queue();
        let mut live = self.source.calls.live_count();
        // Without a record, a receiver that never changes.
        let (_keep, idle) = watch::channel(Progress::default());
        let mut progress = progress.unwrap_or(idle);
        let mut tick = tokio::time::interval(REFRESH);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut history: Option<(Millis, Option<Today>, Vec<HourBucket>)> = None;
        let mut published: Option<(Millis, LocalCalls)> = None;
        loop {
            let mut written = false;
            tokio::select! {
                _ = stop.cancelled() => return,
                r = queue.changed() => if r.is_err() { return },
                r = live.changed() => if r.is_err() { return },
                r = progress.changed() => match r {
                    Ok(()) => written = true,
                    // The writer stopped: keep serving the live figures.
                    Err(_) => progress = watch::channel(Progress::default()).1,
                },
                _ = tick.tick() => {}
            }
            let now = now_ms();
            let local = self.source.local_calls().await;
            let due = match &published {
                Some((at, last)) => {
                    *last != local || now.saturating_sub(*at) >= SUMMARY_EVERY.as_millis() as u64
                }
                None => true,
            };
            if due {
                self.source.publish(&local, now).await;
                published = Some((now, local.clone()));
            }
            if self.tx.receiver_count() == 0 {
                continue;
            }
            let stale = match &history {
                Some((at, ..)) => {
                    written || now.saturating_sub(*at) >= RECORD_REFRESH.as_millis() as u64
                }
                None => true,
            };
            if stale {
                let (today, hours) = self.source.history(now).await;
                history = Some((now, today, hours));
            }
            let Some((_, today, hours)) = &history else {
                continue;
            };
            let view = Arc::new(
                self.source
                    .view(now, &local, today.clone(), hours.clone())
                    .await,
            );
            self.tx.send_if_modified(|current| {
                let changed = **current != *view;
                if changed {
                    *current = view;
                }
                changed
            });
        }
    }
}

impl Source {
    /// Today's figures and the chart from the record (none without one, or while it is away).
    async fn history(&self, now: Millis) -> (Option<Today>, Vec<HourBucket>) {
        let Some(store) = &self.store else {
            return (None, Vec::new());
        };
        let from = figures::window_start(now, &self.tz);
        match store.calls_created(from, now.saturating_add(1)).await {
            Ok(calls) => {
                let mut today = figures::today(&calls, now, &self.tz);
                // Cases today and how many are resolved, when the record keeps cases.
                match store.case_counts(from).await {
                    Ok(c) => {
                        today.cases = Some(u32::try_from(c.opened).unwrap_or(u32::MAX));
                        today.resolution =
                            (c.opened > 0).then(|| c.resolved as f64 / c.opened as f64);
                    }
                    Err(e) => tracing::debug!(error = %e, "dashboard: no case counts"),
                }
                (Some(today), figures::hours(&calls, now, &self.tz))
            }
            Err(e) => {
                tracing::warn!(error = %e, "dashboard: today's figures not read");
                (None, Vec::new())
            }
        }
    }

    /// This node's calls waiting and in progress, per language, now.
    async fn local_calls(&self) -> LocalCalls {
        let mut local = LocalCalls::default();
        for q in self.source_queue() {
            *local.waiting.entry(q).or_default() += 1;
        }
        for language in self.live_languages().await {
            *local.live.entry(language).or_default() += 1;
        }
        local
    }

    /// This node's calls for the other nodes' screens (a pool that does not answer now misses
    /// one publication; the next tick tries again).
    async fn publish(&self, local: &LocalCalls, now: Millis) {
        let summary = NodeSummary {
            node: self.node,
            expires_at: now.saturating_add(SUMMARY_TTL.as_millis() as u64),
            waiting: local.waiting.iter().map(|(l, n)| (*l, *n)).collect(),
            live: local.live.iter().map(|(l, n)| (*l, *n)).collect(),
        };
        if let Err(e) = self.pool.publish_summary(&summary).await {
            tracing::debug!(error = %e, "dashboard: this node's calls not published");
        }
    }

    /// The other nodes' calls, from their summaries (none when the pool does not answer).
    async fn others(&self, now: Millis) -> Vec<NodeSummary> {
        match self.pool.summaries(now).await {
            Ok(all) => all.into_iter().filter(|s| s.node != self.node).collect(),
            Err(e) => {
                tracing::debug!(error = %e, "dashboard: other nodes' calls not read");
                Vec::new()
            }
        }
    }

    async fn view(
        &self,
        now: Millis,
        local: &LocalCalls,
        today: Option<Today>,
        hours: Vec<HourBucket>,
    ) -> DashboardView {
        let mut rows: BTreeMap<Option<Language>, LanguageNow> = self
            .served
            .iter()
            .map(|&l| (Some(l), row(Some(l))))
            .collect();
        let others = self.others(now).await;
        let waiting = local
            .waiting
            .iter()
            .map(|(l, n)| (*l, *n))
            .chain(others.iter().flat_map(|s| s.waiting.iter().copied()));
        for (q, n) in waiting {
            rows.entry(q).or_insert_with(|| row(q)).waiting += n;
        }
        let live = local
            .live
            .iter()
            .map(|(l, n)| (*l, *n))
            .chain(others.iter().flat_map(|s| s.live.iter().copied()));
        for (language, n) in live {
            rows.entry(language).or_insert_with(|| row(language)).live += n;
        }
        // Interpreters with several languages count once in the totals.
        let mut totals = self.interpreters(now, &mut rows).await;
        for r in rows.values() {
            totals.waiting += r.waiting;
            totals.live += r.live;
        }
        let mut today = today;
        if let Some(t) = &mut today {
            // Calls still going on are today's too (the record has them once they end).
            t.calls += totals.waiting + totals.live;
        }
        DashboardView {
            languages: rows.into_values().collect(),
            totals,
            today,
            hours,
            time_zone: self.time_zone.clone(),
            record: self.store.is_some(),
        }
    }

    /// The language of each call waiting for an operator.
    fn source_queue(&self) -> Vec<Option<Language>> {
        self.calls
            .queue()
            .borrow()
            .iter()
            .map(|q| q.language.code)
            .collect()
    }

    /// The language of each answered call that has not ended.
    async fn live_languages(&self) -> Vec<Option<Language>> {
        let views = self.calls.live().into_iter().map(|call| async move {
            tokio::time::timeout(CALL_VIEW_WAIT, call.view())
                .await
                .ok()
                .and_then(Result::ok)
        });
        futures::future::join_all(views)
            .await
            .into_iter()
            .flatten()
            .filter(|v| !matches!(v.state, CallState::Queued) && !v.state.is_final())
            .map(|v| v.language.code)
            .collect()
    }

    /// Interpreters available, busy and on shift per served language; returns them counted once
    /// each. A pool that does not answer leaves them at 0 (and says so in the log).
    async fn interpreters(
        &self,
        now: Millis,
        rows: &mut BTreeMap<Option<Language>, LanguageNow>,
    ) -> LanguageNow {
        let mut totals = LanguageNow::default();
        let mut available = HashSet::new();
        let mut busy = HashSet::new();
        let at = Utc
            .timestamp_millis_opt(now as i64)
            .single()
            .unwrap_or_else(Utc::now);
        let profiles = match self.pool.profiles().await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "dashboard: interpreters not counted");
                return totals;
            }
        };
        for p in profiles.iter().filter(|p| p.schedule.on_shift(at)) {
            totals.on_shift += 1;
            for skill in &p.languages {
                if let Some(r) = rows.get_mut(&Some(skill.language)) {
                    r.on_shift += 1;
                }
            }
        }
        for &language in &self.served {
            let states = match self.pool.states_for(language, now).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "dashboard: interpreters not counted");
                    return totals;
                }
            };
            let Some(r) = rows.get_mut(&Some(language)) else {
                continue;
            };
            for s in states {
                match s.status {
                    Status::Available if s.present(now, self.presence_ttl_ms) => {
                        r.available += 1;
                        available.insert(s.id);
                    }
                    Status::Offered | Status::Busy | Status::WrapUp => {
                        r.busy += 1;
                        busy.insert(s.id);
                    }
                    _ => {}
                }
            }
        }
        totals.available = available.len() as u32;
        totals.busy = busy.len() as u32;
        totals
    }
}

fn row(language: Option<Language>) -> LanguageNow {
    LanguageNow {
        language,
        ..LanguageNow::default()
    }
}
