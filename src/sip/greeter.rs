//! `Greeter`: what a waiting phone caller hears, decided without I/O. A caller whose number gave
//! no language hears the menu (each language's choice in its own language, keys from the
//! configured order); a key picks the language, and no key `menu_timeout` after the menu plays it
//! once more, then the call waits as "language unknown" (announced in English). While waiting
//! the caller hears that they are being connected and their queue position (again when it
//! changes, at most every `ANNOUNCE_EVERY`; "still waiting" after `REMIND_AFTER` without news),
//! and, on a node that records calls, that the call is recorded, right after "connecting",
//! with the comfort tone between announcements: never dead silence. On a hotline that keeps a
//! record, a caller whose number can be called back is offered, once they have waited
//! `callback_after`, to press star to be called back at that number (and again with each
//! reminder): star has the task keep the number, then plays "we will call you back, goodbye",
//! then the call ends; a caller who hangs up during the goodbye has left their number all the
//! same. The operator answering ends it. Once answered, `HoldTone` plays the comfort tone while the call is on hold or in
//! consultation (the caller then hears nobody). Inputs and `now` in, `Action`s out; the task in
//! `greeter::task` carries them out.

pub mod task;

use crate::domain::Language;
use crate::prompts::Prompt;
use crate::sfu::Playout;
use std::time::{Duration, Instant};

/// Queue positions are announced at most this often.
pub const ANNOUNCE_EVERY: Duration = Duration::from_secs(20);
/// With no new position for this long, the caller hears "thank you for waiting".
pub const REMIND_AFTER: Duration = Duration::from_secs(60);
/// Times the menu is played before the call waits with its language unknown.
const MENU_PLAYS: u8 = 2;

/// What the task does for the greeter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Play these prompts one after another, then `then`.
    Play(Vec<(Prompt, Language)>, Playout),
    /// The caller picked this language in the menu.
    Chose(Language),
    /// Stop playing: the operator is there.
    Stop,
    /// Keep the caller's number to be called back; then `number_kept`, or `leave_failed` if it
    /// cannot be kept.
    KeepNumber,
    /// The number is kept and the goodbye has played: end the call.
    EndCall,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The menu is playing (`plays` times so far); `deadline` once it has ended.
    Menu {
        plays: u8,
        deadline: Option<Instant>,
    },
    Waiting,
    /// The caller pressed star: the number is being kept.
    Keeping,
    /// The number is kept: "we will call you back" plays.
    Leaving,
    /// The goodbye has played: the call is ending.
    Left,
    Done,
}

/// What a waiting phone caller is told besides their place in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Notices {
    /// The call is recorded: the caller is told so as the wait starts.
    pub recorded: bool,
    /// Waited this long, the caller is offered a call-back at their number (`None`: never).
    pub callback_after: Option<Duration>,
}

pub struct Greeter {
    phase: Phase,
    /// Each menu key and its language, in the configured order.
    menu: Vec<(char, Language)>,
    menu_timeout: Duration,
    /// The language announcements are spoken in (English while unknown).
    language: Language,
    english: Language,
    position: Option<u32>,
    announced: Option<u32>,
    last_announcement: Instant,
    /// The call is recorded: the caller is told so as the wait starts.
    recorded: bool,
    /// When the call-back is first offered (`None`: never, or offered already).
    callback_at: Option<Instant>,
    /// The call-back has been offered: star takes it, and reminders offer it again.
    callback_offered: bool,
}

impl Greeter {
    /// A caller whose language is `known` (from the number dialled) or not; `languages` are the
    /// caller languages in configured order (keys 1-9, then 0). Returns what to play first.
    pub fn new(
        known: Option<Language>,
        languages: &[Language],
        english: Language,
        menu_timeout: Duration,
        position: Option<u32>,
        notices: Notices,
        now: Instant,
    ) -> (Self, Vec<Action>) {
        let menu = languages
            .iter()
            .zip("1234567890".chars())
            .map(|(l, k)| (k, *l))
            .collect();
        let mut g = Self {
            phase: Phase::Waiting,
            menu,
            menu_timeout,
            language: known.unwrap_or(english),
            english,
            position,
            announced: None,
            last_announcement: now,
            recorded: notices.recorded,
            callback_at: notices.callback_after.map(|d| now + d),
            callback_offered: false,
        };
        let first = match known {
            Some(_) => g.start_waiting(now),
            None => {
                g.phase = Phase::Menu {
                    plays: 1,
                    deadline: None,
                };
                vec![g.menu_prompts()]
            }
        };
        (g, first)
    }

    /// The menu: a welcome in English, then each language's choice in that language.
    fn menu_prompts(&self) -> Action {
        let mut parts = vec![(Prompt::Welcome, self.english)];
        parts.extend(self.menu.iter().map(|&(key, language)| {
            let digit = key.to_digit(10).unwrap_or(0) as u8;
            (Prompt::MenuChoice { language, digit }, language)
        }));
        Action::Play(parts, Playout::Silence)
    }

    fn start_waiting(&mut self, now: Instant) -> Vec<Action> {
        self.phase = Phase::Waiting;
        self.last_announcement = now;
        self.announced = self.position;
        let mut parts = vec![(Prompt::Connecting, self.language)];
        if self.recorded {
            parts.push((Prompt::Recorded, self.language));
        }
        if let Some(n) = self.position {
            parts.push((Prompt::QueuePosition(n), self.language));
        }
        vec![Action::Play(parts, Playout::Comfort)]
    }

