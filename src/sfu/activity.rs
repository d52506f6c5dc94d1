//! Per-peer audio activity: the loudest RFC 6464 level since the last report, reported only when
//! it changed visibly since the level last reported (`level_change`), and whether the peer has
//! gone silent (no packets for `SILENT_AFTER`). Time is passed in.

use std::time::{Duration, Instant};

/// How often levels are looked at per call (speaking indicators): at most this often, and only
/// when they changed.
pub const LEVELS_INTERVAL: Duration = Duration::from_millis(250);
/// RFC 6464 level (-dBov) below which a participant counts as speaking.
pub const SPEAKING_BELOW: u8 = 50;
/// A level moving less than this (dB) since the last report is not reported again.
pub const LEVEL_STEP: u8 = 6;
/// A connected peer without packets for this long is reported `Silent` (once per silence).
/// Browsers keep sending (DTX sends a packet every 400 ms even when muted), so this means trouble.
pub const SILENT_AFTER: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub struct Activity {
    since: Instant,
    last_packet: Option<Instant>,
    loudest: Option<u8>,
    silent_reported: bool,
    /// The level last reported, if any since the peer was (re)heard.
    shown: Option<u8>,
}

impl Activity {
    /// Silence is counted from `since` until the first packet (e.g. the connection time).
    pub fn new(since: Instant) -> Self {
        Self {
            since,
            last_packet: None,
            loudest: None,
            silent_reported: false,
            shown: None,
        }
    }

    pub fn on_packet(&mut self, now: Instant, level: Option<u8>) {
        self.last_packet = Some(now);
        self.silent_reported = false;
        // Packets without the extension still show the peer is sending: count them as silence.
        let level = level.unwrap_or(127).min(127);
        self.loudest = Some(self.loudest.map_or(level, |l| l.min(level)));
    }

    /// The loudest level since the last call, if packets arrived and it differs from the level
    /// last reported: first heard (or heard again after silence), speaking or not changed, or
    /// moved by `LEVEL_STEP` or more.
    pub fn level_change(&mut self) -> Option<u8> {
        let level = self.loudest.take()?;
        let changed = self.shown.is_none_or(|shown| {
            (shown < SPEAKING_BELOW) != (level < SPEAKING_BELOW)
                || shown.abs_diff(level) >= LEVEL_STEP
        });
        changed.then(|| {
            self.shown = Some(level);
            level
        })
    }

    /// Reports the next level whatever it is (someone new is listening).
    pub fn forget_shown(&mut self) {
        self.shown = None;
    }

    /// `Some(silent for)` the first time the peer has been silent for `SILENT_AFTER`.
    pub fn newly_silent(&mut self, now: Instant) -> Option<Duration> {
        let quiet = now.saturating_duration_since(self.last_packet.unwrap_or(self.since));
        if quiet >= SILENT_AFTER && !self.silent_reported {
            self.silent_reported = true;
            // Heard again later, it is reported again whatever its level.
            self.shown = None;
            Some(quiet)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loudest_level_since_the_last_report_is_reported_once() {
        let t = Instant::now();
        let mut a = Activity::new(t);
        assert_eq!(a.level_change(), None);
        a.on_packet(t, Some(60));
        a.on_packet(t, Some(20));
        a.on_packet(t, None);
        assert_eq!(a.level_change(), Some(20));
        assert_eq!(a.level_change(), None);
    }

    #[test]
    fn a_level_is_reported_again_only_when_it_changed_visibly() {
        let t = Instant::now();
        let mut a = Activity::new(t);
        let mut reported = Vec::new();
        // Steady, then a small wobble, then louder, then quiet past the speaking threshold.
        for level in [30, 30, 30, 33, 27, 40, 40, 52, 49, 127, 127] {
            a.on_packet(t, Some(level));
            reported.push(a.level_change());
        }
        assert_eq!(
            reported,
            [
                Some(30),
                None,
                None,
                None,
                None,
                Some(40),
                None,
                Some(52), // no longer speaking, though only 12 dB quieter
                Some(49), // speaking again, 3 dB louder
                Some(127),
                None
            ]
        );
    }

    #[test]
    fn after_silence_or_forget_shown_the_same_level_is_reported_again() {
        let t = Instant::now();
        let mut a = Activity::new(t);
        a.on_packet(t, Some(30));
        assert_eq!(a.level_change(), Some(30));
        assert!(a.newly_silent(t + SILENT_AFTER).is_some());
        a.on_packet(t + SILENT_AFTER * 2, Some(30));
        assert_eq!(a.level_change(), Some(30), "heard again");
        a.on_packet(t + SILENT_AFTER * 2, Some(30));
        a.forget_shown();
        assert_eq!(a.level_change(), Some(30), "someone new listens");
    }

    #[test]
    fn silence_is_reported_once_and_rearmed_by_a_packet() {
        let t = Instant::now();
        let mut a = Activity::new(t);
        assert_eq!(a.newly_silent(t + SILENT_AFTER / 2), None);
        assert_eq!(a.newly_silent(t + SILENT_AFTER), Some(SILENT_AFTER));
        assert_eq!(a.newly_silent(t + SILENT_AFTER * 3), None);
        a.on_packet(t + SILENT_AFTER * 3, Some(30));
        assert_eq!(a.newly_silent(t + SILENT_AFTER * 3), None);
        assert_eq!(a.newly_silent(t + SILENT_AFTER * 5), Some(SILENT_AFTER * 2));
    }
}
