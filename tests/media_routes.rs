//! Three test peers (caller, operator, interpreter) over real UDP with ICE and DTLS-SRTP on
//! loopback, driven by the `Call` engine and `MediaHandle`: in every phase (two-party,
//! three-party, consult, hold, one muted, interpreter leaves, a new interpreter joins) each peer
//! receives exactly the sources the routes allow and nothing else, a source keeps its receive
//! slot while it stays heard, and no remaining stream pauses over 200 ms when a party joins or
//! leaves; and a supervisor who listens, whispers to the operator and barges in is heard by exactly
//! those the routes name. Counts only include packets sent after each change (in-flight ones are
//! excluded).
use crate::common;

use common::media::{spawn_media, Events};
use hotline_bridge::domain::{CallId, ParticipantId};
use hotline_bridge::drivers::media::{MediaEvent, MediaHandle};
use hotline_bridge::engine::Call;
use hotline_bridge::sfu::peer::PeerConfig;
use hotline_bridge::testkit::{unix_us, Reception, TestPeer, TestPeerOptions};
use std::collections::BTreeMap;
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Packets every allowed stream must deliver before a phase is judged (~0.5 s at 50/s); the same
/// window shows any stream that should not be there.
const PHASE_PACKETS: u64 = 25;
const PHASE_DEADLINE: Duration = Duration::from_secs(10);
const MAX_GAP: Duration = Duration::from_millis(200);

struct Party {
    name: &'static str,
    id: ParticipantId,
    peer: TestPeer,
}

struct Harness {
    media: MediaHandle,
    events: Events,
    config: PeerConfig,
    call_id: CallId,
    call: Call,
    parties: Vec<Party>,
    next_tag: u32,
    /// The previous phase's (listener, source) → receive slot.
    previous: BTreeMap<(&'static str, &'static str), usize>,
}

fn pid(s: &str) -> ParticipantId {
    ParticipantId::parse(s).expect("participant id")
}

impl Harness {
    /// Connects a party's test peer (tag = its position + 1) and applies the call's routes.
    async fn connect(&mut self, name: &'static str, id: ParticipantId) {
        self.next_tag += 1;
        let tag = self.next_tag;
        let peer = TestPeer::join(
            &self.media,
            &self.config,
            &self.call_id,
            &id,
            tag,
            TestPeerOptions::default(),
        )
        .await
        .expect("join");
        assert!(
            peer.wait_connected(CONNECT_TIMEOUT).await,
            "{name} connects"
        );
        let want = id.clone();
        self.events
            .wait(
                name,
                CONNECT_TIMEOUT,
                |e| matches!(e, MediaEvent::Connected { participant, .. } if *participant == want),
            )
            .await;
        self.parties.push(Party { name, id, peer });
        self.apply().await;
    }

    async fn apply(&self) {
        self.media
            .set_routes(self.call_id.clone(), self.call.routes())
            .await
            .expect("set routes");
    }

    fn name_of(&self, tag: u32) -> String {
        self.parties
            .iter()
            .find(|p| p.peer.tag() == tag)
            .map_or(format!("departed party #{tag}"), |p| p.name.to_string())
    }

