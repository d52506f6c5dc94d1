//! A peer's life in the forwarder: dropped when its connection never comes up, when ICE gives up
//! on it, when it leaves, is replaced or its call ends; kept when ICE comes back in time.

use super::harness::{cid, pid, Net, STEP};
use super::{assert_hears, three_party, PHASE};
use crate::sfu::activity::LEVELS_INTERVAL;
use crate::sfu::forwarder::{CONNECT_TIMEOUT, DISCONNECT_GRACE};
use crate::sfu::SfuError;
use std::time::Duration;

#[test]
fn a_peer_whose_connection_never_comes_up_is_dropped_after_the_connect_timeout() {
    let mut net = Net::new();
    let stuck = net.join("c1", "caller");
    // ICE succeeds, DTLS never does: only the connect timeout can end this peer.
    net.clients[stuck].block_dtls = true;
    let live = net.join("c1", "operator");
    net.connect_all_but(&[stuck]);
    net.run_for(CONNECT_TIMEOUT - LEVELS_INTERVAL - STEP - net.elapsed());
    assert!(!net.clients[stuck].connected);
    assert!(net.has_peer(stuck), "dropped before the connect timeout");
    assert_eq!(net.disconnected(stuck), 0);
    net.run_for(LEVELS_INTERVAL * 2 + STEP);
    assert!(
        !net.has_peer(stuck),
        "still there after the connect timeout"
    );
    assert_eq!(net.disconnected(stuck), 1, "one Disconnected event");
    assert!(net.has_peer(live), "the connected peer stays");
    assert_eq!(net.disconnected(live), 0);
}

#[test]
fn a_peer_that_cannot_be_reached_is_dropped_once_ice_gives_up_and_the_grace_passes() {
    let mut net = Net::new();
    let unreachable = net.join("c1", "caller");
    net.cut(unreachable);
    net.join("c1", "operator");
    net.connect_all_but(&[unreachable]);
    let lost_at = net.run_until_ice_lost(unreachable, CONNECT_TIMEOUT);
    net.run_for(DISCONNECT_GRACE - LEVELS_INTERVAL - STEP - (net.now - lost_at));
    assert!(net.has_peer(unreachable), "dropped within the grace");
    net.run_for(LEVELS_INTERVAL * 2 + STEP);
    assert!(!net.has_peer(unreachable), "kept past the grace");
    assert_eq!(net.disconnected(unreachable), 1);
}

#[test]
fn a_connected_peer_whose_ice_stays_lost_past_the_grace_is_dropped() {
    let mut net = three_party();
    net.talk_all();
    net.run_for(PHASE);
    net.cut(2);
    let lost_at = net.run_until_ice_lost(2, Duration::from_secs(60));
    net.run_for(DISCONNECT_GRACE - LEVELS_INTERVAL - STEP - (net.now - lost_at));
    assert!(net.has_peer(2), "dropped within the grace");
    net.run_for(LEVELS_INTERVAL * 2 + STEP);
    assert!(!net.has_peer(2), "kept past the grace");
    assert_eq!(net.disconnected(2), 1);
    assert_eq!((net.disconnected(0), net.disconnected(1)), (0, 0));
    net.reset_all();
    net.run_for(PHASE);
    assert_hears(&net, &[&[1], &[0], &[]]);
}

#[test]
fn a_peer_whose_ice_comes_back_on_a_new_address_within_the_grace_stays() {
    let mut net = three_party();
    net.talk_all();
    net.cut(2);
    net.run_until_ice_lost(2, Duration::from_secs(60));
    net.run_for(DISCONNECT_GRACE / 2);
    net.move_client(2);
    net.run_for(DISCONNECT_GRACE * 2);
    assert!(net.has_peer(2), "dropped although ICE came back");
    assert_eq!(net.ice_lost_at(2), None, "ICE is back");
    let (new_addr, c) = (net.clients[2].addrs[1], &net.clients[2]);
    assert_eq!(
        net.claimed_by(new_addr),
        Some((c.call.clone(), c.id.clone()))
    );
    assert_eq!(net.disconnected(2), 0);
    net.reset_all();
    net.run_for(PHASE);
    assert_hears(&net, &[&[1, 2], &[0, 2], &[0, 1]]);
}

#[test]
fn a_peer_that_leaves_neither_sends_nor_receives_and_its_address_is_forgotten() {
    let mut net = three_party();
    net.talk_all();
    net.run_for(PHASE);
    let addr = net.clients[2].addrs[0];
    let c = &net.clients[2];
    assert_eq!(net.claimed_by(addr), Some((c.call.clone(), c.id.clone())));
    let last_packet = c.last_datagram.clone();
    net.leave(2);
    assert!(!net.has_peer(2));
    assert_eq!(net.claimed_by(addr), None);
    assert_eq!(net.disconnected(2), 0, "a leave is no disconnection");
    net.reset_all();
    let before = net.fwd.stats();
    net.run_for(PHASE);
    assert_hears(&net, &[&[1], &[0], &[]]);
    let forwarded = net.fwd.stats().rtp_forwarded - before.rtp_forwarded;
    let heard = net.clients[0].heard_total() + net.clients[1].heard_total();
    assert_eq!(
        forwarded, heard,
        "nothing is forwarded to the peer that left"
    );
    // Its audio, should any still come, is nobody's.
    let before = net.fwd.stats();
    net.inject(addr, &last_packet);
    let after = net.fwd.stats();
    assert_eq!(
        after.unclaimed,
        before.unclaimed + 1,
        "the old address is unclaimed"
    );
    assert_eq!(after.rtp_in, before.rtp_in);
}

#[test]
fn joining_again_replaces_the_old_connection() {
    let mut net = three_party();
    net.talk_all();
    net.run_for(PHASE);
    let old = 2;
    net.clients[old].talking = false;
    let new = net.join("c1", "interpreter");
    net.connect_all_but(&[old]);
    net.talk_all();
    net.clients[old].talking = false;
    net.run_for(PHASE);
    assert_hears(&net, &[&[1, 3], &[0, 3], &[], &[0, 1]]);
    assert_eq!(
        net.disconnected(new),
        0,
        "a replacement is no disconnection"
    );
    let c = &net.clients[new];
    assert_eq!(net.claimed_by(net.clients[old].addrs[0]), None);
    assert_eq!(
        net.claimed_by(c.addrs[0]),
        Some((c.call.clone(), c.id.clone()))
    );
}

#[test]
fn end_call_closes_every_connection_and_forgets_the_call() {
    let mut net = three_party();
    net.talk_all();
    net.run_for(PHASE);
    let call = cid("c1");
    net.end_call("c1");
    for n in 0..3 {
        assert!(!net.has_peer(n));
    }
    let err = net
        .fwd
        .add_candidate(&call, &pid("caller"), "")
        .expect_err("the call is gone");
    assert!(matches!(err, SfuError::UnknownCall(_)), "{err:?}");
    let forwarded = net.fwd.stats().rtp_forwarded;
    net.reset_all();
    net.run_for(PHASE);
    assert_eq!(net.fwd.stats().rtp_forwarded, forwarded);
    assert!(net.clients.iter().all(|c| c.heard_total() == 0));
}
