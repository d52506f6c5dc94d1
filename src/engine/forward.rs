//! SFU forwarding decisions (pure): which source each of a listener's receive slots carries, and
//! how a slot's outgoing RTP stays one continuous stream (sequence numbers and timestamps) when
//! its source changes. The media loop applies these; it never decides them itself.

use crate::domain::ParticipantId;

/// RTP clock of Opus.
pub const OPUS_CLOCK_HZ: u64 = 48_000;
/// Timestamp step of one 20 ms Opus packet; the least a slot's clock advances on a switch.
pub const OPUS_PACKET_TICKS: u32 = 960;

/// One listener's receive slots: which source each one carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotAssignment {
    slots: Vec<Option<ParticipantId>>,
}

impl SlotAssignment {
    pub fn new(slots: usize) -> Self {
        Self {
            slots: vec![None; slots],
        }
    }

    /// Carries exactly the `heard` sources that fit: a source still heard keeps its slot (so a
    /// join or leave never moves anyone else), a new one takes the lowest free slot, and sources
    /// beyond the slot count are left out, in the order given. Returns whether anything changed.
    pub fn update<'a>(&mut self, heard: impl IntoIterator<Item = &'a ParticipantId>) -> bool {
        let heard: Vec<&ParticipantId> = heard.into_iter().collect();
        let mut changed = false;
        for slot in &mut self.slots {
            if slot.as_ref().is_some_and(|s| !heard.contains(&s)) {
                *slot = None;
                changed = true;
            }
        }
        for source in heard {
            if self.slot_of(source).is_some() {
                continue;
            }
            let Some(free) = self.slots.iter_mut().find(|s| s.is_none()) else {
                break;
            };
            *free = Some(source.clone());
            changed = true;
        }
        changed
    }

    pub fn slot_of(&self, source: &ParticipantId) -> Option<usize> {
        self.slots.iter().position(|s| s.as_ref() == Some(source))
    }

    pub fn slots(&self) -> &[Option<ParticipantId>] {
        &self.slots
    }
}

/// The fields of an RTP packet the rewriting touches. `seq` is the extended (64-bit, no wrap)
/// sequence number; its upper bits are the SRTP rollover counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpTiming {
    pub seq: u64,
    pub ts: u32,
    pub marker: bool,
}

/// The outgoing stream of one receive slot. Packets from whichever source the slot carries are
/// renumbered so the listener sees one stream: sequence numbers continue by one, the timestamp
/// advances by the wall time since the slot's last packet (at least one packet), and the first
/// packet after a switch carries the marker bit (a new talkspurt).
#[derive(Debug, Clone, Default)]
pub struct SlotStream {
    current: Option<Current>,
    last: Option<LastOut>,
}

#[derive(Debug, Clone, Copy)]
struct Current {
    source: u64,
    seq_offset: u64,
    ts_offset: u32,
    first_in_seq: u64,
}

#[derive(Debug, Clone, Copy)]
struct LastOut {
    seq: u64,
    ts: u32,
    at_us: u64,
}

