//! The one error type at the HTTP edge: a status, a stable machine code and a message for people.
//! Internal details are logged, never sent to clients.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The request field the error concerns, when there is one.
    pub field: Option<&'static str>,
    /// Seconds to wait before trying again (a `Retry-After` header), for refusals by a limit.
    pub retry_after_s: Option<u64>,
    /// The `/ws` error code when it is finer than the HTTP status says (`to_ws`).
    pub ws: Option<crate::protocol::ErrorCode>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after_s: None,
            ws: None,
        }
    }

    /// The code a `/ws` session sends for this refusal.
    pub fn on_socket(mut self, code: crate::protocol::ErrorCode) -> Self {
        self.ws = Some(code);
        self
    }

    pub fn with_field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message).with_field(field)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong credentials (Authorization: Bearer <key>)",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// A failure of ours: logged in full, reported to the client without internals.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; it has been logged",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
                field: self.field,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after_s {
            if let Ok(v) = axum::http::HeaderValue::from_str(&s.to_string()) {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        response
    }
}

impl From<crate::pool::PoolError> for ApiError {
    fn from(e: crate::pool::PoolError) -> Self {
        use crate::pool::PoolError as P;
        match e {
            P::Unavailable(m) => {
                tracing::warn!(error = %m, "pool unavailable");
                ApiError::unavailable("the interpreter pool is unreachable; try again shortly")
            }
            P::UnknownInterpreter(id) => ApiError::not_found(format!("no interpreter {id}")),
            P::UnknownOffer(id) => ApiError::not_found(format!("no offer {id}")),
            P::NotYours(_) => ApiError::forbidden("that offer is not yours"),
            P::TooLate(_) => ApiError::conflict("the offer expired before it was answered"),
            P::AlreadyEnded {
                state: crate::pool::OfferState::Cancelled,
                ..
            } => ApiError::conflict("this offer was taken by another interpreter or cancelled"),
            P::AlreadyEnded { state, .. } => {
                ApiError::conflict(format!("the offer already ended ({state:?})"))
            }
            P::Engaged(_) => ApiError::conflict("the interpreter is on a call or has a live offer"),
            P::Corrupt(m) => ApiError::internal(m),
        }
    }
}

impl From<crate::drivers::dispatch::DispatchRefused> for ApiError {
    fn from(e: crate::drivers::dispatch::DispatchRefused) -> Self {
        use crate::drivers::dispatch::DispatchRefused as R;
        use crate::engine::dispatch::DispatchError as D;
        match e {
            R::Engine(D::AlreadyRequested(_)) => ApiError::conflict(
                "an interpreter is already being sought or in this call; cancel that first",
            ),
            R::Engine(D::NoInterpreter(_)) => ApiError::conflict(e.to_string()),
            R::Engine(_) | R::NoCall(_) => ApiError::not_found(e.to_string()),
            R::Stopped => ApiError::internal(e),
            R::Draining => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "draining", e.to_string())
            }
        }
    }
}

impl From<crate::drivers::call::CallTaskError> for ApiError {
    fn from(e: crate::drivers::call::CallTaskError) -> Self {
        use crate::drivers::call::CallTaskError as T;
        use crate::engine::CallError as C;
        match e {
            T::Call(C::NotInCall(p)) => ApiError::not_found(format!("{p} is not in the call"))
                .on_socket(crate::protocol::ErrorCode::NotInCall),
            T::Call(c) => ApiError::conflict(c.to_string()),
            T::NotInvited(_) => ApiError::forbidden(e.to_string()),
            T::Gone => ApiError::conflict("the call is over")
                .on_socket(crate::protocol::ErrorCode::NotFound),
            T::Wait(w) => ApiError::conflict(w.to_string()),
            T::NoCase | T::NotAPhone | T::NotWaiting | T::LeavingNumber => {
                ApiError::conflict(e.to_string())
            }
            T::NoMedia => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "media", e.to_string()),
            T::Media(m) => media_refusal(&m),
        }
    }
}

