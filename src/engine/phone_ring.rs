//! Ringing interpreters on their phones, decided: where an offer rings (`ring_via`), who the
//! bridge keeps present in the pool by phone (`on_phone_duty`), and one rung phone's offer from
//! dial to join (`PhoneOffer`). Pure; the driver dials, plays and answers as told.
//!
//! Toll-fraud rule, held here: a `Dial` is only ever produced from `PhoneOffer::new`, which takes
//! the number from the interpreter's registered profile for a dispatcher's offer. Nothing a
//! phone or a SIP request sends is an input that can produce one.

use crate::domain::{InterpreterProfile, Millis, PhoneNumber, RingPreference};
use chrono::{DateTime, Utc};

/// Where one offer rings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingVia {
    /// The interpreter console (here or on another node), as ever.
    App,
    /// Their phone, through the outbound trunk.
    Phone,
}

/// `console_open`: a console of theirs is connected on some node. `can_dial`: an outbound trunk
/// is configured. A phone preference without a number or a trunk rings the app (the offer then
/// times out as for an absent console, rather than dialling anything else).
pub fn ring_via(
    ring: RingPreference,
    phone: Option<&PhoneNumber>,
    console_open: bool,
    can_dial: bool,
) -> RingVia {
    let phone_possible = phone.is_some() && can_dial;
    match ring {
        RingPreference::Phone if phone_possible => RingVia::Phone,
        RingPreference::AppThenPhone if phone_possible && !console_open => RingVia::Phone,
        _ => RingVia::App,
    }
}

/// Whether the bridge keeps `p` present in the pool on their behalf at `at`: they asked to be
/// rung on the phone only (`ring = phone`, with a number), and their weekly shift is on. An
/// interpreter rung in the app (or app then phone) is present by their console's heartbeats, as
/// ever; a phone-only interpreter has no console to send them, so the roster is their presence.
pub fn on_phone_duty(p: &InterpreterProfile, at: DateTime<Utc>, can_dial: bool) -> bool {
    can_dial && p.ring == RingPreference::Phone && p.phone.is_some() && p.schedule.on_shift(at)
}

/// What the phone has done, as the driver reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneInput {
    /// 200 OK: they picked up (the leg hears only its prompt from now on).
    Answered,
    /// A key pressed (RFC 4733 or SIP INFO).
    Digit(char),
    /// BYE, a final refusal (busy, declined), or the INVITE failed.
    HungUp,
    /// The dispatcher ended the offer: withdrawn, expired or taken by another (not an accept).
    OfferGone,
    /// The dispatcher invited them into the call (after their accept).
    Invited,
    /// The call ended or they were taken out of it.
    CallOver,
}

/// What the driver must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneAction {
    /// INVITE this number through the outbound trunk.
    Dial(PhoneNumber),
    /// Play the offer prompt (Chinese, then the call's language) to the leg alone.
    PlayOffer,
    /// Answer the offer for them, as the console's `accept_offer` does.
    Accept,
    /// As the console's `decline_offer`.
    Decline,
    /// Bring the phone leg into the call as this interpreter's participant.
    Join,
    /// The interpreter left the call (replacement as for a browser interpreter).
    Leave,
    /// CANCEL before the answer, BYE after it.
    HangUp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneStage {
    Dialling,
    Prompting,
    /// Pressed 1; waiting for the dispatcher's invitation.
    Accepted,
    InCall,
    Over,
}

/// One phone rung for one offer, from dial to the end of their part in the call.
#[derive(Debug, Clone)]
pub struct PhoneOffer {
    stage: PhoneStage,
    /// When the ring was made (for logs and the driver's own bookkeeping).
    pub since: Millis,
}

impl PhoneOffer {
    /// The offer rings `profile`'s registered number: the only way a `Dial` comes to be. `None`
    /// when the profile has no number.
    pub fn new(profile: &InterpreterProfile, now: Millis) -> Option<(Self, PhoneAction)> {
        let number = profile.phone.clone()?;
        Some((
            Self {
                stage: PhoneStage::Dialling,
                since: now,
            },
            PhoneAction::Dial(number),
        ))
    }

    pub fn stage(&self) -> PhoneStage {
        self.stage
    }

    pub fn handle(&mut self, input: PhoneInput) -> Vec<PhoneAction> {
        use PhoneAction as A;
        use PhoneInput as I;
        use PhoneStage as S;
        let (next, actions) = match (self.stage, input) {
            (S::Over, _) => (S::Over, vec![]),
            (S::Dialling, I::Answered) => (S::Prompting, vec![A::PlayOffer]),
            (S::Prompting, I::Digit('1')) => (S::Accepted, vec![A::Accept]),
            (S::Prompting, I::Digit('2')) => (S::Over, vec![A::Decline, A::HangUp]),
            // Any other key: the prompt goes on; the dispatcher's timer still runs.
            (S::Prompting, I::Digit(_)) => (S::Prompting, vec![]),
            (S::Dialling | S::Prompting, I::HungUp) => (S::Over, vec![A::Decline]),
            (S::Dialling | S::Prompting, I::OfferGone) => (S::Over, vec![A::HangUp]),
            (S::Accepted, I::Invited) => (S::InCall, vec![A::Join]),
            // Keys pressed once accepted are the call's business, not the offer's.
            (S::Accepted | S::InCall, I::Digit(_)) => (self.stage, vec![]),
            (S::Accepted | S::InCall, I::HungUp) => (S::Over, vec![A::Leave]),
            (S::Accepted | S::InCall, I::OfferGone | I::CallOver) => (S::Over, vec![A::HangUp]),
            (stage, _) => (stage, vec![]),
        };
        self.stage = next;
        actions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Day, Shift, TimeOfDay, TimeZoneName, WeeklySchedule};
    use PhoneAction as A;
    use PhoneInput as I;

