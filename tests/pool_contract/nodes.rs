//! Contract cases about nodes (src/pool/recovery.rs): leases, call records, the sweep that frees
//! what a lost node held (exactly once), and the administrator's forced releases.

use super::{iid, lang, offer_state, oid, ready, request, status, Pool, NODE, T0, WRAP_MS};
use hotline_bridge::domain::{CallId, Millis, NodeId};
use hotline_bridge::pool::{
    Engagement, EventKind, ForcedRelease, LeaseRenewal, NodeSummary, OfferState, PoolError,
    PoolEvent, Recovered, Status, ADMIN_END_CALL, NODE_LOST,
};

const LEASE_MS: u64 = 10_000;
/// Another node sharing the pool, alive throughout.
const OTHER: NodeId = NodeId::new(0xb2);

fn cid(s: &str) -> CallId {
    CallId::parse(s).expect("call id")
}

/// `offer` claimed for `who` by `node` at `now` (the offer's call is `call-<offer>`).
async fn claim_by(p: &Pool, node: NodeId, offer: &str, who: &str, now: Millis) {
    let mut req = request(offer, "pt", &[who], now);
    req.node = node;
    let got = p.claim(&req).await.expect("claim").expect("claimed");
    assert_eq!(got.interpreter.as_str(), who);
}

async fn events_of(p: &Pool, kind: EventKind) -> Vec<PoolEvent> {
    p.recent_events(100)
        .await
        .expect("events")
        .into_iter()
        .filter(|e| e.kind == kind)
        .collect()
}

pub async fn a_lost_nodes_offers_are_freed_once_and_its_calls_ended(p: Pool) {
    for id in ["a", "b", "c"] {
        ready(&p, id, &["pt"], T0).await;
    }
    assert_eq!(
        p.renew_lease(NODE, T0, LEASE_MS).await.expect("lease"),
        LeaseRenewal::Started
    );
    p.renew_lease(OTHER, T0, 10 * LEASE_MS)
        .await
        .expect("lease");
    // NODE holds a ringing offer (a), an accepted one (b) and its call; OTHER holds c's.
    claim_by(&p, NODE, "o1", "a", T0).await;
    claim_by(&p, NODE, "o2", "b", T0).await;
    p.respond(&oid("o2"), &iid("b"), true, T0 + 1)
        .await
        .expect("accept");
    claim_by(&p, OTHER, "o3", "c", T0).await;
    p.respond(&oid("o3"), &iid("c"), true, T0 + 1)
        .await
        .expect("accept");
    p.call_opened(&cid("call-o2"), NODE, "hash-2", T0)
        .await
        .expect("call");
    p.call_opened(&cid("call-o3"), OTHER, "hash-3", T0)
        .await
        .expect("call");

    // Before the lease runs out, nothing is taken.
    let early = T0 + LEASE_MS - 1;
    assert_eq!(p.sweep_lost(early).await.expect("sweep"), vec![]);
    assert_eq!(status(&p, "b", early).await, Status::Busy);

    let now = T0 + LEASE_MS;
    let mut got = p.sweep_lost(now).await.expect("sweep");
    got.sort_by_key(|r| format!("{r:?}"));
    let what: Vec<String> = got
        .iter()
        .map(|r| match r {
            Recovered::Offer { node, offer, was } => {
                assert_eq!(*node, NODE);
                format!("{}:{}:{was:?}", offer.id, offer.interpreter)
            }
            Recovered::Call { node, call } => {
                assert_eq!(*node, NODE);
                format!("call:{call}")
            }
        })
        .collect();
    assert_eq!(what, ["call:call-o2", "o1:a:Pending", "o2:b:Accepted"]);

    // The interpreters are available at once; the offers ended; the call record says why.
    assert_eq!(status(&p, "a", now).await, Status::Available);
    assert_eq!(status(&p, "b", now).await, Status::Available);
    assert_eq!(offer_state(&p, "o1").await, OfferState::Cancelled);
    assert_eq!(offer_state(&p, "o2").await, OfferState::Released);
    let rec = p
        .call_record(&cid("call-o2"))
        .await
        .expect("record")
        .expect("known");
    assert_eq!((rec.ended, rec.why.as_str()), (Some(now), NODE_LOST));
    // The live node keeps everything.
    assert_eq!(status(&p, "c", now).await, Status::Busy);
    let other = p.call_record(&cid("call-o3")).await.expect("rec");
    assert_eq!(other.expect("known").ended, None);

    // One audit event per interpreter and per call, naming why.
    let lost = events_of(&p, EventKind::NodeLost).await;
    assert_eq!(lost.len(), 3, "{lost:?}");
    let b = lost
        .iter()
        .find(|e| e.interpreter == Some(iid("b")))
        .expect("event for b");
    assert_eq!(b.offer_id, Some(oid("o2")));
    assert!(b.detail.contains(&NODE.to_string()), "{}", b.detail);

    // Exactly once: a repeat finds nothing, and the lease is gone.
    assert_eq!(p.sweep_lost(now + 1).await.expect("again"), vec![]);
    assert_eq!(events_of(&p, EventKind::NodeLost).await.len(), 3);
    let leases = p.leases().await.expect("leases");
    assert_eq!(
        leases.iter().map(|l| l.node).collect::<Vec<_>>(),
        vec![OTHER]
    );

    // No double booking: the lost node's late answers change nothing once b is offered again.
    claim_by(&p, OTHER, "o4", "b", now + 2).await;
    assert!(matches!(
        p.respond(&oid("o1"), &iid("a"), true, now + 3).await,
        Err(PoolError::AlreadyEnded {
            state: OfferState::Cancelled,
            ..
        })
    ));
    assert_eq!(
        p.release(&oid("o2"), now + 3, WRAP_MS)
            .await
            .expect("late release"),
        OfferState::Released
    );
    assert_eq!(status(&p, "b", now + 3).await, Status::Offered);
}

