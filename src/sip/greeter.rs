//! `Greeter`: what a waiting phone caller hears, decided without I/O. A caller whose number gave
//! no language hears the menu (each language's choice in its own language, keys from the
//! configured order); a key picks the language, and no key `menu_timeout` after the menu plays it
//! once more, then the call waits as "language unknown" (announced in English). While waiting
//! the caller hears that they are being connected and their queue position (again when it
//! changes, at most every `ANNOUNCE_EVERY`; "still waiting" after `REMIND_AFTER` without news),
//! and, on a node that records calls, that the call is recorded, right after "connecting",
//! with the comfort tone between announcements: never dead silence. On a hotline that keeps a
//! record, a caller is offered, once they have waited `callback_after`, to press star to be
//! called back (and again with each reminder): at the number they call from when it came with
//! the call, or else at one they key in (star, the digits, hash; the digits are read back; star
//! confirms, hash starts again; `ENTRY_TIMEOUT` without a key and they wait on). Star then has
//! the task keep the number, plays "we will call you back, goodbye", and the call ends; a caller
//! who hangs up during the goodbye has left their number all the same. The operator answering
//! ends it. Once answered, `HoldTone` plays the comfort tone while the call is on hold or in
//! consultation (the caller then hears nobody). Inputs and `now` in, `Action`s out; the task in
//! `greeter::task` carries them out.

pub mod task;

use crate::domain::{Language, CALLBACK_MAX_DIGITS, CALLBACK_MIN_DIGITS};
use crate::prompts::Prompt;
use crate::sfu::Playout;
use std::time::{Duration, Instant};

/// Queue positions are announced at most this often.
pub const ANNOUNCE_EVERY: Duration = Duration::from_secs(20);
/// With no new position for this long, the caller hears "thank you for waiting".
pub const REMIND_AFTER: Duration = Duration::from_secs(60);
/// Times the menu is played before the call waits with its language unknown.
const MENU_PLAYS: u8 = 2;
/// A caller keying in a number to be called back who presses no key this long (after the
/// prompt) goes back to waiting.
pub const ENTRY_TIMEOUT: Duration = Duration::from_secs(20);

/// What the task does for the greeter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Play these prompts one after another, then `then`.
    Play(Vec<(Prompt, Language)>, Playout),
    /// The caller picked this language in the menu.
    Chose(Language),
    /// Stop playing: the operator is there.
    Stop,
    /// Keep the caller's number to be called back (the one they keyed in; `None`: the one
    /// they call from); then `number_kept`, or `leave_failed` if it cannot be kept.
    KeepNumber(Option<String>),
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
    /// The caller is keying in the number to call back (`Greeter::keyed`), hash ends it.
    Entering,
    /// The keyed number is read back: star confirms it, hash starts again.
    Checking,
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
    /// The number to call back did not come with the call: the caller keys it in.
    pub callback_keyed: bool,
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
    /// The caller keys in the number to call back (none came with the call).
    callback_keyed: bool,
    /// The digits keyed in so far.
    keyed: String,
    /// While a number is keyed in or read back: when the caller is taken back to waiting
    /// (`None` while a prompt plays).
    entry_deadline: Option<Instant>,
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
            callback_keyed: notices.callback_keyed,
            keyed: String::new(),
            entry_deadline: None,
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

    /// The call-back offer, for a caller with or without a number to call.
    fn offer_prompt(&self) -> Prompt {
        if self.callback_keyed {
            Prompt::CallbackKeyedOffer
        } else {
            Prompt::CallbackOffer
        }
    }

    /// "Enter your number, then hash", with the digits so far forgotten.
    fn ask_for_number(&mut self) -> Vec<Action> {
        self.phase = Phase::Entering;
        self.keyed.clear();
        self.entry_deadline = None;
        vec![Action::Play(
            vec![(Prompt::CallbackEnter, self.language)],
            Playout::Silence,
        )]
    }

    /// A key while the number to call back is keyed in or read back.
    fn entry_key(&mut self, key: char, now: Instant) -> Vec<Action> {
        match (self.phase, key) {
            (Phase::Entering, '0'..='9') => {
                if self.keyed.len() < CALLBACK_MAX_DIGITS {
                    self.keyed.push(key);
                }
                self.entry_deadline = Some(now + ENTRY_TIMEOUT);
                Vec::new()
            }
            (Phase::Entering, '#') if (CALLBACK_MIN_DIGITS..).contains(&self.keyed.len()) => {
                self.phase = Phase::Checking;
                self.entry_deadline = None;
                let mut parts = vec![(Prompt::CallbackRead, self.language)];
                parts.extend(
                    self.keyed
                        .bytes()
                        .map(|d| (Prompt::Digit(d - b'0'), self.language)),
                );
                parts.push((Prompt::CallbackConfirm, self.language));
                vec![Action::Play(parts, Playout::Silence)]
            }
            // Too short to be a number: asked again.
            (Phase::Entering, '#') | (Phase::Checking, '#') => self.ask_for_number(),
            (Phase::Checking, '*') => {
                self.phase = Phase::Keeping;
                self.entry_deadline = None;
                vec![Action::KeepNumber(Some(self.keyed.clone()))]
            }
            _ => Vec::new(),
        }
    }

    /// A key the caller pressed.
    pub fn digit(&mut self, key: char, now: Instant) -> Vec<Action> {
        if self.phase == Phase::Waiting && self.callback_offered && key == '*' {
            if self.callback_keyed {
                return self.ask_for_number();
            }
            self.phase = Phase::Keeping;
            return vec![Action::KeepNumber(None)];
        }
        if matches!(self.phase, Phase::Entering | Phase::Checking) {
            return self.entry_key(key, now);
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
            Phase::Entering | Phase::Checking => {
                self.entry_deadline = Some(now + ENTRY_TIMEOUT);
                Vec::new()
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
        self.back_to_waiting(now)
    }

    /// The caller waits on, told so, and may press star again.
    fn back_to_waiting(&mut self, now: Instant) -> Vec<Action> {
        self.phase = Phase::Waiting;
        self.entry_deadline = None;
        self.last_announcement = now;
        vec![Action::Play(
            vec![
                (Prompt::StillWaiting, self.language),
                (self.offer_prompt(), self.language),
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
            Phase::Entering | Phase::Checking => self.entry_deadline,
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
                    vec![(self.offer_prompt(), self.language)],
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
                    parts.push((self.offer_prompt(), self.language));
                }
                vec![Action::Play(parts, Playout::Comfort)]
            }
            // No key for too long while keying in the number.
            Phase::Entering | Phase::Checking => self.back_to_waiting(now),
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