    /// A key the caller pressed.
    pub fn digit(&mut self, key: char, now: Instant) -> Vec<Action> {
        if self.phase == Phase::Waiting && self.callback_offered && key == '*' {
            self.phase = Phase::Keeping;
            return vec![Action::KeepNumber];
        }
        if !matches!(self.phase, Phase::Menu { .. }) {
            return Vec::new();
        }
        let Some(&(_, language)) = self.menu.iter().find(|(k, _)| *k == key) else {
            return Vec::new();
        };
        self.language = language;
        let mut out = vec![Action::Chose(language)];
        out.extend(self.start_waiting(now));
        out
    }

    /// What was played has ended.
    pub fn playout_done(&mut self, now: Instant) -> Vec<Action> {
        match self.phase {
            Phase::Menu { plays, .. } => {
                self.phase = Phase::Menu {
                    plays,
                    deadline: Some(now + self.menu_timeout),
                };
                Vec::new()
            }
            Phase::Leaving => {
                self.phase = Phase::Left;
                vec![Action::EndCall]
            }
            _ => Vec::new(),
        }
    }

    /// The number is kept: the caller hears "we will call you back, goodbye".
    pub fn number_kept(&mut self) -> Vec<Action> {
        if self.phase != Phase::Keeping {
            return Vec::new();
        }
        self.phase = Phase::Leaving;
        vec![Action::Play(
            vec![(Prompt::CallbackTaken, self.language)],
            Playout::Silence,
        )]
    }

    /// The number could not be kept (the record is not reachable now): the caller waits on,
    /// and may press star again.
    pub fn leave_failed(&mut self, now: Instant) -> Vec<Action> {
        if self.phase != Phase::Keeping {
            return Vec::new();
        }
        self.phase = Phase::Waiting;
        self.last_announcement = now;
        vec![Action::Play(
            vec![
                (Prompt::StillWaiting, self.language),
                (Prompt::CallbackOffer, self.language),
            ],
            Playout::Comfort,
        )]
    }

    /// The call's place in the operator queue (`None`: not queued).
    pub fn position(&mut self, position: Option<u32>, now: Instant) -> Vec<Action> {
        self.position = position;
        self.timeout(now)
    }

    /// The operator answered (or the call ended): no more prompts.
    pub fn answered(&mut self) -> Vec<Action> {
        if self.phase == Phase::Done {
            return Vec::new();
        }
        self.phase = Phase::Done;
        vec![Action::Stop]
    }

    /// When `timeout` is next due (`None`: only an input changes anything).
    pub fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Menu { deadline, .. } => deadline,
            Phase::Waiting => {
                let announce = self.announcement_due();
                Some(self.callback_at.map_or(announce, |c| c.min(announce)))
            }
            Phase::Keeping | Phase::Leaving | Phase::Left | Phase::Done => None,
        }
    }

    fn announcement_due(&self) -> Instant {
        if self.position.is_some() && self.position != self.announced {
            self.last_announcement + ANNOUNCE_EVERY
        } else {
            self.last_announcement + REMIND_AFTER
        }
    }

    /// Time passed: the menu timed out, or an announcement is due.
    pub fn timeout(&mut self, now: Instant) -> Vec<Action> {
        if self.deadline().is_none_or(|d| now < d) {
            return Vec::new();
        }
        match self.phase {
            Phase::Menu { plays, .. } if plays < MENU_PLAYS => {
                self.phase = Phase::Menu {
                    plays: plays + 1,
                    deadline: None,
                };
                vec![self.menu_prompts()]
            }
            Phase::Menu { .. } => self.start_waiting(now),
            Phase::Waiting if self.callback_at.is_some_and(|c| c <= now) => {
                self.callback_at = None;
                self.callback_offered = true;
                self.last_announcement = now;
                vec![Action::Play(
                    vec![(Prompt::CallbackOffer, self.language)],
                    Playout::Comfort,
                )]
            }
            Phase::Waiting => {
                self.last_announcement = now;
                let prompt = match self.position {
                    Some(n) if Some(n) != self.announced => Prompt::QueuePosition(n),
                    _ => Prompt::StillWaiting,
                };
                self.announced = self.position;
                let mut parts = vec![(prompt, self.language)];
                if self.callback_offered {
                    parts.push((Prompt::CallbackOffer, self.language));
                }
                vec![Action::Play(parts, Playout::Comfort)]
            }
            Phase::Keeping | Phase::Leaving | Phase::Left | Phase::Done => Vec::new(),
        }
    }

    /// The menu is over (a key or its timeout).
    pub fn menu_over(&self) -> bool {
        !matches!(self.phase, Phase::Menu { .. })
    }
}

/// What an answered phone caller hears while the operator holds the call or consults the
/// interpreter: the routes give them nobody then (a browser caller's page plays its own hold
/// tone), so the comfort tone fills the silence until they are back in the conversation.
#[derive(Debug, Default)]
pub struct HoldTone {
    on: bool,
}

impl HoldTone {
    /// Whether the comfort tone is on (the call held or in consultation).
    pub fn held(&self) -> bool {
        self.on
    }

    /// The call's controls now: the comfort tone to start or stop, when that changes.
    pub fn controls(&mut self, hold: bool, consult: bool) -> Option<Action> {
        let held = hold || consult;
        if held == self.on {
            return None;
        }
        self.on = held;
        Some(if held {
            Action::Play(Vec::new(), Playout::Comfort)
        } else {
            Action::Stop
        })
    }
}

#[cfg(test)]
mod tests;
