//! Who hears whom. Each page's `RTCPeerConnection.getStats()` says which remote streams flow
//! (packets arriving and audio energy rising) and which do not; a check compares one measuring
//! window of every page with the routes allowed at that step, and a failure names the step and
//! the route ("consult: caller still hears operator").

use super::page::{Page, Who, STEP};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use Who::{Caller as C, Interpreter as I, Operator as O};

/// How long each getStats window lasts: ~50 packets from a party that is heard.
const WINDOW: Duration = Duration::from_millis(1200);
/// Packets in one window that prove a stream flows (50 per second are sent).
const FLOWING_PKTS: u64 = 15;
/// Packets in one window still tolerated from a stream that should be cut (in flight at a switch).
const STOPPED_PKTS: u64 = 2;

/// Who hears whom at a step: each listener (the pages checked) with the sources it must hear;
/// every other party it must not.
pub type Heard = &'static [(Who, &'static [Who])];

/// Caller and operator alone, before an interpreter joins and after she leaves.
pub const TWO_PARTY: Heard = &[(C, &[O]), (O, &[C])];
/// Everyone in the call hears everyone else.
pub const EVERYONE: Heard = &[(C, &[O, I]), (O, &[C, I]), (I, &[C, O])];
/// Consult and hold: operator and interpreter talk; the caller hears neither and is not heard.
pub const STAFF_ONLY: Heard = &[(C, &[]), (O, &[I]), (I, &[O])];
/// The caller muted: they hear both, nobody hears them.
pub const CALLER_MUTED: Heard = &[(C, &[O, I]), (O, &[I]), (I, &[O])];

/// What one page receives: per receive slot, its source (role) and cumulative counters.
#[derive(Debug, Default)]
struct Sample {
    /// mid → (source, packets, energy)
    slots: BTreeMap<String, (Option<Who>, u64, f64)>,
}

/// Reads the page's call view and inbound stats (every page exposes `window.hotline`, with the
/// call as `view` on the caller page and `call` on the consoles, and its media leg as `media`).
const SAMPLE_JS: &str = "
    const h = window.hotline;
    const view = h.view || h.call;
    if (!h.media || !view) return { inbound: [], roles: {} };
    const s = await h.media.stats();
    const roles = {};
    for (const p of view.participants) roles[p.id] = p.role;
    return { inbound: s.inbound, roles, state: s.state };";

impl Page {
    async fn sample(&self) -> Sample {
        let v = self.b.eval(SAMPLE_JS).await;
        let mut out = Sample::default();
        for i in v["inbound"].as_array().into_iter().flatten() {
            let mid = i["mid"].as_str().unwrap_or("?").to_owned();
            let source = i["participant"]
                .as_str()
                .and_then(|p| v["roles"][p].as_str())
                .and_then(Who::from_role);
            let packets = i["packetsReceived"].as_u64().unwrap_or(0);
            let energy = i["totalAudioEnergy"].as_f64().unwrap_or(0.0);
            out.slots.insert(mid, (source, packets, energy));
        }
        out
    }

    /// Waits until a remote stream with energy reaches this page (polled: packets are not
    /// events a test can await).
    pub async fn first_audio(&self, step: &str) {
        let deadline = Instant::now() + STEP;
        loop {
            let s = self.sample().await;
            if s.slots
                .values()
                .any(|(src, pkts, energy)| src.is_some() && *pkts > 0 && *energy > 0.0)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{step}: no audio reached the {} within {STEP:?}",
                self.who.name()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Who hears whom in a step: listener → sources.
type Routes = BTreeMap<Who, BTreeSet<Who>>;

fn routes(heard: Heard) -> Routes {
    heard
        .iter()
        .map(|(l, s)| (*l, s.iter().copied().collect()))
        .collect()
}

/// Checks one window of every page's stats against `expected`; the wrong routes, if any, and
/// what each listener received from each source ("caller←operator 58").
fn judge(
    expected: &Routes,
    before: &BTreeMap<Who, Sample>,
    after: &BTreeMap<Who, Sample>,
) -> (Vec<String>, String) {
    let mut wrong = Vec::new();
    let mut seen = Vec::new();
    for (listener, sources) in expected {
        let (Some(b), Some(a)) = (before.get(listener), after.get(listener)) else {
            wrong.push(format!("{} has no media", listener.name()));
            continue;
        };
        // Per source: packets and energy gained in the window, on slots mapped the same way at
        // both ends of it (a slot that switched source in between proves nothing either way).
        let mut got: BTreeMap<Option<Who>, (u64, f64)> = BTreeMap::new();
        for (mid, (src, pkts, energy)) in &a.slots {
            let (bsrc, bpkts, benergy) = b.slots.get(mid).cloned().unwrap_or((*src, 0, 0.0));
            if bsrc != *src {
                wrong.push(format!(
                    "{}'s slot {mid} switched source mid-window",
                    listener.name()
                ));
                continue;
            }
            let e = got.entry(*src).or_default();
            e.0 += pkts.saturating_sub(bpkts);
            e.1 += (energy - benergy).max(0.0);
        }
        for source in [Who::Caller, Who::Operator, Who::Interpreter] {
            if source == *listener {
                continue;
            }
            let (pkts, energy) = got.get(&Some(source)).copied().unwrap_or((0, 0.0));
            seen.push(format!("{}←{} {pkts}", listener.name(), source.name()));
            if sources.contains(&source) {
                if pkts < FLOWING_PKTS || energy <= 0.0 {
                    wrong.push(format!(
                        "{} does not hear {} ({pkts} packets, audio energy {energy:.5} in {WINDOW:?})",
                        listener.name(),
                        source.name()
                    ));
                }
            } else if pkts > STOPPED_PKTS {
                wrong.push(format!(
                    "{} still hears {} ({pkts} packets in {WINDOW:?})",
                    listener.name(),
                    source.name()
                ));
            }
        }
        if let Some((pkts, _)) = got.get(&None) {
            if *pkts > STOPPED_PKTS {
                wrong.push(format!(
                    "{} receives {pkts} packets on a slot the server assigned to nobody",
                    listener.name()
                ));
            }
        }
    }
    (wrong, seen.join(", "))
}

/// Waits until one measuring window shows exactly `heard` on every page listed in it (`pages`,
/// in the same order); fails naming the step and the routes that were still wrong in the last
/// window. Logs what each route carried to `log`.
pub async fn assert_routes(step: &str, pages: &[&Page], heard: Heard, log: &mut Vec<String>) {
    let expected = routes(heard);
    let deadline = Instant::now() + STEP;
    loop {
        let mut before = BTreeMap::new();
        for p in pages {
            before.insert(p.who, p.sample().await);
        }
        // A measuring window (a rate needs a duration), not synchronisation.
        tokio::time::sleep(WINDOW).await;
        let mut after = BTreeMap::new();
        for p in pages {
            after.insert(p.who, p.sample().await);
        }
        let (wrong, seen) = judge(&expected, &before, &after);
        if wrong.is_empty() {
            log.push(format!("{step}: {seen} packets in {WINDOW:?}"));
            return;
        }
        if Instant::now() > deadline {
            for p in pages {
                let _ =
                    p.b.screenshot(&format!(
                        "failed-{}-{}",
                        step.replace(' ', "_"),
                        p.who.name()
                    ))
                    .await;
            }
            panic!("{step}: {}", wrong.join("; "));
        }
    }
}
