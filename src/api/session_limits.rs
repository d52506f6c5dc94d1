//! What one signalling session may send, checked before anything it sent reaches a call's task
//! or the media loop: an absolute deadline for `hello` (frames do not extend it), a message rate,
//! a rate of offers (the first and each renegotiation), the media sections one offer may ask
//! for, and the ICE candidates one party may trickle per offer. Each refusal is an `error`
//! message with code `rate_limited` or `invalid`, counted in `/metrics`; the session's
//! consecutive-refusal count then closes a client that keeps going (1008).

use crate::config::LimitSettings;
use crate::protocol::ErrorCode;
use governor::{DefaultDirectRateLimiter, Quota};
use std::num::NonZeroU32;
use tokio::time::Instant;

/// A refusal: the error code and words for the client.
pub type Refusal = (ErrorCode, String);

pub struct SessionLimits {
    hello_by: Instant,
    messages: DefaultDirectRateLimiter,
    offers: DefaultDirectRateLimiter,
    candidates: u32,
    max_candidates: u32,
    max_sections: u32,
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

impl SessionLimits {
    /// Limits of a session opened now, whose `hello` is due within `hello_within`.
    pub fn new(l: &LimitSettings, hello_within: std::time::Duration) -> Self {
        let offers = nonzero(l.offers_per_minute);
        Self {
            hello_by: Instant::now() + hello_within,
            messages: DefaultDirectRateLimiter::direct(
                Quota::per_second(nonzero(l.ws_messages_per_s))
                    .allow_burst(nonzero(l.ws_messages_burst)),
            ),
            offers: DefaultDirectRateLimiter::direct(Quota::per_minute(offers).allow_burst(offers)),
            candidates: 0,
            max_candidates: l.ice_candidates_per_offer,
            max_sections: l.media_sections_per_offer,
        }
    }

    /// When `hello` must have arrived, however many frames came before it.
    pub fn hello_by(&self) -> Instant {
        self.hello_by
    }

    /// One message of any kind.
    pub fn message(&mut self) -> Result<(), Refusal> {
        self.messages.check().map_err(|_| {
            crate::metrics::limited("ws_messages_per_s");
            (
                ErrorCode::RateLimited,
                "too many messages: slow down (this one was not read)".to_owned(),
            )
        })
    }

    /// An offer: within the rate, and asking for no more media sections than allowed. An
    /// accepted offer starts a new count of candidates.
    pub fn offer(&mut self, sdp: &str) -> Result<(), Refusal> {
        let sections = sdp.lines().filter(|l| l.starts_with("m=")).count();
        if self.max_sections > 0 && sections > self.max_sections as usize {
            crate::metrics::limited("media_sections_per_offer");
            return Err((
                ErrorCode::Invalid,
                format!(
                    "the offer has {sections} media sections; at most {} are accepted",
                    self.max_sections
                ),
            ));
        }
        self.offers.check().map_err(|_| {
            crate::metrics::limited("offers_per_minute");
            (
                ErrorCode::RateLimited,
                "too many offers this minute: renegotiate less often".to_owned(),
            )
        })?;
        self.candidates = 0;
        Ok(())
    }

    /// One trickled ICE candidate.
    pub fn candidate(&mut self) -> Result<(), Refusal> {
        if self.max_candidates > 0 && self.candidates >= self.max_candidates {
            crate::metrics::limited("ice_candidates_per_offer");
            return Err((
                ErrorCode::RateLimited,
                format!(
                    "at most {} ICE candidates per offer; this one was not used",
                    self.max_candidates
                ),
            ));
        }
        self.candidates += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use std::time::Duration;

    fn limits(edit: impl FnOnce(&mut LimitSettings)) -> SessionLimits {
        let mut l = Settings::from_toml_str("").expect("defaults").limits;
        edit(&mut l);
        SessionLimits::new(&l, Duration::from_secs(10))
    }

    fn offer(sections: usize) -> String {
        let mut sdp = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n".to_owned();
        for _ in 0..sections {
            sdp.push_str("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=recvonly\r\n");
        }
        sdp
    }

    #[test]
    fn candidates_are_capped_per_offer_and_a_new_offer_starts_a_new_count() {
        let mut s = limits(|l| l.ice_candidates_per_offer = 3);
        s.offer(&offer(1)).expect("offer");
        for _ in 0..3 {
            s.candidate().expect("within the cap");
        }
        let (code, _) = s.candidate().expect_err("fourth candidate");
        assert_eq!(code, ErrorCode::RateLimited);
        s.offer(&offer(1)).expect("renegotiation");
        s.candidate().expect("counted again from zero");
    }

    #[test]
    fn an_offer_asking_for_too_many_receive_slots_is_refused_before_the_media_loop() {
        let mut s = limits(|l| l.media_sections_per_offer = 4);
        s.offer(&offer(4)).expect("four sections");
        let (code, message) = s.offer(&offer(40)).expect_err("forty sections");
        assert_eq!(code, ErrorCode::Invalid);
        assert!(message.contains("40"), "{message}");
    }

    #[test]
    fn offers_and_messages_beyond_their_rate_are_refused() {
        let mut s = limits(|l| {
            l.offers_per_minute = 2;
            l.ws_messages_per_s = 1;
            l.ws_messages_burst = 5;
        });
        s.offer(&offer(1)).expect("first");
        s.offer(&offer(1)).expect("second");
        assert_eq!(
            s.offer(&offer(1)).expect_err("third").0,
            ErrorCode::RateLimited
        );
        let accepted = (0..50).filter(|_| s.message().is_ok()).count();
        assert_eq!(accepted, 5, "a burst of 5, then refused");
    }

    #[test]
    fn zero_means_no_cap_on_candidates_and_sections() {
        let mut s = limits(|l| {
            l.ice_candidates_per_offer = 0;
            l.media_sections_per_offer = 0;
        });
        s.offer(&offer(50)).expect("no cap on sections");
        for _ in 0..1000 {
            s.candidate().expect("no cap on candidates");
        }
    }
}
