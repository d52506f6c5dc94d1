//! The jitter buffer in simulated time: 20 ms G.711 packets (160 samples at 8 kHz), sent every
//! 20 ms from `t0` and arriving with whatever delay a test gives them.

use super::*;

const TICK: Duration = Duration::from_millis(20);
const FRAME: u32 = 160;

fn buffer() -> JitterBuffer {
    JitterBuffer::new(8000, TICK)
}

fn at(t0: Instant, ms: u64) -> Instant {
    t0 + Duration::from_millis(ms)
}

/// Packet `n` of a stream: sequence `n`, timestamp `n × 160`, payload `[n]`.
fn push(jb: &mut JitterBuffer, n: u16, now: Instant) {
    jb.push(n, u32::from(n) * FRAME, vec![n as u8], FRAME, now);
}

/// What the ticks from `from_ms` on, every 20 ms, play: `Some(n)` for packet n, `None` for a
/// concealed gap; stops at the first idle tick or after `ticks`.
fn play(jb: &mut JitterBuffer, t0: Instant, from_ms: u64, ticks: u64) -> Vec<Option<u8>> {
    let mut out = Vec::new();
    for i in 0..ticks {
        match jb.pop(at(t0, from_ms + i * 20)) {
            Playout::Packet { payload, .. } => out.push(Some(payload[0])),
            Playout::Lost { .. } => out.push(None),
            Playout::Idle => break,
        }
    }
    out
}

#[test]
fn playout_waits_for_the_depth_then_keeps_pace() {
    let t0 = Instant::now();
    let mut jb = buffer();
    push(&mut jb, 0, t0);
    assert_eq!(jb.pop(t0), Playout::Idle, "still filling");
    assert_eq!(jb.pop(at(t0, 40)), Playout::Idle);
    push(&mut jb, 1, at(t0, 20));
    push(&mut jb, 2, at(t0, 40));
    push(&mut jb, 3, at(t0, 60));
    assert_eq!(
        play(&mut jb, t0, u64::from(JITTER_DEPTH_MS), 4),
        [Some(0), Some(1), Some(2), Some(3)]
    );
    assert_eq!(jb.stats().played, 4);
}

#[test]
fn reordered_packets_play_in_timestamp_order() {
    let t0 = Instant::now();
    let mut jb = buffer();
    for n in [1, 0, 3, 2, 4] {
        push(&mut jb, n, t0);
    }
    assert_eq!(
        play(&mut jb, t0, 60, 5),
        [Some(0), Some(1), Some(2), Some(3), Some(4)]
    );
    assert_eq!(jb.stats().late + jb.stats().duplicate, 0);
}

#[test]
fn late_packet_is_dropped() {
    let t0 = Instant::now();
    let mut jb = buffer();
    push(&mut jb, 0, t0);
    push(&mut jb, 2, at(t0, 40));
    // Packet 1's turn comes at 80 ms; it arrives at 90 ms, after its gap was concealed.
    assert_eq!(play(&mut jb, t0, 60, 2), [Some(0), None]);
    push(&mut jb, 1, at(t0, 90));
    assert_eq!(play(&mut jb, t0, 100, 1), [Some(2)]);
    assert_eq!(jb.stats().late, 1);
    assert_eq!(jb.stats().concealed, 1);
}

#[test]
fn duplicate_packets_are_dropped_before_and_after_playing() {
    let t0 = Instant::now();
    let mut jb = buffer();
    push(&mut jb, 0, t0);
    push(&mut jb, 1, t0);
    push(&mut jb, 1, t0);
    assert_eq!(play(&mut jb, t0, 60, 1), [Some(0)]);
    push(&mut jb, 0, at(t0, 70));
    assert_eq!(play(&mut jb, t0, 80, 1), [Some(1)]);
    assert_eq!(jb.stats().duplicate, 2);
    assert_eq!(jb.stats().late, 0);
}

#[test]
fn gap_is_reported_lost_with_the_next_packet_for_fec() {
    let t0 = Instant::now();
    let mut jb = buffer();
    for n in [0, 2, 3] {
        push(&mut jb, n, t0);
    }
    assert_eq!(play(&mut jb, t0, 60, 1), [Some(0)]);
    assert_eq!(
        jb.pop(at(t0, 80)),
        Playout::Lost {
            samples: FRAME,
            next: Some(vec![2])
        }
    );
    assert_eq!(play(&mut jb, t0, 100, 2), [Some(2), Some(3)]);
}

