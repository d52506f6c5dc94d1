//! Call recordings for supervisors only: the recordings of a call, and one recording's audio
//! (Ogg Opus, with byte ranges). Every play, a request from the first byte, is written to the
//! audit stream (`recording_played`: who played which leg of which call). Operators get 403,
//! anyone else 401, before anything is looked up.

use super::record;
use super::supervisor::Supervisor;
use super::ApiError;
use crate::api::state::AppState;
use crate::domain::{CallId, EventKind, Millis, ParticipantId, Recording};
use crate::drivers::clock::now_ms;
use crate::pool::PoolEvent;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use utoipa::ToSchema;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/supervisor/calls/{call_id}/recordings",
            get(recordings_of_call),
        )
        .route(
            "/api/supervisor/recordings/{recording_id}/audio",
            get(audio),
        )
}

#[derive(Serialize, ToSchema)]
pub struct RecordingView {
    pub id: String,
    #[schema(value_type = String)]
    pub participant: ParticipantId,
    pub started_at: Millis,
    /// `null` while the leg is still being recorded.
    pub ended_at: Option<Millis>,
    pub bytes: u64,
    /// Where its audio is played from (audio/ogg, with the same session).
    pub audio: String,
}

#[derive(Serialize, ToSchema)]
pub struct CallRecordings {
    /// Each recorded leg, in the order it started.
    pub recordings: Vec<RecordingView>,
}

/// The recordings of one call (none when it was not recorded).
#[utoipa::path(get, path = "/api/supervisor/calls/{call_id}/recordings", tag = "supervisor",
    params(("call_id" = String, Path, description = "the call")),
    security(("supervisor_session" = [])),
    responses(
        (status = 200, body = CallRecordings),
        (status = 401, description = "not logged in as a supervisor"),
        (status = 403, description = "an operator's session"),
        (status = 404, description = "no such call id, or this node keeps no record"),
    ))]
pub async fn recordings_of_call(
    sup: Supervisor,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<CallRecordings>, ApiError> {
    let call =
        CallId::parse(&raw).map_err(|_| ApiError::not_found(format!("no call {raw:.64}")))?;
    let found = record::ready(&state, "recordings")?
        .store()
        .recordings_of_call(&call)
        .await
        .map_err(record::failed("the recordings"))?;
    tracing::info!(call_id = %call, supervisor = %sup.name, recordings = found.len(),
        "recordings listed");
    Ok(Json(CallRecordings {
        recordings: found.into_iter().map(view).collect(),
    }))
}

fn view(r: Recording) -> RecordingView {
    RecordingView {
        audio: format!("/api/supervisor/recordings/{}/audio", r.id),
        id: r.id,
        participant: r.participant,
        started_at: r.started_at,
        ended_at: r.ended_at,
        bytes: r.bytes,
    }
}

/// One recording's audio (`audio/ogg`; `Range: bytes=a-b` answers 206). Each play from the
/// start is audited.
#[utoipa::path(get, path = "/api/supervisor/recordings/{recording_id}/audio", tag = "supervisor",
    params(("recording_id" = String, Path, description = "from the call's recordings")),
    security(("supervisor_session" = [])),
    responses(
        (status = 200, description = "the whole Ogg Opus file", content_type = "audio/ogg"),
        (status = 206, description = "the range asked for", content_type = "audio/ogg"),
        (status = 401, description = "not logged in as a supervisor"),
        (status = 403, description = "an operator's session"),
        (status = 404, description = "no such recording, or its file is gone"),
        (status = 416, description = "a range outside the file"),
    ))]
pub async fn audio(
    sup: Supervisor,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let no_such = || ApiError::not_found(format!("no recording {id:.64}"));
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(no_such());
    }
    let rec = record::ready(&state, "recordings")?
        .store()
        .recording(&id)
        .await
        .map_err(record::failed("the recordings"))?
        .ok_or_else(no_such)?;
    let mut file = tokio::fs::File::open(&rec.path).await.map_err(|e| {
        tracing::warn!(call_id = %rec.call_id, recording = %rec.id, error = %e,
            "recording file cannot be opened");
        no_such()
    })?;
    let len = file.metadata().await.map_err(ApiError::internal)?.len();
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(r) => Some(parse_range(r, len).ok_or_else(|| {
            ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "bad_range",
                format!("the recording has {len} bytes"),
            )
        })?),
        None => None,
    };
    let (start, end) = range.unwrap_or((0, len.saturating_sub(1)));
    if start == 0 {
        played(&state, &sup, &rec).await?;
    }
    let mut body = Vec::new();
    if len > 0 {
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(ApiError::internal)?;
        file.take(end - start + 1)
            .read_to_end(&mut body)
            .await
            .map_err(ApiError::internal)?;
    }
    let mut r = Response::builder()
        .header(header::CONTENT_TYPE, "audio/ogg")
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CACHE_CONTROL, "no-store");
    if range.is_some() {
        r = r
            .status(StatusCode::PARTIAL_CONTENT)
            .header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}"));
    }
    r.body(Body::from(body)).map_err(ApiError::internal)
}

/// `bytes=a-b`, `bytes=a-` or `bytes=-n` within `len` bytes, as (first, last); one range only.
fn parse_range(raw: &str, len: u64) -> Option<(u64, u64)> {
    let spec = raw.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || len == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let (start, end) = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        (len.saturating_sub(n), len - 1)
    } else {
        let start: u64 = a.parse().ok()?;
        let end = if b.is_empty() {
            len - 1
        } else {
            b.parse::<u64>().ok()?.min(len - 1)
        };
        (start, end)
    };
    (start <= end && start < len).then_some((start, end))
}

/// The audit stream's record of a play (every node's supervisors read it); a play that cannot
/// be audited is not served.
async fn played(state: &AppState, sup: &Supervisor, rec: &Recording) -> Result<(), ApiError> {
    let detail = serde_json::json!({
        "supervisor": sup.name,
        "recording": rec.id,
        "participant": rec.participant,
    })
    .to_string();
    let event = PoolEvent {
        kind: EventKind::RecordingPlayed,
        at: now_ms(),
        call_id: Some(rec.call_id.clone()),
        interpreter: None,
        language: None,
        offer_id: None,
        detail,
    };
    crate::metrics::event(&event);
    tracing::info!(call_id = %rec.call_id, supervisor = %sup.name, recording = %rec.id,
        "recording played");
    state.pool.record(&event).await.map_err(|e| {
        tracing::warn!(call_id = %rec.call_id, error = %e, "recording play not audited: refused");
        ApiError::unavailable("the play cannot be audited now; try again")
    })
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn one_byte_range_is_read_within_the_file_and_anything_else_is_refused() {
        assert_eq!(parse_range("bytes=0-99", 1000), Some((0, 99)));
        assert_eq!(parse_range("bytes=900-", 1000), Some((900, 999)));
        assert_eq!(parse_range("bytes=-100", 1000), Some((900, 999)));
        assert_eq!(parse_range("bytes=990-5000", 1000), Some((990, 999)));
        assert_eq!(parse_range("bytes=1000-", 1000), None);
        assert_eq!(parse_range("bytes=5-1", 1000), None);
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), None);
        assert_eq!(parse_range("items=0-1", 1000), None);
        assert_eq!(parse_range("bytes=0-", 0), None);
    }
}
