//! A jitter buffer for one incoming RTP audio stream: packets go in as they arrive, ordered by
//! timestamp; one tick at a time the stream comes out at a steady pace, a packet or a gap to
//! conceal. Knows nothing of codecs beyond each packet's duration; never reads the clock.
//!
//! Policy: a fixed depth (`JITTER_DEPTH_MS`) of audio is held before a talk spurt starts playing.
//! A packet that arrives after its turn is late and dropped (the gap was already concealed), as is
//! a second copy of one already held or played. More than `MAX_DELAY_MS` waiting (a sender's clock
//! running fast, or a burst after a stall) drops the oldest until the delay is back at the depth.
//! Nothing to play for `RESYNC_AFTER_MS` ends the spurt: the next packet starts a new one with a
//! fresh depth. A timestamp jump over `MAX_JUMP_MS` either way is a new stream and starts over.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Audio held before playout starts: covers the jitter of a carrier trunk or a mobile network
/// (typically under 40 ms) at the cost of that much added delay.
pub const JITTER_DEPTH_MS: u32 = 60;
/// Queued audio beyond this is dropped, oldest first, so a fast sender cannot build up delay.
pub const MAX_DELAY_MS: u32 = 200;
/// Silence this long (nothing arrived to play) ends a talk spurt.
pub const RESYNC_AFTER_MS: u32 = 400;
/// A timestamp this far from the playout point means the sender restarted its stream.
pub const MAX_JUMP_MS: u32 = 2_000;
/// Packets held at most; more are refused, so a peer cannot grow the buffer.
pub const MAX_PACKETS: usize = 64;

/// What one tick plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Playout {
    /// The next packet, in order: `samples` long.
    Packet { payload: Vec<u8>, samples: u32 },
    /// Audio for `samples` is missing: conceal it. `next` is the packet right after the gap,
    /// when it is already here (its in-band FEC may recover the lost one).
    Lost { samples: u32, next: Option<Vec<u8>> },
    /// Nothing to play: before the stream starts, while it fills, or after it stopped.
    Idle,
}

/// Counters since the stream was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    pub received: u64,
    pub played: u64,
    /// Arrived after their turn had passed.
    pub late: u64,
    /// A copy of a packet already held or played.
    pub duplicate: u64,
    /// Dropped to keep the delay under `MAX_DELAY_MS`, or refused with the buffer full.
    pub overflow: u64,
    /// Ticks of audio that were missing and concealed.
    pub concealed: u64,
    /// Times the stream restarted (timestamp jump).
    pub restarts: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No packet yet, or the last talk spurt ended.
    Empty,
    /// A talk spurt's first packet arrived; playout starts at `play_at`.
    Filling {
        play_at: Instant,
    },
    Playing,
}

#[derive(Debug)]
struct Held {
    seq: u16,
    payload: Vec<u8>,
    samples: u32,
}

/// One stream's jitter buffer; timestamps in units of `clock_rate`.
#[derive(Debug)]
pub struct JitterBuffer {
    clock_rate: u32,
    tick_samples: u32,
    state: State,
    /// Packets by extended (unwrapped) timestamp.
    held: BTreeMap<i64, Held>,
    /// The extended timestamp that plays next.
    next_ts: i64,
    /// The last packet's 32-bit timestamp and its extended value, for unwrapping.
    last_ts: Option<(u32, i64)>,
    /// Recently played sequence numbers (bit i: `played_top - i`), to tell copies from late ones.
    played_top: Option<u16>,
    played_mask: u64,
    /// Samples in a row with nothing to play.
    starved: u32,
    stats: JitterStats,
}

impl JitterBuffer {
    /// A buffer for a stream with RTP clock `clock_rate`, played in ticks of `tick` length.
    pub fn new(clock_rate: u32, tick: Duration) -> Self {
        Self {
            clock_rate,
            tick_samples: ms_to_samples(clock_rate, tick.as_millis() as u32).max(1) as u32,
            state: State::Empty,
            held: BTreeMap::new(),
            next_ts: 0,
            last_ts: None,
            played_top: None,
            played_mask: 0,
            starved: 0,
            stats: JitterStats::default(),
        }
    }

    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Takes one packet of `samples` duration that arrived at `now`.
    pub fn push(&mut self, seq: u16, timestamp: u32, payload: Vec<u8>, samples: u32, now: Instant) {
        self.stats.received += 1;
        let ts = self.extend(timestamp);
        let max_jump = ms_to_samples(self.clock_rate, MAX_JUMP_MS);
        if self.state != State::Empty && (ts - self.next_ts).abs() > max_jump {
            self.stats.restarts += 1;
            self.state = State::Empty;
            self.held.clear();
            self.played_top = None;
        }
        match self.state {
            State::Empty => {
                self.state = State::Filling {
                    play_at: now + Duration::from_millis(JITTER_DEPTH_MS.into()),
                };
                self.next_ts = ts;
            }
            // Still filling: an earlier packet that overtook this spurt's first moves the start.
            State::Filling { .. } if ts < self.next_ts => self.next_ts = ts,
            _ => {}
        }
        if ts < self.next_ts {
            if self.was_played(seq) {
                self.stats.duplicate += 1;
            } else {
                self.stats.late += 1;
            }
            return;
        }
        if self.held.contains_key(&ts) {
            self.stats.duplicate += 1;
            return;
        }
        if self.held.len() >= MAX_PACKETS {
            self.stats.overflow += 1;
            return;
        }
        let held = Held {
            seq,
            payload,
            samples: samples.max(1),
        };
        self.held.insert(ts, held);
    }

