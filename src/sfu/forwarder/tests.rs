//! The forwarder with real str0m client peers on an in-memory network (see `harness`): who hears
//! whom, what happens to strangers' datagrams, levels, errors and counters (a peer's life and
//! death: `lifecycle`).

mod client;
mod harness;
mod lifecycle;
mod timing;

use crate::domain::Role;
use crate::drivers::media::RECV_SLOTS;
use crate::engine::Controls;
use crate::sfu::activity::SILENT_AFTER;
use crate::sfu::{MediaEvent, SfuError};
use harness::{cid, pid, Net};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

/// Simulated talking time per phase: 50 packets per talker.
const PHASE: Duration = Duration::from_secs(1);
/// Packets a listener must get from each source it hears in a phase (some go to set-up).
const ENOUGH: u64 = 40;

const THREE: [(&str, Role); 3] = [
    ("caller", Role::Caller),
    ("operator", Role::Operator),
    ("interpreter", Role::Interpreter),
];

/// Caller (0), operator (1) and interpreter (2) of call `c1`, connected, routes normal.
fn three_party() -> Net {
    let mut net = Net::new();
    for (name, _) in THREE {
        net.join("c1", name);
    }
    net.set_routes("c1", &THREE, &Controls::default());
    net.connect_all();
    net
}

/// Asserts that each client heard exactly the clients `hears[listener]` lists (by index).
fn assert_hears(net: &Net, hears: &[&[usize]]) {
    for (l, expected) in hears.iter().enumerate() {
        let c = &net.clients[l];
        for (s, source) in net.clients.iter().enumerate() {
            let got = c.heard_from(source.tag);
            if expected.contains(&s) {
                assert!(
                    got >= ENOUGH,
                    "{} hears {}: only {got} packets",
                    c.id,
                    source.id
                );
            } else {
                assert_eq!(got, 0, "{} must not hear {}", c.id, source.id);
            }
        }
        assert_eq!(c.unmarked, 0, "{} got packets from nobody", c.id);
    }
}

#[test]
fn audio_reaches_exactly_the_listeners_the_routes_allow_never_its_source() {
    let mut net = three_party();
    net.talk_all();
    net.run_for(PHASE);
    assert_hears(&net, &[&[1, 2], &[0, 2], &[0, 1]]);
    for c in &net.clients {
        assert_eq!(c.heard_from(c.tag), 0, "{} hears itself", c.id);
        // Each source it hears comes on a slot of its own.
        assert_eq!(c.by_slot.len(), 2, "{}: {:?}", c.id, c.by_slot);
        assert!(c.by_slot.values().all(|tags| tags.len() == 1));
        assert!(c.by_slot.keys().all(|&slot| slot < RECV_SLOTS));
    }
}

#[test]
fn in_consult_the_caller_hears_nobody_until_the_routes_change() {
    let mut net = three_party();
    let consult = Controls {
        consult: true,
        ..Controls::default()
    };
    net.set_routes("c1", &THREE, &consult);
    net.talk_all();
    net.run_for(PHASE);
    assert_hears(&net, &[&[], &[2], &[1]]);

    net.set_routes("c1", &THREE, &Controls::default());
    net.reset_all();
    net.run_for(PHASE);
    assert_hears(&net, &[&[1, 2], &[0, 2], &[0, 1]]);
}

#[test]
fn a_muted_participant_is_heard_by_nobody_once_the_routes_say_so() {
    let mut net = three_party();
    net.talk_all();
    net.run_for(PHASE);
    let muted = Controls {
        muted: [pid("interpreter")].into(),
        ..Controls::default()
    };
    net.set_routes("c1", &THREE, &muted);
    net.reset_all();
    net.run_for(PHASE);
    assert_hears(&net, &[&[1], &[0], &[0, 1]]);
    let slots = |n: usize| {
        net.events.iter().rev().find_map(|e| match e {
            MediaEvent::Slots {
                participant, slots, ..
            } if *participant == net.clients[n].id => Some(slots.clone()),
            _ => None,
        })
    };
    let caller_slots = slots(0).expect("the caller's slots");
    assert_eq!(caller_slots.len(), RECV_SLOTS);
    let carried: Vec<_> = caller_slots.iter().filter_map(|(_, p)| p.clone()).collect();
    assert_eq!(
        carried,
        vec![pid("operator")],
        "the caller's slots after the mute"
    );
}

/// Two two-party calls whose peers join in `order` (call, participant), each routed everyone
/// to everyone, after everybody has talked for a while.
fn two_calls(order: [(&str, &str); 4], c1: [(&str, Role); 2], c2: [(&str, Role); 2]) -> Net {
    let mut net = Net::new();
    for (call, who) in order {
        net.join(call, who);
    }
    net.set_routes("c1", &c1, &Controls::default());
    net.set_routes("c2", &c2, &Controls::default());
    net.connect_all();
    net.talk_all();
    net.run_for(PHASE);
    net
}

