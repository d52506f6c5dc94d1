//! When peers' WebRTC timers run: at their own deadline, or to release packets queued on them,
//! never because of other peers' traffic or an empty flush.

use super::harness::Net;
use super::{three_party, PHASE, THREE};
use crate::engine::Controls;
use std::time::Duration;

#[test]
fn a_peers_timer_runs_when_due_and_not_on_every_flush() {
    let mut net = three_party();
    let before = net.timer_runs(0);
    for _ in 0..50 {
        net.flush();
    }
    assert_eq!(net.timer_runs(0), before, "an empty flush runs no timer");
    // Wake the forwarder closer and closer to the peer's deadline: nothing runs before it.
    let deadline = net.peer_deadline(0);
    while deadline - net.now > Duration::from_millis(1) {
        let at = net.now + (deadline - net.now) / 2;
        net.wake_forwarder(at);
        assert_eq!(net.timer_runs(0), before, "ran before its deadline");
        assert_eq!(net.peer_deadline(0), deadline);
    }
    net.wake_forwarder(deadline);
    assert_eq!(net.timer_runs(0), before + 1, "runs once at its deadline");
}

#[test]
fn forwarding_packets_runs_the_listeners_timers_and_nobody_elses() {
    let mut net = Net::new();
    for (name, _) in THREE {
        net.join("c1", name);
    }
    net.join("c2", "caller");
    net.join("c2", "operator");
    net.set_routes("c1", &THREE, &Controls::default());
    net.set_routes("c2", &THREE[..2], &Controls::default());
    net.connect_all();
    net.reset_all();
    let before: Vec<u64> = (0..5).map(|n| net.timer_runs(n)).collect();
    const N: u64 = 20;
    for _ in 0..N {
        net.talk_once(0);
    }
    let runs: Vec<u64> = (0..5).map(|n| net.timer_runs(n) - before[n]).collect();
    for listener in [1, 2] {
        assert_eq!(net.clients[listener].heard_from(net.clients[0].tag), N);
        assert_eq!(runs[listener], N, "one timer run per flush with packets");
    }
    assert_eq!(
        runs[0], 0,
        "the source's timer is not run by its own packets"
    );
    assert_eq!(runs[3..], [0, 0], "another call's peers are not visited");
}

#[test]
fn the_deadline_queue_stays_small_while_audio_flows() {
    let mut net = three_party();
    net.talk_all();
    net.run_for(PHASE * 3);
    let queued = net.fwd.timers.queued();
    assert!(queued <= 3 * 3, "{queued} deadlines queued for 3 peers");
    assert!(net.fwd.stats().timer_runs > 0);
}
