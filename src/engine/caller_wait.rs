//! `CallerWait`: a queued call's caller as the queue sees them (pure; time is passed in). Whether
//! the caller is really there (a signalling session open, their media connected and packets
//! arriving) decides whether the call may ring an interpreter before an operator answers
//! (pre-dispatch) and when a pre-dispatched interpreter is let go; how long the call has waited
//! decides when the caller is asked whether to keep waiting, and an unanswered question ends the
//! call. `handle(input, now)` in, `poll_action()` out until `WakeAt`. No clock, no I/O.

use crate::domain::{Language, Millis};
use std::collections::VecDeque;

/// `WakeAt` value when nothing is scheduled.
pub const NEVER: Millis = Millis::MAX;

/// The queue-wait settings in the units the engine computes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitPolicy {
    /// Waited this long, the caller is asked whether to keep waiting (0 = never asked).
    pub max_wait_ms: u64,
    /// Not answered within this long, the question ends the call.
    pub reply_ms: u64,
}

/// Where the caller of a call stands, as pre-dispatch needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// A session is open and packets arrive from the caller's media: an interpreter may be rung.
    Ready,
    /// No signalling session (not opened yet, closed, or reloading).
    Away,
    /// A session, but no connected media (not yet, or it dropped).
    NoMedia,
    /// Media connected, but no packets arriving (not yet, or not any more).
    Silent,
    /// An operator answered: the caller's presence no longer gates the interpreter search.
    Answered,
    /// The call is over.
    Ended,
}

impl Presence {
    /// Whether a queued call may ring an interpreter before an operator answers.
    pub fn may_predispatch(self) -> bool {
        self == Presence::Ready
    }

    /// Whether a request made by pre-dispatch must be withdrawn (its interpreter let go at once).
    pub fn withdraws_predispatch(self) -> bool {
        matches!(
            self,
            Presence::Away | Presence::NoMedia | Presence::Silent | Presence::Ended
        )
    }

    /// For logs and the audit stream.
    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Ready => "ready",
            Presence::Away => "caller away",
            Presence::NoMedia => "caller media not connected",
            Presence::Silent => "caller media silent",
            Presence::Answered => "answered",
            Presence::Ended => "call ended",
        }
    }
}

/// Whether a queued call should ring an interpreter now: its caller is `Ready`, its language is
/// known with at least `threshold` confidence, and it is not the operators' own.
pub fn predispatch_language(
    presence: Presence,
    language: Option<Language>,
    confidence: f64,
    threshold: f64,
    operator: Language,
) -> Option<Language> {
    let language = language?;
    (presence.may_predispatch() && confidence >= threshold && language != operator)
        .then_some(language)
}

/// Caps on the calls waiting for an operator at once (0 = no cap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitCaps {
    /// From one client address.
    pub per_address: u32,
    /// On this node in total.
    pub total: u32,
}

/// Why a new call is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WaitRefusal {
    #[error("{cap} calls from this address are already waiting for an operator")]
    PerAddress { cap: u32 },
    #[error("{cap} calls are already waiting for an operator")]
    Total { cap: u32 },
}

/// Whether one more call may join a queue holding `waiting` calls, `from_address` of them from the
/// new caller's address.
pub fn admit(caps: WaitCaps, waiting: usize, from_address: usize) -> Result<(), WaitRefusal> {
    let full = |cap: u32, n: usize| cap > 0 && n >= cap as usize;
    if full(caps.per_address, from_address) {
        return Err(WaitRefusal::PerAddress {
            cap: caps.per_address,
        });
    }
    if full(caps.total, waiting) {
        return Err(WaitRefusal::Total { cap: caps.total });
    }
    Ok(())
}

/// What the caller side of the call reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitInput {
    /// How many signalling sessions the caller has open now.
    Sessions(u32),
    /// The caller's media connection is up (ICE and DTLS).
    MediaConnected,
    /// Packets arrived from the caller's media since the last report.
    MediaPackets,
    /// No packets from the caller's media for a while.
    MediaSilent,
    /// The caller's media connection is gone.
    MediaGone,
    Answered,
    Ended,
    /// The caller chose to keep waiting after being asked.
    KeepWaiting,
    /// `WakeAt` was reached.
    Timer,
}

