//! Media shards with real WebRTC test peers over UDP on loopback: every leg of a call lands on
//! the one shard the call was placed on (its answer names that shard's port, and the shard holds
//! its peers), calls spread over the shards, a call keeps flowing while another shard's loop is
//! blocked, and shutting down ends every shard's calls before the shards report finished. With
//! `media.realtime_priority` the shards' threads run at that SCHED_FIFO priority (where the
//! machine allows it; elsewhere they run as before and say so) and calls flow as ever.
use crate::common;

use common::media::{spawn_media_at, spawn_media_shards};
use hotline_bridge::domain::Role;
use hotline_bridge::domain::{CallId, ParticipantId};
use hotline_bridge::drivers::media::MediaHandle;
use hotline_bridge::engine::{AudioRoutes, Controls};
use hotline_bridge::sfu::peer::PeerConfig;
use hotline_bridge::testkit::{TestPeer, TestPeerOffer, TestPeerOptions};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);
/// A drained shard says goodbye at once; ICE giving up on a silent server would take longer.
const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// Packets (of 50 per second) that prove a stream flows.
const FLOWING: u64 = 25;

const PARTIES: [(&str, Role); 3] = [
    ("caller", Role::Caller),
    ("operator", Role::Operator),
    ("interpreter", Role::Interpreter),
];

fn cid(s: &str) -> CallId {
    CallId::parse(s).expect("call id")
}

fn pid(s: &str) -> ParticipantId {
    ParticipantId::parse(s).expect("participant id")
}

/// The port of the (one) host candidate in an SDP answer.
fn candidate_port(sdp: &str) -> u16 {
    let line = sdp
        .lines()
        .find(|l| l.starts_with("a=candidate:"))
        .expect("a candidate in the answer");
    // a=candidate:<foundation> <component> <proto> <priority> <ip> <port> typ host
    line.split_whitespace()
        .nth(5)
        .and_then(|p| p.parse().ok())
        .expect("a port in the candidate")
}

/// Joins `n` parties of `call` with routes for all of them; returns the peers and the port each
/// answer named.
async fn call_with(
    media: &MediaHandle,
    config: &PeerConfig,
    call: &str,
    n: usize,
    first_tag: u32,
) -> (Vec<TestPeer>, Vec<u16>) {
    let parties: Vec<(ParticipantId, Role)> =
        PARTIES[..n].iter().map(|(p, r)| (pid(p), *r)).collect();
    media
        .set_routes(
            cid(call),
            AudioRoutes::compute(&parties, &Controls::default()),
        )
        .await
        .expect("routes");
    let mut peers = Vec::new();
    let mut ports = Vec::new();
    for (i, (p, _)) in parties.iter().enumerate() {
        let (offer, sdp) =
            TestPeerOffer::new(config, first_tag + i as u32, TestPeerOptions::default())
                .expect("offer");
        let answer = media.join(cid(call), p.clone(), sdp).await.expect("join");
        ports.push(candidate_port(&answer));
        let peer = offer.start(&answer).expect("start");
        peers.push(peer);
    }
    for (i, peer) in peers.iter().enumerate() {
        assert!(
            peer.wait_connected(WAIT).await,
            "{call}: party {i} connects"
        );
    }
    (peers, ports)
}

