//! The synthetic audio of test peers and what a peer tracks about what it receives. A payload is
//! Opus-sized and says who sent it: magic, participant tag, sequence, send time (µs since the Unix
//! epoch, so another process on the same machine can compute latency). Pure; time passed in.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const MAGIC: [u8; 2] = *b"HB";
/// Bytes of one synthetic packet: about a 20 ms Opus frame at 24 kbit/s.
pub const PAYLOAD_BYTES: usize = 60;
const HEADER_BYTES: usize = 2 + 4 + 4 + 8;

/// What a received payload says about its sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    pub tag: u32,
    pub seq: u32,
    pub sent_unix_us: u64,
}

impl Marker {
    pub fn encode(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(PAYLOAD_BYTES);
        p.extend_from_slice(&MAGIC);
        p.extend_from_slice(&self.tag.to_be_bytes());
        p.extend_from_slice(&self.seq.to_be_bytes());
        p.extend_from_slice(&self.sent_unix_us.to_be_bytes());
        p.resize(PAYLOAD_BYTES, 0xf8);
        p
    }

    pub fn decode(p: &[u8]) -> Option<Self> {
        if p.len() < HEADER_BYTES || p[..2] != MAGIC {
            return None;
        }
        let u32_at = |i: usize| u32::from_be_bytes([p[i], p[i + 1], p[i + 2], p[i + 3]]);
        let mut t = [0u8; 8];
        t.copy_from_slice(&p[10..18]);
        Some(Self {
            tag: u32_at(2),
            seq: u32_at(6),
            sent_unix_us: u64::from_be_bytes(t),
        })
    }
}

/// Counts (of packets sent after the cutoff) and the longest silence (over every arrival) of
/// one stream, a source or a receive slot, since the last `take`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamStats {
    pub packets: u64,
    /// Longest time between two packets of this stream, including the gap that straddles the
    /// previous `take` (so a join or leave between phases is measured).
    pub max_gap: Duration,
}

/// What one test peer received since the last `take`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reception {
    /// By sender tag.
    pub by_source: BTreeMap<u32, StreamStats>,
    /// By receive slot (index in offer order), with the tags seen on it.
    pub by_slot: BTreeMap<usize, (StreamStats, Vec<u32>)>,
    /// Packets whose payload carried no marker.
    pub unmarked: u64,
    /// Marked packets sent before the cutoff (in flight when the routes changed): not counted
    /// above, but their arrival still counts for gaps.
    pub stale: u64,
    /// One-way latency of each packet, µs (only if the tracker keeps them).
    pub latencies_us: Vec<u32>,
}

impl Reception {
    pub fn packets_from(&self, tag: u32) -> u64 {
        self.by_source.get(&tag).map_or(0, |s| s.packets)
    }

    pub fn total(&self) -> u64 {
        self.by_source.values().map(|s| s.packets).sum::<u64>() + self.unmarked
    }
}

/// Accumulates a `Reception`; remembers each stream's last arrival across `take`s.
#[derive(Debug, Default)]
pub struct Tracker {
    current: Reception,
    last_by_source: BTreeMap<u32, Instant>,
    last_by_slot: BTreeMap<usize, Instant>,
    keep_latencies: bool,
    cutoff_unix_us: u64,
}

impl Tracker {
    pub fn new(keep_latencies: bool) -> Self {
        Self {
            keep_latencies,
            ..Self::default()
        }
    }

    pub fn on_packet(&mut self, slot: usize, payload: &[u8], at: Instant, now_unix_us: u64) {
        let Some(m) = Marker::decode(payload) else {
            self.current.unmarked += 1;
            return;
        };
        let fresh = m.sent_unix_us >= self.cutoff_unix_us;
        if !fresh {
            self.current.stale += 1;
        }
        let src = self.current.by_source.entry(m.tag).or_default();
        bump(src, self.last_by_source.insert(m.tag, at), at, fresh);
        let (slot_stats, tags) = self.current.by_slot.entry(slot).or_default();
        bump(slot_stats, self.last_by_slot.insert(slot, at), at, fresh);
        if fresh && !tags.contains(&m.tag) {
            tags.push(m.tag);
        }
        if self.keep_latencies {
            let lat = now_unix_us
                .saturating_sub(m.sent_unix_us)
                .min(u32::MAX as u64);
            self.current.latencies_us.push(lat as u32);
        }
    }