#[test]
fn two_calls_never_leak_audio_into_each_other() {
    let net = two_calls(
        [
            ("c1", "alice"),
            ("c2", "carol"),
            ("c1", "bob"),
            ("c2", "dave"),
        ],
        [("alice", Role::Caller), ("bob", Role::Operator)],
        [("carol", Role::Caller), ("dave", Role::Operator)],
    );
    assert_hears(&net, &[&[2], &[3], &[0], &[1]]);
}

#[test]
fn the_same_participant_id_in_two_calls_is_two_peers() {
    let pair = [("caller", Role::Caller), ("operator", Role::Operator)];
    let net = two_calls(
        [
            ("c1", "caller"),
            ("c1", "operator"),
            ("c2", "caller"),
            ("c2", "operator"),
        ],
        pair,
        pair,
    );
    assert_hears(&net, &[&[1], &[0], &[3], &[2]]);
}

#[test]
fn datagrams_from_unknown_addresses_are_unclaimed_and_not_forwarded() {
    let mut net = three_party();
    net.talk_all();
    net.run_for(PHASE);
    let before = net.fwd.stats();
    let sent_before = net.sent_by_forwarder;
    let heard_before: Vec<u64> = net.clients.iter().map(|c| c.heard_total()).collect();
    let stranger: SocketAddr = "203.0.113.7:5000".parse().expect("address");
    // A caller's real SRTP packet replayed from elsewhere, a made-up RTP packet, a STUN binding
    // request without anyone's ufrag, and noise.
    let replayed = net.clients[0].last_datagram.clone();
    assert!(
        (128..192).contains(&replayed[0]),
        "the caller last sent RTP"
    );
    let mut rtp = vec![0x80, 111, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9];
    rtp.extend_from_slice(&[0xa7, 1, 2, 3]);
    let mut stun = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
    stun.extend_from_slice(&[7; 12]);
    let sent = [&replayed[..], &rtp[..], &stun[..], &[0xff; 30][..]];
    for data in sent {
        net.inject(stranger, data);
    }
    let after = net.fwd.stats();
    assert_eq!(after.unclaimed, before.unclaimed + sent.len() as u64);
    assert_eq!(after.datagrams_in, before.datagrams_in + sent.len() as u64);
    assert_eq!(net.claimed_by(stranger), None);
    assert_eq!(after.rtp_in, before.rtp_in);
    assert_eq!(after.rtp_forwarded, before.rtp_forwarded);
    assert_eq!(
        net.sent_by_forwarder, sent_before,
        "nothing answers a stranger"
    );
    let heard_after: Vec<u64> = net.clients.iter().map(|c| c.heard_total()).collect();
    assert_eq!(heard_after, heard_before);
}

#[test]
fn counters_follow_datagrams_packets_and_joins() {
    let mut net = three_party();
    let s = net.fwd.stats();
    assert_eq!(s.peers, 3);
    assert!(s.datagrams_in > 0, "ICE and DTLS came in");
    assert_eq!((s.rtp_in, s.rtp_forwarded, s.unclaimed), (0, 0, 0));
    net.talk_all();
    net.run_for(PHASE);
    for c in &mut net.clients {
        c.talking = false;
    }
    net.run_for(PHASE);
    let s = net.fwd.stats();
    let sent: u64 = net.clients.iter().map(|c| c.sent).sum();
    let heard: u64 = net.clients.iter().map(|c| c.heard_total()).sum();
    assert_eq!(s.rtp_in, sent, "every packet sent came in");
    assert_eq!(s.rtp_forwarded, heard, "every packet forwarded was heard");
    assert_eq!(
        s.rtp_forwarded,
        2 * s.rtp_in,
        "each packet goes to two listeners"
    );
    net.join("c1", "supervisor");
    assert_eq!(net.fwd.stats().peers, 4);
}