/// The media plane's refusal in words for the client. The WebRTC stack's own messages (parser
/// positions, internal values) are logged, never sent.
fn media_refusal(e: &crate::drivers::media::MediaError) -> ApiError {
    use crate::drivers::media::MediaError as M;
    use crate::sfu::SfuError as S;
    tracing::info!(error = %e, "media refused a client's request");
    let message = match e {
        M::Sfu(S::BadOffer(_)) => {
            "the SDP offer was not accepted: it could not be read, or offers no audio this \
             service can take (Opus over DTLS-SRTP)"
        }
        M::Sfu(S::BadCandidate(_)) => "the ICE candidate was not accepted: it could not be read",
        M::Sfu(S::UnknownCall(_) | S::UnknownParticipant { .. }) => {
            "no media for this participant yet: send an offer first"
        }
        M::Bind { .. } | M::Sfu(S::Setup(_)) | M::Thread(_) | M::Stopped | M::Phone(_) => {
            "the media service cannot take this now; try again shortly"
        }
    };
    ApiError::new(StatusCode::BAD_GATEWAY, "media", message)
}

impl ApiError {
    /// The same refusal for a `/ws` session: the `error` message's stable code, and the words.
    pub fn to_ws(&self) -> (crate::protocol::ErrorCode, String) {
        use crate::protocol::ErrorCode as E;
        let code = match (self.code, self.status) {
            _ if self.ws.is_some() => self.ws.unwrap_or(E::Internal),
            ("media", _) => E::Media,
            ("draining", _) => E::Draining,
            ("rate_limited", _) => E::RateLimited,
            (_, StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY) => E::Invalid,
            (_, StatusCode::UNAUTHORIZED) => E::Unauthorized,
            (_, StatusCode::FORBIDDEN) => E::Forbidden,
            (_, StatusCode::NOT_FOUND) => E::NotFound,
            (_, StatusCode::CONFLICT) => E::Conflict,
            (_, StatusCode::PAYLOAD_TOO_LARGE) => E::TooLarge,
            (_, StatusCode::TOO_MANY_REQUESTS) => E::RateLimited,
            _ => E::Internal,
        };
        (code, self.message.clone())
    }
}

/// Gives the body-limit layer's plain-text 413 (sent before any handler runs) our JSON shape.
pub async fn payload_too_large_as_json(res: Response) -> Response {
    let is_json = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if res.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "request body too large",
        )
        .into_response();
    }
    res
}

/// JSON body extractor whose rejections are `ApiError`s in our format.
pub struct JsonBody<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        use axum::extract::rejection::JsonRejection;
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                e.body_text(),
            )),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(ApiError::bad_request(format!(
                "malformed JSON: {}",
                e.body_text()
            ))),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send Content-Type: application/json",
            )),
            Err(JsonRejection::BytesRejection(e))
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "request body too large",
                ))
            }
            Err(e) => Err(ApiError::new(e.status(), "bad_request", e.body_text())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::call::CallTaskError;
    use crate::drivers::media::MediaError;
    use crate::protocol::ErrorCode;
    use crate::sfu::SfuError;

    #[test]
    fn a_call_refusal_reads_the_same_over_http_and_the_socket() {
        let e = ApiError::from(CallTaskError::Call(crate::engine::CallError::NotAnswered));
        assert_eq!((e.status, e.code), (StatusCode::CONFLICT, "conflict"));
        assert_eq!(e.to_ws(), (ErrorCode::Conflict, e.message.clone()));
        let p = crate::domain::ParticipantId::parse("ghost").expect("id");
        let e = ApiError::from(CallTaskError::Call(crate::engine::CallError::NotInCall(p)));
        assert_eq!((e.status, e.code), (StatusCode::NOT_FOUND, "not_found"));
        assert_eq!(e.to_ws().0, ErrorCode::NotInCall);
    }

    #[test]
    fn a_media_refusal_never_carries_the_stacks_own_words() {
        let internal = "parse error at 0x7ffd3a2c: a=fingerprint";
        let e = ApiError::from(CallTaskError::Media(MediaError::Sfu(SfuError::BadOffer(
            internal.into(),
        ))));
        assert_eq!((e.status, e.code), (StatusCode::BAD_GATEWAY, "media"));
        let (code, message) = e.to_ws();
        assert_eq!(code, ErrorCode::Media);
        assert!(!message.contains("0x7ffd"), "{message}");
        assert!(message.contains("SDP offer"), "{message}");
    }

    #[test]
    fn a_draining_dispatcher_is_draining_on_the_socket_and_503_over_http() {
        let e = ApiError::from(crate::drivers::dispatch::DispatchRefused::Draining);
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(e.to_ws().0, ErrorCode::Draining);
    }
}
