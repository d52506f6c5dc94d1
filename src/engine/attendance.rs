//! `Attendance`: whether each participant of a call is still there, and when one who is not must
//! be taken out (pure; time is passed in). Two watches:
//! - **away**: a participant with no open signalling session (the caller before their page
//!   connects, an operator who answered but whose console dropped) is taken out as
//!   `Disconnected` once `grace_ms` passes without a session coming back;
//! - **silent**: a joined interpreter whose media sends nothing (lost media connection, or
//!   reported silent by the media plane) is taken out as `MediaSilent` after
//!   `interpreter_silence_ms`, so the dispatcher can seek a replacement. Quiet speech still sends
//!   packets and never counts; a quiet caller or operator is never removed.
//!
//! `engine::Call` owns one and feeds it; the call task only sleeps until `next_deadline` and
//! carries out `due`.

use crate::domain::{LeftReason, Millis, ParticipantId};
use std::collections::{BTreeMap, BTreeSet};

/// How long absences are tolerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttendancePolicy {
    /// A participant without a session for this long is out (`calls.reconnect_grace_s`).
    pub grace_ms: Millis,
    /// A joined interpreter whose media is silent this long is out
    /// (`dispatch.interpreter_silence_s`); `None`: never.
    pub interpreter_silence_ms: Option<Millis>,
}

