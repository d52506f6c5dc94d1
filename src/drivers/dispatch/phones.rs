//! The line from the dispatcher to the dialler: offers that ring a phone instead of a console
//! (`engine::phone_ring::ring_via`) and what becomes of them. The dialler (the SIP edge, an outer
//! ring) takes the receiving end once at start; without it no phone is ever rung. Every offer
//! state stays the dispatcher's: the dialler answers offers through `DispatchHandle::respond`,
//! exactly as a console does.

use crate::domain::{InterpreterProfile, Language, OfferId};
use crate::pool::Offer;
use std::sync::{Arc, OnceLock};
use tokio::sync::mpsc;

/// Commands queued to the dialler; when it falls this far behind, a ring is not made (the
/// offer then times out as for an absent console) and later news of it is dropped.
pub const PHONE_CAPACITY: usize = 256;

/// What the dispatcher tells the dialler.
#[derive(Debug, Clone)]
pub enum PhoneCmd {
    /// Ring `profile`'s registered number for `offer`; the prompt is spoken in `operator`, then
    /// in the offer's language.
    Ring {
        offer: Offer,
        profile: Box<InterpreterProfile>,
        operator: Language,
    },
    /// The accepted offer's interpreter may enter the call now (an operator has answered).
    Invited { offer: OfferId },
    /// The offer ended without their accept: withdrawn, expired or taken by another.
    Ended { offer: OfferId },
}

/// Cheap to clone; every clone is the same line.
#[derive(Clone, Default)]
pub struct Phones {
    line: Arc<OnceLock<mpsc::Sender<PhoneCmd>>>,
}

impl Phones {
    /// Connects the dialler: the receiving end, once (`None` when already connected).
    pub fn connect(&self) -> Option<mpsc::Receiver<PhoneCmd>> {
        let (tx, rx) = mpsc::channel(PHONE_CAPACITY);
        self.line.set(tx).ok().map(|()| rx)
    }

    /// Whether a dialler is connected and running.
    pub fn can_dial(&self) -> bool {
        self.line.get().is_some_and(|tx| !tx.is_closed())
    }

    /// Queues `cmd`; false when no dialler takes it.
    pub(super) fn send(&self, cmd: PhoneCmd) -> bool {
        match self.line.get() {
            Some(tx) => match tx.try_send(cmd) {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "dialler not reached");
                    false
                }
            },
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ended() -> PhoneCmd {
        PhoneCmd::Ended {
            offer: OfferId::random(),
        }
    }

    #[test]
    fn nothing_is_rung_until_a_dialler_connects_and_only_one_connects() {
        let phones = Phones::default();
        assert!(!phones.can_dial());
        assert!(!phones.send(ended()));
        let mut rx = phones.connect().expect("first dialler");
        assert!(phones.connect().is_none(), "a second dialler");
        assert!(phones.can_dial());
        assert!(phones.send(ended()));
        assert!(matches!(rx.try_recv(), Ok(PhoneCmd::Ended { .. })));
        drop(rx);
        assert!(!phones.can_dial(), "the dialler stopped");
        assert!(!phones.send(ended()));
    }
}
