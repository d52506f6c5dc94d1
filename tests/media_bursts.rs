//! A burst of datagrams larger than one receive batch, with real WebRTC test peers over UDP on
//! loopback: while a shard's loop is held, five three-way calls queue hundreds of packets at its
//! socket (several receive batches, more than one wake-up's worth); once the loop runs again,
//! every packet reaches every other party of its call, none is lost, and no send is refused.
use crate::common;

use common::media::{spawn_media_shards, Events};
use hotline_bridge::domain::{CallId, ParticipantId, Role};
use hotline_bridge::drivers::media::MediaEvent;
use hotline_bridge::engine::{AudioRoutes, Controls};
use hotline_bridge::sfu::peer::PeerConfig;
use hotline_bridge::testkit::{TestPeer, TestPeerOptions};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);
const CALLS: usize = 5;
/// Packets each party sends while the loop is held: 5 calls × 3 parties × 25 = 375 datagrams
/// queued at once, more than a wake-up's 256 and many receive batches of 32.
const BURST: u64 = 25;
/// The loop is held this long: room for every party to send `BURST` (0.5 s) on a busy machine,
/// short of ICE giving up on the silent server.
const HOLD: Duration = Duration::from_secs(3);

const PARTIES: [(&str, Role); 3] = [
    ("caller", Role::Caller),
    ("operator", Role::Operator),
    ("interpreter", Role::Interpreter),
];

/// Polls until `done` holds; false at `deadline`.
async fn until(deadline: Instant, mut done: impl FnMut() -> bool) -> bool {
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    done()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_queued_while_the_loop_was_held_is_forwarded_whole() {
    let (media, _guard) = spawn_media_shards(1).await;
    let mut events = Events::new(&media);
    let config = PeerConfig::new().expect("config");
    let mut calls: Vec<Vec<TestPeer>> = Vec::new();
    for c in 0..CALLS {
        let call = CallId::parse(&format!("burst-{c}")).expect("call id");
        let parties: Vec<(ParticipantId, Role)> = PARTIES
            .iter()
            .map(|(p, r)| (ParticipantId::parse(p).expect("participant id"), *r))
            .collect();
        media
            .set_routes(
                call.clone(),
                AudioRoutes::compute(&parties, &Controls::default()),
            )
            .await
            .expect("routes");
        let mut peers = Vec::new();
        for (i, (p, _)) in parties.iter().enumerate() {
            let tag = (c * PARTIES.len() + i + 1) as u32;
            // Silent until the burst.
            let muted = TestPeerOptions {
                muted: true,
                ..TestPeerOptions::default()
            };
            let peer = TestPeer::join(&media, &config, &call, p, tag, muted)
                .await
                .expect("join");
            peers.push(peer);
        }
        calls.push(peers);
    }
    // Every leg connected on the server's side too, so nothing of the burst meets a half-open leg.
    for _ in 0..CALLS * PARTIES.len() {
        events
            .wait("a leg connects", WAIT, |e| {
                matches!(e, MediaEvent::Connected { .. })
            })
            .await;
    }
    let all: Vec<&TestPeer> = calls.iter().flatten().collect();
    for (i, peer) in all.iter().enumerate() {
        assert!(peer.wait_connected(WAIT).await, "peer {i} connects");
    }

    media.hold_shard(0, HOLD).await.expect("shard held");
    for peer in &all {
        peer.set_sending(true);
    }
    let burst_sent = until(Instant::now() + WAIT, || {
        all.iter().all(|p| p.sent() >= BURST)
    })
    .await;
    for peer in &all {
        peer.set_sending(false);
    }
    assert!(burst_sent, "every party sent its burst");
    let through: u64 = all
        .iter()
        .map(|l| all.iter().map(|s| l.packets_from(s.tag())).sum::<u64>())
        .sum();
    assert_eq!(
        through, 0,
        "the loop was held while the burst queued at its socket"
    );
    let queued: u64 = all.iter().map(|p| p.sent()).sum();
    assert!(
        queued >= CALLS as u64 * 3 * BURST,
        "{queued} packets queued"
    );

    // Once the loop runs again, every packet reaches each other party of its call.
    let complete = |calls: &[Vec<TestPeer>]| {
        calls.iter().all(|peers| {
            peers.iter().all(|l| {
                peers
                    .iter()
                    .filter(|s| s.tag() != l.tag())
                    .all(|s| l.packets_from(s.tag()) >= s.sent())
            })
        })
    };
    until(Instant::now() + HOLD + WAIT, || complete(&calls)).await;
    for (c, peers) in calls.iter().enumerate() {
        for l in peers {
            for s in peers.iter().filter(|s| s.tag() != l.tag()) {
                assert_eq!(
                    l.packets_from(s.tag()),
                    s.sent(),
                    "call {c}: what {} heard from {}",
                    l.tag(),
                    s.tag()
                );
            }
        }
    }
    let stats = media.stats().await.expect("stats");
    assert_eq!(stats.send_errors, 0, "no send refused");
    assert!(
        stats.forwarder.rtp_forwarded >= 2 * queued,
        "forwarded {} of {queued} packets to two listeners each",
        stats.forwarder.rtp_forwarded
    );
}
