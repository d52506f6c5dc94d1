//! The caller leaves a number to be called back instead of waiting longer: checked here (a
//! record is kept, the number's form, the description's size), then kept by
//! `drivers::callbacks` (allowed by the call task only while the long-wait question is open;
//! the call then ends, `ended_by` callback). A store that fails leaves the call waiting, the
//! question open.

use super::refusals::refusal;
use super::{Next, Session};
use crate::domain::{check_display_text, CallbackNumber, Language, CALLBACK_DESCRIPTION_MAX_CHARS};
use crate::drivers::call::Asker;
use crate::drivers::callbacks::{leave_number, LeaveError};
use crate::protocol::ErrorCode;
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
        leave_number(
            records,
            &call,
            number,
            page_language,
            description.to_owned(),
            Asker::Page,
        )
        .await
        .map_err(|e| match e {
            LeaveError::Call(e) => refusal(e),
            LeaveError::NotReady => (
                ErrorCode::Internal,
                "callback requests cannot be kept now; keep waiting or try again".into(),
            ),
            LeaveError::NotKept(_) => (
                ErrorCode::Internal,
                "the request could not be kept; keep waiting or try again".to_owned(),
            ),
        })?;
        Ok(Next::Continue)
    }
}
