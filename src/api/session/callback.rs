//! The caller leaves a number to be called back instead of waiting longer: checked here (a
//! record is kept, the number's form, the description's size), allowed by the call task only
//! while the long-wait question is open, kept in the record's store, and then the call ends
//! (`ended_by` callback). A store that fails leaves the call waiting, the question open.

use super::refusals::refusal;
use super::{Next, Session};
use crate::domain::{
    check_display_text, CallbackNumber, CallbackRequest, CallbackStatus, Language,
    CALLBACK_DESCRIPTION_MAX_CHARS,
};
use crate::drivers::clock::now_ms;
use crate::protocol::ErrorCode;
use crate::store::StoreError;
use axum::extract::ws::Message;
use futures::Sink;

impl<W: Sink<Message> + Unpin> Session<W> {
    pub(super) async fn request_callback(
        &mut self,
        number: &str,
        language: Option<&str>,
        description: &str,
    ) -> Result<Next, (ErrorCode, String)> {
        let (call, _) = self.in_call()?;
        let Some(records) = self.state.records.as_ref() else {
            return Err((
                ErrorCode::Conflict,
                "this hotline keeps no record, so it takes no callback requests: keep waiting \
                 or call again later"
                    .into(),
            ));
        };
        let number = CallbackNumber::parse(number)
            .map_err(|e| (ErrorCode::Invalid, format!("number: {e}")))?;
        let description = description.trim();
        if description.chars().count() > CALLBACK_DESCRIPTION_MAX_CHARS {
            return Err((
                ErrorCode::Invalid,
                format!("description: at most {CALLBACK_DESCRIPTION_MAX_CHARS} characters"),
            ));
        }
        check_display_text(description)
            .map_err(|e| (ErrorCode::Invalid, format!("description: {e}")))?;
        let page_language = match language {
            Some(l) => Some(
                Language::parse(l).map_err(|e| (ErrorCode::Invalid, format!("language: {e}")))?,
            ),
            None => None,
        };
        let call_language = call.may_leave_number().await.map_err(refusal)?;
        if !records.progress().borrow().migrated {
            return Err((
                ErrorCode::Internal,
                "callback requests cannot be kept now; keep waiting or try again".into(),
            ));
        }
        let request = CallbackRequest {
            call_id: call.id().clone(),
            number,
            language: page_language.or(call_language),
            description: description.to_owned(),
            status: CallbackStatus::Open,
            requested_at: now_ms(),
            done_at: None,
            done_by: None,
        };
        let kept = records
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
                (
                    ErrorCode::Internal,
                    "the request could not be kept; keep waiting or try again".to_owned(),
                )
            })?;
        call.left_number(kept.number.masked())
            .await
            .map_err(refusal)?;
        Ok(Next::Continue)
    }
}