#[test]
fn a_stopped_stream_is_concealed_briefly_then_goes_idle_and_restarts_with_a_fresh_depth() {
    let t0 = Instant::now();
    let mut jb = buffer();
    push(&mut jb, 0, t0);
    let ticks = u64::from(RESYNC_AFTER_MS / 20);
    let played = play(&mut jb, t0, 60, ticks + 5);
    assert_eq!(
        played.len() as u64,
        ticks,
        "packet 0, then concealment until the resync"
    );
    assert_eq!(played[0], Some(0));
    // The talker comes back 2 s later with timestamps 2 s on.
    let back = at(t0, 2000);
    push(&mut jb, 100, back);
    assert_eq!(jb.pop(back), Playout::Idle, "a new spurt fills again");
    assert_eq!(play(&mut jb, t0, 2060, 1), [Some(100)]);
}

#[test]
fn a_timestamp_jump_restarts_the_stream() {
    let t0 = Instant::now();
    let mut jb = buffer();
    push(&mut jb, 0, t0);
    assert_eq!(play(&mut jb, t0, 60, 1), [Some(0)]);
    // A new SSRC after a re-INVITE: timestamps start somewhere else entirely.
    jb.push(7, 3_000_000_000, vec![7], FRAME, at(t0, 80));
    assert_eq!(jb.stats().restarts, 1);
    assert_eq!(jb.pop(at(t0, 80)), Playout::Idle);
    assert_eq!(play(&mut jb, t0, 140, 1), [Some(7)]);
}

#[test]
fn timestamps_wrap_around_without_a_glitch() {
    let t0 = Instant::now();
    let mut jb = buffer();
    let start = u32::MAX - FRAME + 1;
    for i in 0..4u16 {
        let ts = start.wrapping_add(u32::from(i) * FRAME);
        jb.push(i, ts, vec![i as u8], FRAME, t0);
    }
    assert_eq!(
        play(&mut jb, t0, 60, 4),
        [Some(0), Some(1), Some(2), Some(3)]
    );
    assert_eq!(jb.stats().restarts, 0);
}

#[test]
fn a_burst_beyond_the_max_delay_is_trimmed_to_the_depth() {
    let t0 = Instant::now();
    let mut jb = buffer();
    push(&mut jb, 0, t0);
    assert_eq!(play(&mut jb, t0, 60, 1), [Some(0)]);
    // A stalled network delivers 300 ms at once.
    for n in 1..=15 {
        push(&mut jb, n, at(t0, 70));
    }
    let next = play(&mut jb, t0, 80, 1);
    let kept = u16::try_from(JITTER_DEPTH_MS / 20).expect("small");
    assert_eq!(
        next,
        [Some((16 - kept) as u8)],
        "only the last {kept} packets kept"
    );
    assert_eq!(jb.stats().overflow, u64::from(15 - kept));
}

#[test]
fn a_flood_cannot_grow_the_buffer() {
    let t0 = Instant::now();
    let mut jb = buffer();
    for n in 0..1000u16 {
        jb.push(n, u32::from(n), vec![0; 10], 1, t0);
    }
    assert_eq!(jb.held.len(), MAX_PACKETS);
    assert_eq!(jb.stats().overflow, 1000 - MAX_PACKETS as u64);
}

#[test]
fn ten_millisecond_packets_play_two_per_tick_worth_of_timestamps() {
    // The buffer paces by timestamp; a caller popping twice per tick gets both halves.
    let t0 = Instant::now();
    let mut jb = buffer();
    for n in 0..4u16 {
        jb.push(n, u32::from(n) * 80, vec![n as u8], 80, t0);
    }
    let mut got = Vec::new();
    for _ in 0..4 {
        if let Playout::Packet { payload, samples } = jb.pop(at(t0, 60)) {
            assert_eq!(samples, 80);
            got.push(payload[0]);
        }
    }
    assert_eq!(got, [0, 1, 2, 3]);
}