impl SlotStream {
    /// Rewrites one packet of `source` (any id unique to one incoming stream) arriving at `now_us`
    /// (microseconds, any epoch). `None`: drop it (it predates the source's switch to this slot).
    pub fn rewrite(&mut self, source: u64, pkt: RtpTiming, now_us: u64) -> Option<RtpTiming> {
        let mut marker = pkt.marker;
        let current = match self.current {
            Some(c) if c.source == source => c,
            _ => {
                let (seq, ts) = match self.last {
                    // A fresh slot starts in the first rollover period, so the listener needs no
                    // out-of-band rollover counter.
                    None => (pkt.seq & 0xffff, pkt.ts),
                    Some(last) => {
                        let elapsed = now_us.saturating_sub(last.at_us);
                        let ticks = (elapsed.saturating_mul(OPUS_CLOCK_HZ) / 1_000_000)
                            .min(u32::MAX as u64);
                        let step = (ticks as u32).max(OPUS_PACKET_TICKS);
                        (last.seq + 1, last.ts.wrapping_add(step))
                    }
                };
                marker = true;
                let c = Current {
                    source,
                    seq_offset: seq.wrapping_sub(pkt.seq),
                    ts_offset: ts.wrapping_sub(pkt.ts),
                    first_in_seq: pkt.seq,
                };
                self.current = Some(c);
                c
            }
        };
        if pkt.seq < current.first_in_seq {
            return None;
        }
        let out = RtpTiming {
            seq: pkt.seq.wrapping_add(current.seq_offset),
            ts: pkt.ts.wrapping_add(current.ts_offset),
            marker,
        };
        if self.last.is_none_or(|l| out.seq > l.seq) {
            self.last = Some(LastOut {
                seq: out.seq,
                ts: out.ts,
                at_us: now_us,
            });
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> ParticipantId {
        ParticipantId::parse(s).expect("id")
    }

    fn pkt(seq: u64, ts: u32) -> RtpTiming {
        RtpTiming {
            seq,
            ts,
            marker: false,
        }
    }

    #[test]
    fn sources_take_the_lowest_free_slots_and_keep_them() {
        let mut a = SlotAssignment::new(3);
        assert!(a.update([&p("op"), &p("int")]));
        assert_eq!(a.slots(), &[Some(p("op")), Some(p("int")), None]);
        assert!(!a.update([&p("int"), &p("op")]), "same set, no change");
        // The operator leaves: the interpreter stays in slot 1.
        assert!(a.update([&p("int")]));
        assert_eq!(a.slots(), &[None, Some(p("int")), None]);
        // A new party takes the freed slot 0; the interpreter does not move.
        assert!(a.update([&p("int"), &p("new")]));
        assert_eq!(a.slots(), &[Some(p("new")), Some(p("int")), None]);
        assert_eq!(a.slot_of(&p("int")), Some(1));
        assert_eq!(a.slot_of(&p("op")), None);
    }

    #[test]
    fn sources_beyond_the_slots_are_left_out_and_nothing_heard_empties_all() {
        let mut a = SlotAssignment::new(2);
        a.update([&p("a"), &p("b"), &p("c")]);
        assert_eq!(a.slots(), &[Some(p("a")), Some(p("b"))]);
        assert!(a.update(std::iter::empty()));
        assert_eq!(a.slots(), &[None, None]);
    }

    #[test]
    fn a_slot_starts_in_the_first_rollover_period_and_passes_one_source_through() {
        let mut s = SlotStream::default();
        let first = s.rewrite(1, pkt(3 * 65_536 + 100, 5_000), 0).expect("fwd");
        assert_eq!(first.seq, 100);
        assert_eq!(first.ts, 5_000);
        assert!(first.marker, "a new stream starts a talkspurt");
        let next = s
            .rewrite(1, pkt(3 * 65_536 + 101, 5_960), 20_000)
            .expect("fwd");
        assert_eq!((next.seq, next.ts, next.marker), (101, 5_960, false));
        // Crossing 65535 keeps counting (the extended number carries the rollover).
        let far = s
            .rewrite(1, pkt(4 * 65_536 + 2, 9_000), 40_000)
            .expect("fwd");
        assert_eq!(far.seq, 65_536 + 2);
    }

    #[test]
    fn a_switch_continues_the_sequence_and_advances_the_clock_by_the_wall_time() {
        let mut s = SlotStream::default();
        s.rewrite(1, pkt(10, 1_000), 0);
        s.rewrite(1, pkt(11, 1_960), 20_000);
        // Source 2 takes the slot 500 ms after source 1's last packet.
        let sw = s.rewrite(2, pkt(40_000, 7), 520_000).expect("fwd");
        assert_eq!(sw.seq, 12);
        assert_eq!(sw.ts, 1_960 + 24_000);
        assert!(sw.marker);
        let next = s.rewrite(2, pkt(40_001, 967), 540_000).expect("fwd");
        assert_eq!(
            (next.seq, next.ts, next.marker),
            (13, 1_960 + 24_000 + 960, false)
        );
        // An immediate switch still advances by one packet, never zero.
        let back = s.rewrite(1, pkt(12, 2_920), 540_000).expect("fwd");
        assert_eq!((back.seq, back.ts), (14, 1_960 + 24_000 + 960 + 960));
    }

    #[test]
    fn late_packets_from_before_a_switch_are_dropped_and_reordering_is_kept() {
        let mut s = SlotStream::default();
        s.rewrite(1, pkt(10, 0), 0);
        s.rewrite(2, pkt(500, 0), 20_000);
        assert_eq!(s.rewrite(2, pkt(499, 0), 21_000), None);
        let late = s.rewrite(2, pkt(502, 1_920), 22_000).expect("fwd");
        let early = s.rewrite(2, pkt(501, 960), 23_000).expect("fwd");
        assert_eq!((late.seq, early.seq), (13, 12));
        // The reordered packet does not rewind the slot: the next switch continues after 13.
        let sw = s.rewrite(3, pkt(1, 0), 40_000).expect("fwd");
        assert_eq!(sw.seq, 14);
    }

    #[test]
    fn timestamps_wrap_around_without_panicking() {
        let mut s = SlotStream::default();
        s.rewrite(1, pkt(1, u32::MAX - 100), 0);
        let next = s.rewrite(1, pkt(2, 859), 20_000).expect("fwd");
        assert_eq!(next.ts, 859);
        let sw = s.rewrite(2, pkt(9, 0), u64::MAX).expect("fwd");
        assert_eq!(sw.seq, 3);
    }
}
