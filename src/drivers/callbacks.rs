//! Keeping a caller's call-back request, from the page or the phone: the call task says whether
//! the caller may leave a number now, the record's store keeps the request, and then the call
//! ends (`ended_by` callback). A store that is not ready or fails leaves the call waiting.

use crate::domain::{CallbackNumber, CallbackRequest, CallbackStatus, Language};
use crate::drivers::call::{Asker, CallHandle, CallTaskError};
use crate::drivers::clock::now_ms;
use crate::drivers::records::Recorder;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum LeaveError {
    /// The call refuses (not asked, answered, over).
    #[error(transparent)]
    Call(#[from] CallTaskError),
    /// The record's database is not migrated yet.
    #[error("callback requests cannot be kept now")]
    NotReady,
    #[error("the request could not be kept: {0}")]
    NotKept(StoreError),
}

/// Keeps `number` (with `description`) as the call's callback request and ends the call; the
/// request's language is `language`, else the call's.
pub async fn leave_number(
    records: &Recorder,
    call: &CallHandle,
    number: CallbackNumber,
    language: Option<Language>,
    description: String,
    by: Asker,
) -> Result<CallbackRequest, LeaveError> {
    let kept = keep_number(records, call, number, language, description, by).await?;
    call.left_number(kept.number.masked(), by).await?;
    Ok(kept)
}

/// Keeps `number` as `leave_number` does, but leaves the call going, for the caller to hear a
/// goodbye first: the call task knows the request is kept, so no operator answers the call
/// any more, and it ends by callback when the goodbye is over (`CallHandle::left_number`) or
/// when the caller hangs up during it.
pub async fn keep_number(
    records: &Recorder,
    call: &CallHandle,
    number: CallbackNumber,
    language: Option<Language>,
    description: String,
    by: Asker,
) -> Result<CallbackRequest, LeaveError> {
    let call_language = call.keeping_number(by).await?;
    let kept = store_request(
        records,
        call,
        number,
        language.or(call_language),
        description,
    )
    .await;
    match kept {
        Ok(kept) => {
            call.kept_number(kept.number.masked(), by).await?;
            Ok(kept)
        }
        Err(e) => {
            call.not_kept().await;
            Err(e)
        }
    }
}

/// Writes the call's request to the record.
async fn store_request(
    records: &Recorder,
    call: &CallHandle,
    number: CallbackNumber,
    language: Option<Language>,
    description: String,
) -> Result<CallbackRequest, LeaveError> {
    if !records.progress().borrow().migrated {
        return Err(LeaveError::NotReady);
    }
    let request = CallbackRequest {
        call_id: call.id().clone(),
        number,
        language,
        description,
        status: CallbackStatus::Open,
        requested_at: now_ms(),
        done_at: None,
        done_by: None,
    };
    records
        .store()
        .request_callback(&request)
        .await
        .map_err(|e| {
            match &e {
                StoreError::Unavailable(_) => {
                    tracing::warn!(call_id = %call.id(), error = %e, "callback request not kept")
                }
                _ => tracing::error!(call_id = %call.id(), error = %e, "callback request not kept"),
            }
            LeaveError::NotKept(e)
        })
}
