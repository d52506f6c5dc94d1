//! The domain values tests start from, written once: interpreters' profiles from one builder,
//! languages, a call's language as a caller chose it, and an interpreter rung by a node.
//!
//! ```ignore
//! let li = interpreter("li-na").speaks("pt", Level::Native).always_on_shift().build();
//! ```

use hotline_bridge::api::messages::{LanguageSource, LanguageView};
use hotline_bridge::domain::{
    CallId, Day, InterpreterId, InterpreterProfile, Language, LanguageSkill, Level, Millis, NodeId,
    OfferId, Shift, TimeOfDay, TimeZoneName, UniversityId, WeeklySchedule,
};
use hotline_bridge::pool::{Availability, ClaimRequest, InterpreterPool, Offer};

pub fn lang(code: &str) -> Language {
    Language::parse(code).expect("language")
}

/// The language of a call as its caller chose it on the page (no detection, no doubt).
pub fn chosen(code: &str) -> LanguageView {
    LanguageView {
        code: Some(lang(code)),
        source: LanguageSource::Chosen,
        confidence: 1.0,
    }
}

/// An interpreter of university `bfsu` named "Interpreter `id`", speaking nothing yet, with no
/// shifts (in UTC) and no personal token, until the builder says otherwise.
pub fn interpreter(id: &str) -> InterpreterBuilder {
    InterpreterBuilder {
        profile: InterpreterProfile {
            id: InterpreterId::parse(id).expect("interpreter id"),
            university: UniversityId::parse("bfsu").expect("university id"),
            name: format!("Interpreter {id}"),
            languages: Vec::new(),
            schedule: WeeklySchedule {
                timezone: TimeZoneName::parse("UTC").expect("time zone"),
                shifts: Vec::new(),
            },
            token_sha256: None,
            phone: None,
            ring: Default::default(),
        },
    }
}

pub struct InterpreterBuilder {
    profile: InterpreterProfile,
}

impl InterpreterBuilder {
    pub fn name(mut self, name: &str) -> Self {
        self.profile.name = name.to_owned();
        self
    }

    pub fn university(mut self, id: &str) -> Self {
        self.profile.university = UniversityId::parse(id).expect("university id");
        self
    }

    /// One more language, at `level`.
    pub fn speaks(mut self, language: &str, level: Level) -> Self {
        self.profile.languages.push(LanguageSkill {
            language: lang(language),
            level,
        });
        self
    }

    /// The time zone the shifts are in (an IANA name).
    pub fn timezone(mut self, tz: &str) -> Self {
        self.profile.schedule.timezone = TimeZoneName::parse(tz).expect("time zone");
        self
    }

    /// One more weekly shift, `start` and `end` as `HH:MM`.
    pub fn shift(mut self, day: Day, start: &str, end: &str) -> Self {
        self.profile.schedule.shifts.push(Shift {
            day,
            start: TimeOfDay::parse(start).expect("start time"),
            end: TimeOfDay::parse(end).expect("end time"),
        });
        self
    }

    /// On shift every hour of the week.
    pub fn always_on_shift(self) -> Self {
        Day::ALL
            .into_iter()
            .fold(self, |b, day| b.shift(day, "00:00", "24:00"))
    }

    /// Signs in with this personal token (only its SHA-256 is stored).
    pub fn token(mut self, token: &str) -> Self {
        self.profile.token_sha256 = Some(hotline_bridge::auth::sha256_hex(token));
        self
    }

    /// Rings them on `number` (E.164) as `ring` says (`phone`, `app_then_phone`).
    pub fn phone(mut self, number: &str, ring: hotline_bridge::domain::RingPreference) -> Self {
        self.profile.phone =
            Some(hotline_bridge::domain::PhoneNumber::parse(number).expect("phone number"));
        self.profile.ring = ring;
        self
    }

    pub fn build(self) -> InterpreterProfile {
        self.profile
    }
}

/// Makes `id` (registered) available at `now`, then `node` rings them alone with `offer` for
/// `call` in `language`, a minute to answer; returns the offer.
pub async fn rung(
    pool: &dyn InterpreterPool,
    node: NodeId,
    offer: &str,
    call: &str,
    language: &str,
    id: &InterpreterId,
    now: Millis,
) -> Offer {
    pool.set_availability(id, Availability::Available, now)
        .await
        .expect("available");
    pool.claim(&ClaimRequest {
        offer_id: OfferId::parse(offer).expect("offer id"),
        node,
        call_id: CallId::parse(call).expect("call id"),
        language: lang(language),
        candidates: vec![id.clone()],
        now,
        deadline: now + 60_000,
        presence_ttl_ms: 60_000,
    })
    .await
    .expect("claim")
    .expect("the interpreter was free to be rung")
}

/// The call's state once it has ended, from its `updates` (subscribed before the end), within
/// `step`.
pub async fn final_state(
    updates: &mut tokio::sync::broadcast::Receiver<hotline_bridge::drivers::call::CallUpdate>,
    step: std::time::Duration,
) -> std::sync::Arc<hotline_bridge::protocol::CallView> {
    use hotline_bridge::drivers::call::CallUpdate;
    tokio::time::timeout(step, async {
        loop {
            match updates.recv().await {
                Ok(CallUpdate::State(view)) if view.state.is_final() => return view,
                Ok(_) => {}
                Err(e) => panic!("the call's updates ended before its end: {e}"),
            }
        }
    })
    .await
    .expect("the call ends")
}