/// What the driver carries out, in order; `WakeAt` comes last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitAction {
    /// The caller's presence changed (the queue and the dispatcher follow it).
    Presence(Presence),
    /// Tell the caller how long they have waited and ask them to keep waiting (answer by
    /// `reply_by`) or to call again later. Repeated to a session that opens meanwhile.
    AskKeepWaiting {
        waited_ms: u64,
        reply_by: Millis,
    },
    /// The question went unanswered: end the call.
    GiveUp {
        waited_ms: u64,
    },
    WakeAt(Millis),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WaitError {
    #[error("the call is not waiting for an operator")]
    NotWaiting,
    #[error("the caller has not been asked to keep waiting")]
    NotAsked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Media {
    None,
    Connected,
    Flowing,
}

#[derive(Debug, Clone)]
pub struct CallerWait {
    policy: WaitPolicy,
    queued_at: Millis,
    sessions: u32,
    media: Media,
    /// Answered or ended: nothing more to decide.
    done: Option<Presence>,
    /// When the caller is next asked (`NEVER` when never).
    ask_at: Millis,
    /// The open question's deadline.
    reply_by: Option<Millis>,
    presence: Presence,
    actions: VecDeque<WaitAction>,
}

impl CallerWait {
    /// A call queued at `queued_at`; its caller has no session yet.
    pub fn new(policy: WaitPolicy, queued_at: Millis) -> Self {
        Self {
            policy,
            queued_at,
            sessions: 0,
            media: Media::None,
            done: None,
            ask_at: next_ask(policy, queued_at),
            reply_by: None,
            presence: Presence::Away,
            actions: VecDeque::new(),
        }
    }

    pub fn presence(&self) -> Presence {
        self.presence
    }

    /// The open question's deadline, if the caller has been asked and not answered.
    pub fn asked(&self) -> Option<Millis> {
        self.reply_by
    }

    /// Feeds one input; only `KeepWaiting` can be refused (and then changes nothing).
    pub fn handle(&mut self, input: WaitInput, now: Millis) -> Result<(), WaitError> {
        match input {
            WaitInput::Sessions(n) => {
                let opened = self.sessions == 0 && n > 0;
                self.sessions = n;
                // A page that (re)connects while a question is open must see it.
                if let (true, Some(reply_by), None) = (opened, self.reply_by, self.done) {
                    self.ask(now, reply_by);
                }
            }
            WaitInput::MediaConnected => {
                if self.media == Media::None {
                    self.media = Media::Connected;
                }
            }
            WaitInput::MediaPackets => self.media = Media::Flowing,
            WaitInput::MediaSilent => {
                if self.media == Media::Flowing {
                    self.media = Media::Connected;
                }
            }
            WaitInput::MediaGone => self.media = Media::None,
            WaitInput::Answered => self.finish(Presence::Answered),
            WaitInput::Ended => self.finish(Presence::Ended),
            WaitInput::KeepWaiting => {
                if self.done.is_some() {
                    return Err(WaitError::NotWaiting);
                }
                if self.reply_by.take().is_none() {
                    return Err(WaitError::NotAsked);
                }
                self.ask_at = next_ask(self.policy, now);
            }
            WaitInput::Timer => self.on_timer(now),
        }
        self.update_presence();
        Ok(())
    }

    /// The next thing to do; `WakeAt` once nothing else is due.
    pub fn poll_action(&mut self) -> WaitAction {
        if let Some(a) = self.actions.pop_front() {
            return a;
        }
        WaitAction::WakeAt(self.next_wake())
    }

    fn next_wake(&self) -> Millis {
        if self.done.is_some() {
            return NEVER;
        }
        match self.reply_by {
            Some(t) => t,
            None => self.ask_at,
        }
    }

    fn on_timer(&mut self, now: Millis) {
        if self.done.is_some() {
            return;
        }
        let waited_ms = now.saturating_sub(self.queued_at);
        match self.reply_by {
            Some(t) if t <= now => {
                self.reply_by = None;
                self.actions.push_back(WaitAction::GiveUp { waited_ms });
                self.finish(Presence::Ended);
            }
            Some(_) => {}
            None if self.ask_at <= now => {
                let reply_by = now.saturating_add(self.policy.reply_ms);
                self.reply_by = Some(reply_by);
                self.ask_at = NEVER;
                self.ask(now, reply_by);
            }
            None => {}
        }
    }

    fn ask(&mut self, now: Millis, reply_by: Millis) {
        self.actions.push_back(WaitAction::AskKeepWaiting {
            waited_ms: now.saturating_sub(self.queued_at),
            reply_by,
        });
    }

    fn finish(&mut self, how: Presence) {
        if self.done.is_none() {
            self.done = Some(how);
            self.reply_by = None;
        }
    }

    fn update_presence(&mut self) {
        let p = match (self.done, self.sessions, self.media) {
            (Some(how), _, _) => how,
            (None, 0, _) => Presence::Away,
            (None, _, Media::None) => Presence::NoMedia,
            (None, _, Media::Connected) => Presence::Silent,
            (None, _, Media::Flowing) => Presence::Ready,
        };
        if p != self.presence {
            self.presence = p;
            self.actions.push_back(WaitAction::Presence(p));
        }
    }
}

fn next_ask(policy: WaitPolicy, from: Millis) -> Millis {
    if policy.max_wait_ms == 0 {
        NEVER
    } else {
        from.saturating_add(policy.max_wait_ms)
    }
}

#[cfg(test)]
mod tests;