#[test]
fn levels_are_reported_while_audio_flows_and_silence_once_it_stops() {
    let mut net = three_party();
    for (n, level) in [(0, 40), (1, 10), (2, 90)] {
        net.clients[n].level = level;
    }
    net.talk_all();
    net.events.clear();
    net.run_for(PHASE);
    let mut loudest: BTreeMap<String, u8> = BTreeMap::new();
    for e in &net.events {
        if let MediaEvent::Levels { call, levels } = e {
            assert_eq!(*call, cid("c1"));
            for (p, level) in levels {
                loudest.insert(p.to_string(), *level);
            }
        }
    }
    let expected = [("caller", 40), ("interpreter", 90), ("operator", 10)];
    let expected: BTreeMap<String, u8> =
        expected.iter().map(|(p, l)| (p.to_string(), *l)).collect();
    assert_eq!(loudest, expected, "each sender's level");
    // Listeners get the level and voice-activity flag with the audio, as the sender sent them.
    let operator = &net.clients[1];
    let heard: Vec<_> = [1, 3]
        .iter()
        .map(|t| operator.levels.get(t).copied())
        .collect();
    assert_eq!(
        heard,
        [Some(Some((40, true))), Some(Some((90, false)))],
        "levels the operator hears"
    );
    net.clients[0].talking = false;
    net.events.clear();
    net.run_for(SILENT_AFTER + PHASE);
    let silent: Vec<_> = net
        .events
        .iter()
        .filter_map(|e| match e {
            MediaEvent::Silent { participant, .. } => Some(participant.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(silent, vec![pid("caller")], "one Silent, for the caller");
}

/// The levels reported per participant, in order, among `events`.
fn reported_levels(events: &[MediaEvent]) -> BTreeMap<String, Vec<u8>> {
    let mut out: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for e in events {
        if let MediaEvent::Levels { levels, .. } = e {
            for (p, level) in levels {
                out.entry(p.to_string()).or_default().push(*level);
            }
        }
    }
    out
}

#[test]
fn levels_are_reported_only_when_they_change_and_nothing_per_packet() {
    let mut net = three_party();
    for c in &mut net.clients {
        c.level = 30;
    }
    net.talk_all();
    net.events.clear();
    net.run_for(PHASE * 3); // 150 packets per talker at an unchanging level
    let levels = reported_levels(&net.events);
    assert!(
        levels.values().all(|l| l == &[30]),
        "each level once: {levels:?}"
    );
    assert!(
        net.events.len() <= 3,
        "{} events for 450 packets: {:?}",
        net.events.len(),
        net.events
    );
    // The caller gets louder: one report for it alone.
    net.clients[0].level = 10;
    net.events.clear();
    net.run_for(PHASE);
    let levels = reported_levels(&net.events);
    assert_eq!(levels.len(), 1, "{levels:?}");
    assert_eq!(levels["caller"], [10]);
    // Someone new connects to the call: every level is reported afresh, for the newcomer.
    net.events.clear();
    let n = net.join("c1", "interpreter-2");
    net.connect_all_but(&[0, 1, 2]);
    net.clients[n].talking = false;
    net.run_for(PHASE);
    let levels = reported_levels(&net.events);
    assert_eq!(levels["caller"], [10]);
    assert_eq!(levels["operator"], [30]);
    assert_eq!(levels["interpreter"], [30]);
}

#[test]
fn bad_input_is_refused_with_the_matching_error() {
    let mut net = three_party();
    let err = net
        .fwd
        .join(
            &cid("c1"),
            &pid("x"),
            "v=0 nonsense",
            net.now,
            &mut |_, _| {},
        )
        .expect_err("a bad offer");
    assert!(matches!(err, SfuError::BadOffer(_)), "{err:?}");
    let err = net
        .fwd
        .add_candidate(
            &cid("c9"),
            &pid("caller"),
            "candidate:1 1 udp 1 1.2.3.4 5 typ host",
        )
        .expect_err("no such call");
    assert!(matches!(err, SfuError::UnknownCall(_)), "{err:?}");
    let err = net
        .fwd
        .add_candidate(
            &cid("c1"),
            &pid("nobody"),
            "candidate:1 1 udp 1 1.2.3.4 5 typ host",
        )
        .expect_err("no such participant");
    assert!(
        matches!(err, SfuError::UnknownParticipant { .. }),
        "{err:?}"
    );
    let err = net
        .fwd
        .add_candidate(&cid("c1"), &pid("caller"), "candidate:garbage")
        .expect_err("an unreadable candidate");
    assert!(matches!(err, SfuError::BadCandidate(_)), "{err:?}");
    net.fwd
        .add_candidate(
            &cid("c1"),
            &pid("caller"),
            "a=candidate:1 1 udp 2130706431 198.51.100.99 40000 typ host",
        )
        .expect("a good candidate");
    assert_eq!(net.fwd.stats().peers, 3, "a refused offer adds no peer");
}

#[test]
fn a_phone_legs_level_is_reported_like_a_browsers() {
    let mut net = Net::new();
    for name in ["operator", "interpreter"] {
        net.join("c1", name);
    }
    net.set_routes("c1", &THREE, &Controls::default());
    net.connect_all();
    let now = net.now;
    net.fwd.add_phone(&cid("c1"), &pid("caller"), now);
    net.events.clear();
    for (seq, level) in [(0u16, 30u8), (1, 30), (2, 30), (3, 80)] {
        let timing = crate::engine::RtpTiming {
            seq: seq.into(),
            ts: u32::from(seq) * 960,
            marker: seq == 0,
        };
        let now = net.now;
        net.fwd.forward_phone(
            &cid("c1"),
            &pid("caller"),
            timing,
            level,
            vec![0xf8].into(),
            now,
        );
        net.run_for(PHASE / 2);
    }
    assert_eq!(
        reported_levels(&net.events).get("caller"),
        Some(&vec![30, 80]),
        "the phone caller's level, once speaking, once gone quiet"
    );
}
