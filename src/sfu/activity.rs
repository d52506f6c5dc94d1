//! Per-peer audio activity: the loudest RFC 6464 level since the last report, and whether the
//! peer has gone silent (no packets for `SILENT_AFTER`). Time is passed in.

use std::time::{Duration, Instant};

/// How often levels are reported per call (speaking indicators).
pub const LEVELS_INTERVAL: Duration = Duration::from_millis(250);
/// A connected peer without packets for this long is reported `Silent` (once per silence).
/// Browsers keep sending (DTX sends a packet every 400 ms even when muted), so this means trouble.
pub const SILENT_AFTER: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub struct Activity {
    since: Instant,
    last_packet: Option<Instant>,
    loudest: Option<u8>,
    silent_reported: bool,
}

impl Activity {
    /// Silence is counted from `since` until the first packet (e.g. the connection time).
    pub fn new(since: Instant) -> Self {
        Self {
            since,
            last_packet: None,
            loudest: None,
            silent_reported: false,
        }
    }

    pub fn on_packet(&mut self, now: Instant, level: Option<u8>) {
        self.last_packet = Some(now);
        self.silent_reported = false;
        // Packets without the extension still show the peer is sending: count them as silence.
        let level = level.unwrap_or(127).min(127);
        self.loudest = Some(self.loudest.map_or(level, |l| l.min(level)));
    }

    /// The loudest level since the last call, if any packet arrived.
    pub fn take_level(&mut self) -> Option<u8> {
        self.loudest.take()
    }

    /// `Some(silent for)` the first time the peer has been silent for `SILENT_AFTER`.
    pub fn newly_silent(&mut self, now: Instant) -> Option<Duration> {
        let quiet = now.saturating_duration_since(self.last_packet.unwrap_or(self.since));
        if quiet >= SILENT_AFTER && !self.silent_reported {
            self.silent_reported = true;
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
        assert_eq!(a.take_level(), None);
        a.on_packet(t, Some(60));
        a.on_packet(t, Some(20));
        a.on_packet(t, None);
        assert_eq!(a.take_level(), Some(20));
        assert_eq!(a.take_level(), None);
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