    /// From now on, count only packets sent at or after `unix_us` (a routing change): packets
    /// forwarded under the old routes may still be in flight.
    pub fn set_cutoff(&mut self, unix_us: u64) {
        self.cutoff_unix_us = unix_us;
    }

    /// What arrived since the last `take`, without resetting.
    pub fn peek(&self) -> &Reception {
        &self.current
    }

    /// Returns what arrived since the last `take` and starts afresh (arrival times are kept).
    pub fn take(&mut self) -> Reception {
        std::mem::take(&mut self.current)
    }

    /// The gap each source has been silent for at `now` (for a stream that stopped entirely).
    pub fn silent_for(&self, tag: u32, now: Instant) -> Option<Duration> {
        self.last_by_source
            .get(&tag)
            .map(|t| now.saturating_duration_since(*t))
    }
}

fn bump(stats: &mut StreamStats, previous: Option<Instant>, at: Instant, fresh: bool) {
    stats.packets += u64::from(fresh);
    if let Some(p) = previous {
        stats.max_gap = stats.max_gap.max(at.saturating_duration_since(p));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_round_trips_and_foreign_payloads_are_not_markers() {
        let m = Marker {
            tag: 7,
            seq: 123_456,
            sent_unix_us: 1_700_000_000_000_001,
        };
        let p = m.encode();
        assert_eq!(p.len(), PAYLOAD_BYTES);
        assert_eq!(Marker::decode(&p), Some(m));
        assert_eq!(Marker::decode(&p[..10]), None);
        assert_eq!(Marker::decode(&[0u8; 60]), None);
    }

    #[test]
    fn the_tracker_counts_per_source_and_slot_and_measures_gaps_across_takes() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let pkt = |tag, seq| {
            Marker {
                tag,
                seq,
                sent_unix_us: 1_000,
            }
            .encode()
        };
        let mut tr = Tracker::new(true);
        tr.on_packet(0, &pkt(1, 0), t0, 1_500);
        tr.on_packet(0, &pkt(1, 1), t0 + ms(20), 1_700);
        tr.on_packet(1, &pkt(2, 0), t0 + ms(20), 1_100);
        tr.on_packet(1, b"noise", t0 + ms(30), 0);
        let r = tr.take();
        assert_eq!(r.packets_from(1), 2);
        assert_eq!(r.packets_from(2), 1);
        assert_eq!(r.packets_from(3), 0);
        assert_eq!(r.unmarked, 1);
        assert_eq!(r.total(), 4);
        assert_eq!(r.by_source[&1].max_gap, ms(20));
        assert_eq!(r.by_slot[&1].1, vec![2]);
        assert_eq!(r.latencies_us, vec![500, 700, 100]);
        // Source 1 resumes 300 ms later: the gap straddling the take is reported.
        tr.on_packet(0, &pkt(1, 2), t0 + ms(320), 0);
        let r = tr.take();
        assert_eq!(r.by_source[&1].max_gap, ms(300));
        assert_eq!(r.by_source[&1].packets, 1);
        assert_eq!(tr.silent_for(2, t0 + ms(520)), Some(ms(500)));
    }

    #[test]
    fn packets_sent_before_the_cutoff_count_for_gaps_but_not_as_heard() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let pkt = |sent| {
            Marker {
                tag: 1,
                seq: 0,
                sent_unix_us: sent,
            }
            .encode()
        };
        let mut tr = Tracker::new(false);
        tr.on_packet(0, &pkt(100), t0, 0);
        tr.take();
        tr.set_cutoff(1_000);
        tr.on_packet(0, &pkt(999), t0 + ms(150), 0);
        tr.on_packet(0, &pkt(1_000), t0 + ms(170), 0);
        let r = tr.take();
        assert_eq!(r.stale, 1);
        assert_eq!(r.packets_from(1), 1);
        assert_eq!(r.by_source[&1].max_gap, ms(150));
        assert_eq!(r.by_slot[&0].0.packets, 1);
    }
}