    /// Measures one phase right after a change: every allowed stream delivers, nothing else does.
    async fn phase(&mut self, phase: &str) {
        let cutoff = unix_us();
        for p in &self.parties {
            p.peer.set_cutoff(cutoff);
        }
        let routes = self.call.routes();
        let expected = |l: &Party, s: &Party| routes.hears(&l.id, &s.id);
        let deadline = tokio::time::Instant::now() + PHASE_DEADLINE;
        loop {
            let missing: Vec<String> = self
                .parties
                .iter()
                .flat_map(|l| self.parties.iter().map(move |s| (l, s)))
                .filter(|(l, s)| {
                    expected(l, s) && l.peer.packets_from(s.peer.tag()) < PHASE_PACKETS
                })
                .map(|(l, s)| format!("{} does not hear {}", l.name, s.name))
                .collect();
            if missing.is_empty() {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{phase}: {}",
                missing.join("; ")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let got: Vec<Reception> = self.parties.iter().map(|p| p.peer.take()).collect();
        // Until the next phase's cutoff nothing counts: the next change is being applied.
        for p in &self.parties {
            p.peer.set_cutoff(u64::MAX);
        }
        let mut slots = BTreeMap::new();
        for (l, r) in self.parties.iter().zip(&got) {
            for (&tag, stats) in &r.by_source {
                let allowed = self
                    .parties
                    .iter()
                    .any(|s| s.peer.tag() == tag && expected(l, s));
                assert!(
                    allowed || stats.packets == 0,
                    "{phase}: {} still hears {} ({} packets)",
                    l.name,
                    self.name_of(tag),
                    stats.packets
                );
            }
            assert_eq!(r.unmarked, 0, "{phase}: {} got unmarked packets", l.name);
            for s in self.parties.iter().filter(|s| expected(l, s)) {
                let slot = r
                    .by_slot
                    .iter()
                    .find(|(_, (_, tags))| tags.contains(&s.peer.tag()))
                    .map(|(slot, _)| *slot)
                    .unwrap_or_else(|| panic!("{phase}: {} hears {} on no slot", l.name, s.name));
                assert!(
                    slot < l.peer.slot_mids().len(),
                    "{phase}: {} hears {} outside its receive slots",
                    l.name,
                    s.name
                );
                if let Some(before) = self.previous.get(&(l.name, s.name)) {
                    assert_eq!(
                        *before, slot,
                        "{phase}: {}'s stream from {} moved from slot {before} to {slot}",
                        l.name, s.name
                    );
                    let gap = r.by_source[&s.peer.tag()].max_gap;
                    assert!(
                        gap <= MAX_GAP,
                        "{phase}: {}'s stream from {} paused {gap:?}",
                        l.name,
                        s.name
                    );
                }
                slots.insert((l.name, s.name), slot);
            }
        }
        self.previous = slots;
        let summary: Vec<String> = self
            .parties
            .iter()
            .zip(&got)
            .map(|(l, r)| {
                let heard: Vec<String> = r
                    .by_source
                    .iter()
                    .filter(|(_, s)| s.packets > 0)
                    .map(|(t, s)| format!("{}={}/{:?}", self.name_of(*t), s.packets, s.max_gap))
                    .collect();
                format!("{} hears [{}] stale={}", l.name, heard.join(" "), r.stale)
            })
            .collect();
        println!("{phase}: {}", summary.join("; "));
    }

    fn remove_party(&mut self, name: &str) -> Party {
        let i = self
            .parties
            .iter()
            .position(|p| p.name == name)
            .expect("party");
        self.parties.remove(i)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_phase_forwards_exactly_what_the_routes_allow() {
    let (media, _stop) = spawn_media().await;
    let events = Events::new(&media);
    let call_id = CallId::random();
    let now = 1_000;
    let mut h = Harness {
        events,
        config: PeerConfig::new().expect("peer config"),
        call: Call::new(call_id.clone(), pid("caller"), now),
        call_id,
        media,
        parties: Vec::new(),
        next_tag: 0,
        previous: BTreeMap::new(),
    };

    h.connect("caller", pid("caller")).await;
    h.call.answer(pid("operator"), now + 1).expect("answer");
    h.connect("operator", pid("operator")).await;
    h.phase("two-party").await;

    h.call
        .add_interpreter(pid("interpreter"), now + 2)
        .expect("interpreter");
    h.connect("interpreter", pid("interpreter")).await;
    h.phase("three-party").await;

    h.call.set_consult(true, now + 3).expect("consult");
    h.apply().await;
    h.phase("consult").await;

    h.call.set_consult(false, now + 4).expect("consult off");
    h.call.set_hold(true, now + 4).expect("hold");
    h.apply().await;
    h.phase("hold").await;

    h.call.set_hold(false, now + 5).expect("hold off");
    h.call
        .set_muted(&pid("operator"), true, now + 5)
        .expect("mute");
    h.apply().await;
    h.phase("one muted").await;

    h.call
        .set_muted(&pid("operator"), false, now + 6)
        .expect("unmute");
    h.apply().await;
    h.phase("all unmuted").await;

    let gone = h.remove_party("interpreter");
    h.call
        .remove(&gone.id, now + 7)
        .expect("interpreter leaves");
    h.media
        .leave(h.call_id.clone(), gone.id.clone())
        .await
        .expect("leave");
    drop(gone);
    h.apply().await;
    h.phase("interpreter leaves").await;

    h.call
        .add_interpreter(pid("interpreter-2"), now + 8)
        .expect("second interpreter");
    h.connect("new interpreter", pid("interpreter-2")).await;
    h.phase("a new interpreter joins").await;

    h.media.end_call(h.call_id.clone()).await.expect("end call");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_listens_whispers_to_the_operator_and_barges_in() {
    use hotline_bridge::engine::Supervision;
    let (media, _stop) = spawn_media().await;
    let events = Events::new(&media);
    let call_id = CallId::random();
    let now = 1_000;
    let mut h = Harness {
        events,
        config: PeerConfig::new().expect("peer config"),
        call: Call::new(call_id.clone(), pid("caller"), now),
        call_id,
        media,
        parties: Vec::new(),
        next_tag: 0,
        previous: BTreeMap::new(),
    };
    h.connect("caller", pid("caller")).await;
    h.call.answer(pid("operator"), now + 1).expect("answer");
    h.connect("operator", pid("operator")).await;
    h.call
        .add_interpreter(pid("interpreter"), now + 2)
        .expect("interpreter");
    h.connect("interpreter", pid("interpreter")).await;
    h.call
        .add_supervisor(pid("supervisor"), now + 3)
        .expect("supervisor");
    h.connect("supervisor", pid("supervisor")).await;
    h.phase("supervisor listens").await;

    let sup = pid("supervisor");
    for (i, (mode, phase)) in [
        (Supervision::Whisper, "supervisor whispers"),
        (Supervision::Barge, "supervisor barges in"),
        (Supervision::Listen, "supervisor listens again"),
    ]
    .into_iter()
    .enumerate()
    {
        h.call
            .set_supervision(&sup, mode, now + 4 + i as u64)
            .expect("supervision");
        h.apply().await;
        h.phase(phase).await;
    }
    h.media.end_call(h.call_id.clone()).await.expect("end call");
}