    fn number() -> PhoneNumber {
        PhoneNumber::parse("+5511912345678").expect("number")
    }

    /// On shift Wednesdays 09-17 UTC.
    fn profile(ring: RingPreference, phone: Option<PhoneNumber>) -> InterpreterProfile {
        let shift = Shift {
            day: Day::Wed,
            start: TimeOfDay::parse("09:00").expect("t"),
            end: TimeOfDay::parse("17:00").expect("t"),
        };
        InterpreterProfile {
            schedule: WeeklySchedule {
                timezone: TimeZoneName::parse("UTC").expect("tz"),
                shifts: vec![shift],
            },
            phone,
            ring,
            ..InterpreterProfile::sample()
        }
    }

    #[test]
    fn the_preference_decides_where_an_offer_rings() {
        let n = number();
        use RingPreference::*;
        assert_eq!(ring_via(App, Some(&n), false, true), RingVia::App);
        assert_eq!(ring_via(Phone, Some(&n), true, true), RingVia::Phone);
        assert_eq!(ring_via(AppThenPhone, Some(&n), true, true), RingVia::App);
        assert_eq!(
            ring_via(AppThenPhone, Some(&n), false, true),
            RingVia::Phone
        );
    }

    #[test]
    fn without_a_number_or_a_trunk_nothing_is_dialled() {
        use RingPreference::*;
        assert_eq!(ring_via(Phone, None, false, true), RingVia::App);
        assert_eq!(ring_via(Phone, Some(&number()), false, false), RingVia::App);
        assert!(PhoneOffer::new(&profile(Phone, None), 0).is_none());
    }

    #[test]
    fn phone_only_interpreters_are_kept_present_during_their_shift_only() {
        let wed_10: DateTime<Utc> = "2026-12-02T10:00:00Z".parse().expect("t");
        let wed_20: DateTime<Utc> = "2026-12-02T20:00:00Z".parse().expect("t");
        let phone = profile(RingPreference::Phone, Some(number()));
        assert!(on_phone_duty(&phone, wed_10, true));
        assert!(!on_phone_duty(&phone, wed_20, true));
        assert!(!on_phone_duty(&phone, wed_10, false), "no trunk, no duty");
        let app_then = profile(RingPreference::AppThenPhone, Some(number()));
        assert!(
            !on_phone_duty(&app_then, wed_10, true),
            "their console keeps them"
        );
    }

    fn answered() -> PhoneOffer {
        let (mut o, dial) =
            PhoneOffer::new(&profile(RingPreference::Phone, Some(number())), 5).expect("rung");
        assert_eq!(dial, A::Dial(number()));
        assert_eq!(o.handle(I::Answered), vec![A::PlayOffer]);
        o
    }

    #[test]
    fn pressing_1_accepts_then_the_invitation_brings_the_phone_into_the_call() {
        let mut o = answered();
        assert_eq!(o.handle(I::Digit('7')), vec![]);
        assert_eq!(o.handle(I::Digit('1')), vec![A::Accept]);
        assert_eq!(
            o.handle(I::Digit('1')),
            vec![],
            "a second 1 accepts nothing more"
        );
        assert_eq!(o.handle(I::Invited), vec![A::Join]);
        assert_eq!(o.stage(), PhoneStage::InCall);
        assert_eq!(o.handle(I::HungUp), vec![A::Leave]);
        assert_eq!(o.handle(I::CallOver), vec![]);
    }

    #[test]
    fn pressing_2_or_hanging_up_declines() {
        let mut o = answered();
        assert_eq!(o.handle(I::Digit('2')), vec![A::Decline, A::HangUp]);
        assert_eq!(o.handle(I::HungUp), vec![]);
        let (mut o, _) =
            PhoneOffer::new(&profile(RingPreference::Phone, Some(number())), 0).expect("rung");
        assert_eq!(o.handle(I::HungUp), vec![A::Decline], "busy or refused");
        let mut o = answered();
        assert_eq!(o.handle(I::HungUp), vec![A::Decline]);
    }

    #[test]
    fn an_offer_withdrawn_or_expired_hangs_the_phone_up() {
        let (mut o, _) =
            PhoneOffer::new(&profile(RingPreference::Phone, Some(number())), 0).expect("rung");
        assert_eq!(o.handle(I::OfferGone), vec![A::HangUp]);
        assert_eq!(
            o.handle(I::Answered),
            vec![],
            "an answer after the CANCEL is let go"
        );
        let mut o = answered();
        assert_eq!(o.handle(I::OfferGone), vec![A::HangUp]);
        assert_eq!(o.stage(), PhoneStage::Over);
    }

    #[test]
    fn the_call_ending_hangs_up_an_interpreter_in_it() {
        let mut o = answered();
        o.handle(I::Digit('1'));
        o.handle(I::Invited);
        assert_eq!(o.handle(I::CallOver), vec![A::HangUp]);
        assert_eq!(o.handle(I::HungUp), vec![]);
    }
}