pub async fn a_renewed_lease_is_never_swept_and_a_swept_node_hears_it(p: Pool) {
    ready(&p, "a", &["pt"], T0).await;
    p.renew_lease(NODE, T0, LEASE_MS).await.expect("lease");
    claim_by(&p, NODE, "o1", "a", T0).await;
    p.respond(&oid("o1"), &iid("a"), true, T0 + 1)
        .await
        .expect("accept");
    // Renewed every 3 s, swept every second for four lease lifetimes: never taken.
    let mut now = T0;
    while now < T0 + 4 * LEASE_MS {
        now += 1_000;
        if (now - T0) % 3_000 == 0 {
            assert_eq!(
                p.renew_lease(NODE, now, LEASE_MS).await.expect("renew"),
                LeaseRenewal::Renewed
            );
        }
        assert_eq!(p.sweep_lost(now).await.expect("sweep"), vec![], "at {now}");
    }
    assert_eq!(status(&p, "a", now).await, Status::Busy);

    // Past its lease without renewal it is swept; its next renewal says it held none.
    let late = now + LEASE_MS;
    assert_eq!(p.sweep_lost(late).await.expect("sweep").len(), 1);
    assert_eq!(
        p.renew_lease(NODE, late + 1, LEASE_MS)
            .await
            .expect("renew"),
        LeaseRenewal::Started
    );
}

pub async fn call_records_open_once_and_end_once(p: Pool) {
    let c = cid("c1");
    assert_eq!(p.call_record(&c).await.expect("record"), None);
    assert_eq!(p.call_ended(&c, T0, "hung_up").await.expect("end"), None);
    p.call_opened(&c, NODE, "h1", T0).await.expect("open");
    p.call_opened(&c, OTHER, "h2", T0 + 1)
        .await
        .expect("repeat");
    let rec = p.call_record(&c).await.expect("record").expect("known");
    assert_eq!(
        (rec.node, rec.token_sha256.as_str(), rec.created, rec.ended),
        (NODE, "h1", T0, None)
    );
    let ended = p
        .call_ended(&c, T0 + 5, "hung_up")
        .await
        .expect("end")
        .expect("known");
    assert_eq!((ended.ended, ended.why.as_str()), (Some(T0 + 5), "hung_up"));
    let again = p
        .call_ended(&c, T0 + 9, NODE_LOST)
        .await
        .expect("end")
        .expect("known");
    assert_eq!((again.ended, again.why.as_str()), (Some(T0 + 5), "hung_up"));
    // An ended call is not swept again with its node.
    p.renew_lease(NODE, T0, LEASE_MS).await.expect("lease");
    assert_eq!(p.sweep_lost(T0 + LEASE_MS).await.expect("sweep"), vec![]);
}

pub async fn engagements_show_offer_call_node_and_lease(p: Pool) {
    ready(&p, "a", &["pt"], T0).await;
    ready(&p, "b", &["pt"], T0).await;
    ready(&p, "idle", &["pt"], T0).await;
    p.renew_lease(NODE, T0, LEASE_MS).await.expect("lease");
    claim_by(&p, NODE, "o1", "a", T0).await;
    claim_by(&p, OTHER, "o2", "b", T0).await;
    p.respond(&oid("o2"), &iid("b"), true, T0 + 7)
        .await
        .expect("accept");
    let got = p.engagements().await.expect("engagements");
    assert_eq!(
        got,
        vec![
            Engagement {
                interpreter: iid("a"),
                status: Status::Offered,
                offer: Some(oid("o1")),
                offer_state: Some(OfferState::Pending),
                call: Some(cid("call-o1")),
                language: Some(lang("pt")),
                node: Some(NODE),
                since: T0,
                lease_expires_at: Some(T0 + LEASE_MS),
            },
            Engagement {
                interpreter: iid("b"),
                status: Status::Busy,
                offer: Some(oid("o2")),
                offer_state: Some(OfferState::Accepted),
                call: Some(cid("call-o2")),
                language: Some(lang("pt")),
                node: Some(OTHER),
                since: T0 + 7,
                lease_expires_at: None,
            },
        ]
    );
    assert!(got[0].node_alive(T0 + LEASE_MS - 1));
    assert!(!got[0].node_alive(T0 + LEASE_MS));
    assert!(!got[1].node_alive(T0));
}