impl Default for AttendancePolicy {
    fn default() -> Self {
        Self {
            grace_ms: 30_000,
            interpreter_silence_ms: None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Attendance {
    policy: AttendancePolicy,
    /// Open signalling sessions per participant.
    sessions: BTreeMap<ParticipantId, u32>,
    /// Participants without a session, since when.
    away_since: BTreeMap<ParticipantId, Millis>,
    /// Watched participants (interpreters) whose media is silent, since when.
    silent_since: BTreeMap<ParticipantId, Millis>,
    /// Participants whose media is connected now.
    connected: BTreeSet<ParticipantId>,
}

impl Attendance {
    pub fn new(policy: AttendancePolicy) -> Self {
        Self {
            policy,
            ..Self::default()
        }
    }

    /// A participant joins: away until a session of theirs is open.
    pub fn joined(&mut self, p: &ParticipantId, now: Millis) {
        if self.sessions(p) == 0 {
            self.away_since.insert(p.clone(), now);
        }
    }

    /// A participant is out of the call: nothing of theirs is watched any more.
    pub fn left(&mut self, p: &ParticipantId) {
        self.sessions.remove(p);
        self.away_since.remove(p);
        self.silent_since.remove(p);
        self.connected.remove(p);
    }

    pub fn sessions(&self, p: &ParticipantId) -> u32 {
        self.sessions.get(p).copied().unwrap_or(0)
    }

    /// A session of `p` opened: they are back.
    pub fn attached(&mut self, p: &ParticipantId) -> u32 {
        let n = self.sessions.entry(p.clone()).or_default();
        *n += 1;
        self.away_since.remove(p);
        *n
    }

    /// A session of `p` closed; with none left they are away from `now`. Returns how many
    /// remain open.
    pub fn detached(&mut self, p: &ParticipantId, now: Millis) -> u32 {
        let Some(n) = self.sessions.get_mut(p) else {
            return 0;
        };
        *n = n.saturating_sub(1);
        let n = *n;
        if n == 0 {
            self.away_since.insert(p.clone(), now);
        }
        n
    }

    pub fn is_connected(&self, p: &ParticipantId) -> bool {
        self.connected.contains(p)
    }

    /// `p`'s media connected; true when that is news.
    pub fn media_connected(&mut self, p: &ParticipantId) -> bool {
        self.silent_since.remove(p);
        self.connected.insert(p.clone())
    }

    /// `p`'s media connection dropped; a watched participant counts as silent from `now`. True
    /// when that is news.
    pub fn media_lost(&mut self, p: &ParticipantId, watched: bool, now: Millis) -> bool {
        let was = self.connected.remove(p);
        if was {
            self.media_silent(p, watched, now);
        }
        was
    }

    /// The media plane reports `p` silent since `since` (kept if already silent earlier).
    pub fn media_silent(&mut self, p: &ParticipantId, watched: bool, since: Millis) {
        if watched && self.policy.interpreter_silence_ms.is_some() {
            let t = self.silent_since.entry(p.clone()).or_insert(since);
            *t = (*t).min(since);
        }
    }

    /// Packets arrived from `p`: not silent.
    pub fn media_heard(&mut self, p: &ParticipantId) {
        self.silent_since.remove(p);
    }

    /// The earliest time at which `due` will name someone, if anyone is watched.
    pub fn next_deadline(&self) -> Option<Millis> {
        let away = self
            .away_since
            .values()
            .min()
            .map(|t| t.saturating_add(self.policy.grace_ms));
        let silent = self.policy.interpreter_silence_ms.and_then(|limit| {
            self.silent_since
                .values()
                .min()
                .map(|t| t.saturating_add(limit))
        });
        match (away, silent) {
            (Some(a), Some(s)) => Some(a.min(s)),
            (a, s) => a.or(s),
        }
    }

    /// Who must be taken out at `now`, and why (an absence first: a participant both away and
    /// silent left as `Disconnected`).
    pub fn due(&self, now: Millis) -> Vec<(ParticipantId, LeftReason)> {
        let mut out: Vec<(ParticipantId, LeftReason)> = self
            .away_since
            .iter()
            .filter(|(_, t)| t.saturating_add(self.policy.grace_ms) <= now)
            .map(|(p, _)| (p.clone(), LeftReason::Disconnected))
            .collect();
        if let Some(limit) = self.policy.interpreter_silence_ms {
            for (p, t) in &self.silent_since {
                if t.saturating_add(limit) <= now && !out.iter().any(|(q, _)| q == p) {
                    out.push((p.clone(), LeftReason::MediaSilent));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> ParticipantId {
        ParticipantId::parse(s).expect("id")
    }

    fn policy(silence: Option<Millis>) -> AttendancePolicy {
        AttendancePolicy {
            grace_ms: 10_000,
            interpreter_silence_ms: silence,
        }
    }

    #[test]
    fn a_participant_without_a_session_is_out_after_the_grace_time() {
        let mut a = Attendance::new(policy(None));
        a.joined(&p("caller"), 1_000);
        assert_eq!(a.next_deadline(), Some(11_000));
        assert!(a.due(10_999).is_empty());
        assert_eq!(a.due(11_000), vec![(p("caller"), LeftReason::Disconnected)]);
    }

    #[test]
    fn a_session_coming_back_within_the_grace_time_keeps_them_in() {
        let mut a = Attendance::new(policy(None));
        a.joined(&p("op"), 0);
        assert_eq!(a.attached(&p("op")), 1);
        assert_eq!(a.attached(&p("op")), 2);
        assert_eq!(a.next_deadline(), None);
        // One of two sessions closes: still there.
        assert_eq!(a.detached(&p("op"), 5_000), 1);
        assert_eq!(a.next_deadline(), None);
        // The last one closes: the grace time starts from then, not from the join.
        assert_eq!(a.detached(&p("op"), 6_000), 0);
        assert_eq!(a.next_deadline(), Some(16_000));
        a.attached(&p("op"));
        assert!(a.due(60_000).is_empty());
    }

    #[test]
    fn joining_with_a_session_already_open_is_not_an_absence() {
        let mut a = Attendance::new(policy(None));
        a.attached(&p("op"));
        a.joined(&p("op"), 0);
        assert_eq!(a.next_deadline(), None);
    }

    #[test]
    fn a_detach_without_a_session_changes_nothing() {
        let mut a = Attendance::new(policy(None));
        assert_eq!(a.detached(&p("ghost"), 0), 0);
        assert_eq!(a.next_deadline(), None);
    }

    #[test]
    fn silence_is_watched_for_watched_participants_only_and_only_when_configured() {
        let mut a = Attendance::new(policy(Some(20_000)));
        a.attached(&p("int"));
        a.attached(&p("op"));
        assert!(a.media_connected(&p("int")));
        assert!(!a.media_connected(&p("int")), "not news twice");
        a.media_connected(&p("op"));
        assert!(a.media_lost(&p("int"), true, 1_000));
        assert!(a.media_lost(&p("op"), false, 1_000));
        assert_eq!(a.next_deadline(), Some(21_000));
        assert_eq!(a.due(21_000), vec![(p("int"), LeftReason::MediaSilent)]);

        let mut off = Attendance::new(policy(None));
        off.attached(&p("int"));
        off.media_connected(&p("int"));
        off.media_lost(&p("int"), true, 1_000);
        assert_eq!(off.next_deadline(), None);
    }

    #[test]
    fn packets_or_a_reconnect_end_the_silence() {
        let mut a = Attendance::new(policy(Some(20_000)));
        a.attached(&p("int"));
        a.media_silent(&p("int"), true, 1_000);
        a.media_heard(&p("int"));
        assert_eq!(a.next_deadline(), None);
        a.media_silent(&p("int"), true, 2_000);
        a.media_connected(&p("int"));
        assert_eq!(a.next_deadline(), None);
    }

    #[test]
    fn the_earliest_report_of_silence_counts() {
        let mut a = Attendance::new(policy(Some(20_000)));
        a.attached(&p("int"));
        a.media_silent(&p("int"), true, 5_000);
        a.media_silent(&p("int"), true, 3_000);
        a.media_silent(&p("int"), true, 9_000);
        assert_eq!(a.next_deadline(), Some(23_000));
    }

    #[test]
    fn away_and_silent_at_once_is_one_departure_as_disconnected() {
        let mut a = Attendance::new(policy(Some(5_000)));
        a.joined(&p("int"), 0);
        a.media_silent(&p("int"), true, 0);
        assert_eq!(a.next_deadline(), Some(5_000));
        assert_eq!(a.due(10_000), vec![(p("int"), LeftReason::Disconnected)]);
    }

    #[test]
    fn leaving_forgets_everything_watched() {
        let mut a = Attendance::new(policy(Some(5_000)));
        a.joined(&p("int"), 0);
        a.media_silent(&p("int"), true, 0);
        a.media_connected(&p("x"));
        a.left(&p("int"));
        a.left(&p("x"));
        assert_eq!(a.next_deadline(), None);
        assert!(a.due(u64::MAX).is_empty());
        assert!(!a.is_connected(&p("x")));
        assert_eq!(a.sessions(&p("int")), 0);
    }
}
