//! The university API's JSON shapes and their conversions: what a university sends
//! (`InterpreterInput`, checked through `ProfileDraft`) and what it sees (`InterpreterView`,
//! which never carries a token or its hash).

use super::super::ApiError;
use crate::api::state::AppState;
use crate::domain::{
    InterpreterId, InterpreterProfile, Millis, ProfileDraft, ShiftDraft, UniversityId,
};
use crate::pool::InterpreterState;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct UniversityInfo {
    #[schema(example = "bfsu")]
    pub id: String,
    /// The name from the seed roster, or the id when the roster does not name it.
    pub name: String,
}

/// One language of an interpreter.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SkillDoc {
    /// ISO 639-1 code of a language the hotline serves.
    #[schema(example = "pt")]
    pub language: String,
    /// `native`, `professional` or `student`.
    #[schema(example = "native")]
    pub level: String,
}

/// One weekly shift in the interpreter's time zone; an end at or before the start runs past
/// midnight into the next day.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShiftDoc {
    /// `mon` … `sun`.
    #[schema(example = "mon")]
    pub day: String,
    /// `HH:MM`.
    #[schema(example = "09:00")]
    pub start: String,
    /// `HH:MM`; `24:00` ends a day.
    #[schema(example = "17:00")]
    pub end: String,
}

/// An interpreter as a university registers or edits it. Missing fields are errors naming the
/// field, like wrong ones.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct InterpreterInput {
    /// On create: optional, must start with `<uid>-` (default: `<uid>-` and 8 random hex digits).
    /// On update: optional, must equal the path's id.
    #[schema(example = "bfsu-pt-01")]
    pub id: Option<String>,
    #[schema(example = "Ana Lima")]
    pub name: String,
    pub languages: Vec<SkillDoc>,
    /// IANA time zone the shifts are in.
    #[schema(example = "America/Sao_Paulo")]
    pub timezone: String,
    pub shifts: Vec<ShiftDoc>,
    /// E.164 number the bridge may ring them on (`+` and 8-15 digits; spaces, dashes, dots
    /// and brackets are dropped). Absent or empty: none.
    #[schema(example = "+5511912345678")]
    pub phone: Option<String>,
    /// Where offers ring them: `app` (the console, default), `phone` (their phone, through the
    /// hotline's outbound trunk) or `app_then_phone` (the console when it is open, else the
    /// phone). `phone` and `app_then_phone` need a `phone` number.
    #[schema(example = "app")]
    pub ring: Option<String>,
}

/// An interpreter as the university sees it. Never contains a token or its hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct InterpreterView {
    pub id: String,
    pub university: String,
    pub name: String,
    pub languages: Vec<SkillDoc>,
    pub timezone: String,
    pub shifts: Vec<ShiftDoc>,
    /// E.164 number they may be rung on; only their own university sees it.
    pub phone: Option<String>,
    /// `app`, `phone` or `app_then_phone`.
    #[schema(example = "app")]
    pub ring: String,
    /// A personal token has been issued (it is shown only once, when issued).
    pub has_token: bool,
    /// Live status: offline, available, offered, busy, wrap_up or paused.
    #[schema(example = "offline")]
    pub status: String,
    /// Heartbeat within the presence window.
    pub present: bool,
    /// Last heartbeat, Unix milliseconds; absent when never seen.
    pub last_seen: Option<Millis>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InterpreterList {
    pub university: UniversityInfo,
    pub interpreters: Vec<InterpreterView>,
}

/// A newly issued personal token: shown here once, stored only as a hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedToken {
    pub interpreter: InterpreterView,
    /// `<interpreter id>.<secret>`, for the interpreter console.
    pub token: String,
}

/// How a unit enum is written on the wire (`Level::Native` → `native`).
pub(super) fn wire(v: impl Serialize) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

pub(super) fn now_ms() -> Millis {
    u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0)
}

pub(super) fn view(
    state: &AppState,
    p: &InterpreterProfile,
    live: Option<InterpreterState>,
) -> InterpreterView {
    let now = now_ms();
    let ttl_ms = state.settings.dispatch.presence_ttl_s.saturating_mul(1000);
    let status = live
        .as_ref()
        .map_or_else(|| "offline".into(), |l| wire(l.status));
    InterpreterView {
        id: p.id.to_string(),
        university: p.university.to_string(),
        name: p.name.clone(),
        languages: p
            .languages
            .iter()
            .map(|s| SkillDoc {
                language: s.language.to_string(),
                level: wire(s.level),
            })
            .collect(),
        timezone: p.schedule.timezone.0.name().to_owned(),
        shifts: p
            .schedule
            .shifts
            .iter()
            .map(|s| ShiftDoc {
                day: wire(s.day),
                start: s.start.to_string(),
                end: s.end.to_string(),
            })
            .collect(),
        phone: p.phone.as_ref().map(|n| n.as_str().to_owned()),
        ring: p.ring.as_str().to_owned(),
        has_token: p.token_sha256.is_some(),
        present: live.as_ref().is_some_and(|l| l.present(now, ttl_ms)),
        last_seen: live.as_ref().map(|l| l.last_seen).filter(|t| *t > 0),
        status,
    }
}

pub(super) async fn view_of(
    state: &AppState,
    p: &InterpreterProfile,
) -> Result<InterpreterView, ApiError> {
    let live = state.pool.state(&p.id, now_ms()).await?;
    Ok(view(state, p, live))
}

pub(super) fn into_profile(
    state: &AppState,
    input: InterpreterInput,
    id: InterpreterId,
    uid: UniversityId,
) -> Result<InterpreterProfile, ApiError> {
    let draft = ProfileDraft {
        name: input.name,
        languages: input
            .languages
            .into_iter()
            .map(|s| (s.language, s.level))
            .collect(),
        timezone: input.timezone,
        shifts: input
            .shifts
            .into_iter()
            .map(|s| ShiftDraft {
                day: s.day,
                start: s.start,
                end: s.end,
            })
            .collect(),
        phone: input.phone.unwrap_or_default(),
        ring: input.ring.unwrap_or_default(),
    };
    let profile = draft
        .into_profile(id, uid, &state.settings.languages.served())
        .map_err(|e| ApiError::invalid(e.field(), e.to_string()))?;
    if profile.ring.uses_phone() {
        if let Some(why_not) = state.settings.sip.why_no_phones() {
            return Err(ApiError::invalid("ring", format!("ring: {why_not}")));
        }
    }
    Ok(profile)
}

pub(super) fn university_info(state: &AppState, id: &UniversityId) -> UniversityInfo {
    UniversityInfo {
        id: id.to_string(),
        name: state
            .university_names
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string()),
    }
}