    /// What plays in the tick starting at `now`.
    pub fn pop(&mut self, now: Instant) -> Playout {
        match self.state {
            State::Empty => return Playout::Idle,
            State::Filling { play_at } if now < play_at => return Playout::Idle,
            State::Filling { .. } => self.state = State::Playing,
            State::Playing => {}
        }
        self.trim_delay();
        // A packet overlapping one already played (a sender repeating timestamps) is late.
        while self
            .held
            .first_key_value()
            .is_some_and(|(&ts, _)| ts < self.next_ts)
        {
            self.held.pop_first();
            self.stats.late += 1;
        }
        let Some((&ts, _)) = self.held.first_key_value() else {
            self.starved += self.tick_samples;
            if self.starved >= ms_to_samples(self.clock_rate, RESYNC_AFTER_MS) as u32 {
                self.state = State::Empty;
                self.starved = 0;
                return Playout::Idle;
            }
            self.next_ts += i64::from(self.tick_samples);
            self.stats.concealed += 1;
            return Playout::Lost {
                samples: self.tick_samples,
                next: None,
            };
        };
        self.starved = 0;
        if ts > self.next_ts {
            let gap = (ts - self.next_ts).min(i64::from(self.tick_samples));
            self.next_ts += gap;
            self.stats.concealed += 1;
            let next = (self.next_ts == ts).then(|| self.held[&ts].payload.clone());
            return Playout::Lost {
                samples: gap as u32,
                next,
            };
        }
        let Some((ts, held)) = self.held.pop_first() else {
            return Playout::Idle;
        };
        self.next_ts = ts + i64::from(held.samples);
        self.mark_played(held.seq);
        self.stats.played += 1;
        Playout::Packet {
            payload: held.payload,
            samples: held.samples,
        }
    }

    /// Drops the oldest packets while more than `MAX_DELAY_MS` is queued.
    fn trim_delay(&mut self) {
        let max = ms_to_samples(self.clock_rate, MAX_DELAY_MS);
        let depth = ms_to_samples(self.clock_rate, JITTER_DEPTH_MS);
        let queued = |held: &BTreeMap<i64, Held>, from: i64| {
            held.last_key_value()
                .map_or(0, |(&ts, h)| ts + i64::from(h.samples) - from)
        };
        if queued(&self.held, self.next_ts) <= max {
            return;
        }
        while queued(&self.held, self.next_ts) > depth {
            let Some((ts, held)) = self.held.pop_first() else {
                break;
            };
            self.next_ts = ts + i64::from(held.samples);
            self.mark_played(held.seq);
            self.stats.overflow += 1;
        }
    }

    /// The 32-bit RTP timestamp unwrapped against the last one seen.
    fn extend(&mut self, ts: u32) -> i64 {
        let ext = match self.last_ts {
            None => i64::from(ts),
            Some((last, last_ext)) => last_ext + i64::from(ts.wrapping_sub(last) as i32),
        };
        self.last_ts = Some((ts, ext));
        ext
    }

    fn mark_played(&mut self, seq: u16) {
        match self.played_top {
            Some(top) if seq.wrapping_sub(top) < 0x8000 => {
                let shift = u32::from(seq.wrapping_sub(top));
                self.played_mask = self.played_mask.checked_shl(shift).unwrap_or(0) | 1;
                self.played_top = Some(seq);
            }
            Some(top) => {
                let back = u32::from(top.wrapping_sub(seq));
                if back < 64 {
                    self.played_mask |= 1 << back;
                }
            }
            None => {
                self.played_top = Some(seq);
                self.played_mask = 1;
            }
        }
    }

    fn was_played(&self, seq: u16) -> bool {
        self.played_top.is_some_and(|top| {
            let back = u32::from(top.wrapping_sub(seq));
            back < 64 && self.played_mask & (1 << back) != 0
        })
    }
}

fn ms_to_samples(clock_rate: u32, ms: u32) -> i64 {
    i64::from(clock_rate) * i64::from(ms) / 1000
}

#[cfg(test)]
mod tests;