pub async fn an_administrator_frees_interpreters_and_ends_calls_audited(p: Pool) {
    ready(&p, "a", &["pt"], T0).await;
    ready(&p, "b", &["pt"], T0).await;
    claim_by(&p, NODE, "o1", "a", T0).await;
    p.respond(&oid("o1"), &iid("a"), true, T0 + 1)
        .await
        .expect("accept");

    // Release a busy interpreter: offer released, available at once, audited with who.
    let r = p.force_release(&iid("a"), T0 + 10, "ops-li").await;
    assert_eq!(
        r.expect("release"),
        ForcedRelease::Released {
            was: Status::Busy,
            offer: Some(oid("o1")),
            offer_was: Some(OfferState::Accepted),
            call: Some(cid("call-o1")),
            node: Some(NODE),
        }
    );
    assert_eq!(status(&p, "a", T0 + 10).await, Status::Available);
    assert_eq!(offer_state(&p, "o1").await, OfferState::Released);
    let ev = events_of(&p, EventKind::AdminRelease).await;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].interpreter, Some(iid("a")));
    assert!(ev[0].detail.contains("ops-li"), "{}", ev[0].detail);
    // Nothing to release, or nobody: said so, nothing written.
    assert_eq!(
        p.force_release(&iid("a"), T0 + 11, "ops-li")
            .await
            .expect("again"),
        ForcedRelease::NotHeld {
            status: Status::Available
        }
    );
    assert!(matches!(
        p.force_release(&iid("nobody"), T0, "ops-li").await,
        Err(PoolError::UnknownInterpreter(_))
    ));
    assert_eq!(events_of(&p, EventKind::AdminRelease).await.len(), 1);

    // End a call: its record ends and its interpreter is freed, each audited.
    claim_by(&p, NODE, "o2", "b", T0 + 20).await;
    p.respond(&oid("o2"), &iid("b"), true, T0 + 21)
        .await
        .expect("accept");
    let call = cid("call-o2");
    p.call_opened(&call, NODE, "h", T0 + 20)
        .await
        .expect("open");
    let end = p
        .force_end_call(&call, T0 + 30, "ops-li")
        .await
        .expect("end")
        .expect("known call");
    assert_eq!(end.node, NODE);
    assert!(end.was_live);
    assert_eq!(end.freed, vec![(iid("b"), oid("o2"), OfferState::Accepted)]);
    assert_eq!(status(&p, "b", T0 + 30).await, Status::Available);
    let rec = p.call_record(&call).await.expect("rec").expect("known");
    assert_eq!(rec.why, ADMIN_END_CALL);
    let ended = events_of(&p, EventKind::AdminEndCall).await;
    assert_eq!(ended.len(), 1);
    assert!(ended[0].detail.contains("ops-li"));
    let again = p
        .force_end_call(&call, T0 + 31, "ops-li")
        .await
        .expect("again")
        .expect("known call");
    assert!(!again.was_live && again.freed.is_empty());
    assert_eq!(
        p.force_end_call(&cid("nope"), T0, "ops-li")
            .await
            .expect("unknown"),
        None
    );
}

/// A node's summary of its calls, good for `ttl` from `now`.
fn summary(
    node: NodeId,
    now: Millis,
    waiting: &[(&str, u32)],
    live: &[(&str, u32)],
) -> NodeSummary {
    let counts = |c: &[(&str, u32)]| c.iter().map(|&(l, n)| (Some(lang(l)), n)).collect();
    NodeSummary {
        node,
        expires_at: now + LEASE_MS,
        waiting: counts(waiting),
        live: counts(live),
    }
}

pub async fn node_summaries_are_replaced_and_run_out(p: Pool) {
    assert_eq!(p.summaries(T0).await.expect("none yet"), vec![]);
    let mine = summary(NODE, T0, &[("pt", 2)], &[("ja", 1)]);
    let other = summary(OTHER, T0 + 1_000, &[], &[("pt", 3)]);
    p.publish_summary(&mine).await.expect("publish");
    p.publish_summary(&other).await.expect("publish");
    let mut both = vec![mine.clone(), other.clone()];
    both.sort_by_key(|s| s.node);
    assert_eq!(p.summaries(T0 + 5_000).await.expect("read"), both);

    // A newer summary replaces the node's last one; one with unknown languages keeps `None`.
    let mut newer = summary(NODE, T0 + 2_000, &[], &[("pt", 1)]);
    newer.waiting.push((None, 1));
    p.publish_summary(&newer).await.expect("publish");
    let mut both = vec![newer.clone(), other.clone()];
    both.sort_by_key(|s| s.node);
    assert_eq!(p.summaries(T0 + 5_000).await.expect("read"), both);

    // A node that stops publishing drops out once its summary runs out.
    assert_eq!(
        p.summaries(T0 + LEASE_MS + 1_500).await.expect("read"),
        vec![newer.clone()],
        "{OTHER}'s ran out at T0 + 11 s"
    );
    assert_eq!(
        p.summaries(T0 + LEASE_MS + 2_000).await.expect("read"),
        vec![],
        "and then {NODE}'s"
    );
}
