//! Gives a call its case once an operator has it: a task opens the case in the store (or links
//! the call to the case a returning caller named), then tells the call its number, which every
//! session of the call (the caller's page too) gets with the next state. Never on the answer's
//! path: a slow or absent database delays the number, not the call; transient failures are
//! tried again until `GIVE_UP_AFTER` (then the operator's console can open it:
//! `POST /api/calls/{id}/case`).

use super::call::CallHandle;
use super::clock::now_ms;
use super::lifecycle::Lifecycle;
use super::records::{Progress, Recorder};
use crate::domain::{CaseFile, CaseNumber};
use crate::store::{NewCase, RecordStore, StoreError};
use chrono_tz::Tz;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The first pause after a failed try; doubled each time up to `RETRY_MAX`.
const RETRY_FIRST: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(5);
/// How long a call's case is tried for: past it, the operator opens it from the console.
const GIVE_UP_AFTER: Duration = Duration::from_secs(120);

/// Cheap to clone: the record's store, whether its tables are made yet, and the hotline's time
/// zone (the day in case numbers).
#[derive(Clone)]
pub struct CaseDesk {
    store: Arc<dyn RecordStore>,
    progress: watch::Receiver<Progress>,
    time_zone: Tz,
}

impl CaseDesk {
    pub fn new(records: &Recorder, time_zone: Tz) -> Self {
        Self {
            store: records.store().clone(),
            progress: records.progress(),
            time_zone,
        }
    }

    /// Whether the store's tables are made (the record's writer migrates it at start).
    pub fn is_ready(&self) -> bool {
        self.progress.borrow().migrated
    }

    /// Until the store's tables are made; false if they never will be (the writer gave up).
    async fn ready(&self) -> bool {
        let mut p = self.progress.clone();
        let ready = p.wait_for(|p| p.migrated).await.is_ok();
        ready
    }

    pub fn store(&self) -> &Arc<dyn RecordStore> {
        &self.store
    }

    pub fn time_zone(&self) -> Tz {
        self.time_zone
    }

    /// Operator `operator` took `call`: its case is opened (or linked) and the call told, on
    /// `lifecycle`'s tracker.
    pub fn answered(&self, call: CallHandle, operator: String, lifecycle: &Lifecycle) {
        let desk = self.clone();
        let stop = lifecycle.child();
        lifecycle.spawn(async move {
            let id = call.id().clone();
            match tokio::time::timeout(GIVE_UP_AFTER, desk.settle(&call, &operator, &stop)).await {
                Ok(Some(file)) => {
                    // A returning caller's case may have its category already.
                    if !file.case.category.is_empty() {
                        call.set_case_category(Some(file.case.category.clone())).await;
                    }
                    call.set_case(file.case.number).await
                }
                Ok(None) => {}
                Err(_) => {
                    tracing::warn!(call_id = %id, "no case opened for the call: the record store did not answer")
                }
            }
        });
    }

    /// Opens or links the call's case, trying again while the store is unreachable; `None` if
    /// the call or the node went away, or the store refused.
    async fn settle(
        &self,
        call: &CallHandle,
        operator: &str,
        stop: &CancellationToken,
    ) -> Option<CaseFile> {
        let ready = tokio::select! {
            _ = stop.cancelled() => false,
            r = self.ready() => r,
        };
        if !ready {
            return None;
        }
        let mut pause = RETRY_FIRST;
        loop {
            match self.open(call, operator).await {
                Ok(file) => return file,
                Err(e) if e.is_transient() => {
                    tracing::warn!(call_id = %call.id(), error = %e, "case not opened yet; trying again");
                }
                Err(e) => {
                    tracing::error!(call_id = %call.id(), error = %e, "case not opened");
                    return None;
                }
            }
            tokio::select! {
                _ = stop.cancelled() => return None,
                _ = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(RETRY_MAX);
        }
    }

    /// Opens (or links) the case of live `call` once; `None` when the call is over. Does not
    /// tell the call.
    pub async fn open(
        &self,
        call: &CallHandle,
        operator: &str,
    ) -> Result<Option<CaseFile>, StoreError> {
        let Ok(view) = call.view().await else {
            return Ok(None);
        };
        let now = now_ms();
        let new = NewCase {
            call: call.id().clone(),
            day: CaseNumber::day_of(now, self.time_zone),
            language: view.language.code,
            operator: operator.to_owned(),
            at: now,
        };
        self.open_or_link(&new, view.returning_case.as_ref())
            .await
            .map(Some)
    }

    /// The case a returning caller named, if it exists; else the call's own (opened now, or
    /// the one it opened before: a take-over).
    async fn open_or_link(
        &self,
        new: &NewCase,
        named: Option<&CaseNumber>,
    ) -> Result<CaseFile, StoreError> {
        if let Some(n) = named {
            if let Some(file) = self.store.link_call(n, &new.call, new.at).await? {
                return Ok(file);
            }
            tracing::info!(call_id = %new.call, case = %n, "the case the caller named is unknown; a new one is opened");
        }
        self.store.open_case(new).await
    }
}