/// Polls until `listener` has `FLOWING` more packets from `tag` than `from`; false at `deadline`.
async fn flows(listener: &TestPeer, tag: u32, from: u64, deadline: Instant) -> bool {
    while Instant::now() < deadline {
        if listener.packets_from(tag) >= from + FLOWING {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_leg_of_a_call_lands_on_its_shard_and_calls_spread_over_the_shards() {
    let (media, _guard) = spawn_media_shards(2).await;
    let config = PeerConfig::new().expect("config");
    let ports: Vec<u16> = media.local_addrs().iter().map(|a| a.port()).collect();
    assert_eq!(ports.len(), 2);
    assert_ne!(ports[0], ports[1], "each shard has its own socket");
    let mut all = Vec::new();
    for (c, call) in ["a", "b", "c"].into_iter().enumerate() {
        let (peers, answered) = call_with(&media, &config, call, 3, 1 + 3 * c as u32).await;
        let shard = media.shard_of(&cid(call)).expect("the call is placed");
        assert!(
            answered.iter().all(|&p| p == ports[shard]),
            "call {call} on shard {shard} ({}): its legs were answered with ports {answered:?}",
            ports[shard]
        );
        all.push((call, shard, peers));
    }
    let shards: Vec<usize> = all.iter().map(|(_, s, _)| *s).collect();
    assert_eq!(
        shards,
        vec![0, 1, 0],
        "each call goes to the shard with fewest calls"
    );
    let stats = media.shard_stats().await.expect("stats");
    assert_eq!(
        stats
            .iter()
            .map(|s| (s.calls, s.stats.live_peers))
            .collect::<Vec<_>>(),
        vec![(2, 6), (1, 3)],
        "calls and peers per shard"
    );
    // Every leg hears the others of its call.
    let deadline = Instant::now() + WAIT;
    for (call, _, peers) in &all {
        for l in peers {
            for s in peers {
                if s.tag() != l.tag() {
                    assert!(
                        flows(l, s.tag(), 0, deadline).await,
                        "{call}: {} hears {}",
                        l.tag(),
                        s.tag()
                    );
                }
            }
        }
    }
    media.end_call(cid("a")).await.expect("end");
    assert_eq!(media.shard_of(&cid("a")), None);
    let stats = media.shard_stats().await.expect("stats");
    assert_eq!(stats[0].calls, 1, "an ended call leaves its shard");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_keeps_flowing_while_another_shards_loop_is_blocked() {
    let (media, _guard) = spawn_media_shards(2).await;
    let config = PeerConfig::new().expect("config");
    let (blocked, _) = call_with(&media, &config, "blocked", 2, 1).await;
    let (free, _) = call_with(&media, &config, "free", 2, 11).await;
    assert_eq!(media.shard_of(&cid("blocked")), Some(0));
    assert_eq!(media.shard_of(&cid("free")), Some(1));
    let deadline = Instant::now() + WAIT;
    assert!(
        flows(&blocked[1], 1, 0, deadline).await,
        "the first call flows"
    );
    assert!(
        flows(&free[1], 11, 0, deadline).await,
        "the second call flows"
    );

    media
        .hold_shard(0, Duration::from_secs(3))
        .await
        .expect("shard 0 held");
    let held_at = Instant::now();
    let blocked_before = blocked[1].packets_from(1);
    let free_before = free[1].packets_from(11);
    assert!(
        flows(&free[1], 11, free_before, held_at + Duration::from_secs(2)).await,
        "the call on shard 1 flows while shard 0 is blocked"
    );
    assert!(
        held_at.elapsed() < Duration::from_secs(3),
        "measured within the hold"
    );
    let blocked_during = blocked[1].packets_from(1) - blocked_before;
    assert!(
        blocked_during <= 2,
        "shard 0 really was blocked: {blocked_during} packets got through"
    );
    // Once free again, the blocked call flows again.
    let after = blocked[1].packets_from(1);
    assert!(
        flows(&blocked[1], 1, after, Instant::now() + WAIT).await,
        "the call on shard 0 resumes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_the_calls_of_every_shard_then_reports_finished() {
    let (media, guard) = spawn_media_shards(2).await;
    let config = PeerConfig::new().expect("config");
    let (first, _) = call_with(&media, &config, "first", 2, 1).await;
    let (second, _) = call_with(&media, &config, "second", 2, 11).await;
    assert_eq!(media.shard_of(&cid("second")), Some(1));
    drop(guard);
    tokio::time::timeout(WAIT, media.finished())
        .await
        .expect("every shard finishes");
    for (i, peer) in first.iter().chain(&second).enumerate() {
        assert!(
            peer.wait_closed(CLOSE_WAIT).await,
            "peer {i}: the shard closed its connection on the way out"
        );
    }
    let err = media
        .join(cid("second"), pid("caller"), String::new())
        .await
        .expect_err("no shard is left");
    assert!(
        matches!(err, hotline_bridge::drivers::media::MediaError::Stopped),
        "{err:?}"
    );
}

/// The threads of this process named `media-<i>` (the shards) and their (policy, rt_priority)
/// from /proc: policy 1 is SCHED_FIFO.
fn media_threads() -> Vec<(u32, u32)> {
    let mut found = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").expect("/proc/self/task") {
        let path = task.expect("task").path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if !comm.starts_with("media-") {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(path.join("stat")) else {
            continue; // the thread ended meanwhile
        };
        // Fields after the name in parentheses; rt_priority is field 40, policy 41.
        let rest: Vec<&str> = stat[stat.rfind(')').expect("stat") + 2..]
            .split_whitespace()
            .collect();
        let field = |n: usize| rest[n - 3].parse::<u32>().expect("a number");
        found.push((field(41), field(40)));
    }
    found
}

/// Whether this machine lets a process run at SCHED_FIFO `priority` (root, CAP_SYS_NICE or
/// RLIMIT_RTPRIO), asked of the kernel by `chrt` apart from the service.
fn fifo_allowed(priority: u8) -> bool {
    std::process::Command::new("chrt")
        .args(["-f", &priority.to_string(), "true"])
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_asked_to_run_in_real_time_do_so_where_allowed_and_calls_flow() {
    // 3: no other test asks for it, so the threads at it are this test's.
    const PRIORITY: u8 = 3;
    let allowed = fifo_allowed(PRIORITY);
    let (media, _guard) = spawn_media_at(2, PRIORITY).await;
    let shards = media.shard_stats().await.expect("shard stats");
    assert_eq!(shards.len(), 2);
    for s in &shards {
        assert_eq!(
            s.stats.realtime_shards,
            u32::from(allowed),
            "shard {} reports whether it got SCHED_FIFO (allowed here: {allowed})",
            s.shard
        );
    }
    let at_priority = media_threads()
        .into_iter()
        .filter(|&t| t == (1, u32::from(PRIORITY)))
        .count();
    assert_eq!(
        at_priority,
        if allowed { 2 } else { 0 },
        "the kernel's view of the shard threads"
    );
    // A call on each shard flows at that priority.
    let config = PeerConfig::new().expect("config");
    for (call, tag) in [("first", 1), ("second", 11)] {
        let (peers, _) = call_with(&media, &config, call, 2, tag).await;
        assert!(
            flows(&peers[1], peers[0].tag(), 0, Instant::now() + WAIT).await,
            "call {call}: the operator hears the caller"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_shards_run_under_the_normal_scheduler() {
    let (media, _guard) = spawn_media_shards(2).await;
    let shards = media.shard_stats().await.expect("shard stats");
    assert!(
        shards.iter().all(|s| s.stats.realtime_shards == 0),
        "{shards:?}"
    );
}
