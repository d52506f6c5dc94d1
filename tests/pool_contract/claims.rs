//! Contract cases about `claim`: order, presence, language, status, one live offer.

use super::{claim, iid, lang, oid, ready, request, status, Pool, RING_MS, T0, TTL_MS, WRAP_MS};
use hotline_bridge::domain::CallId;
use hotline_bridge::pool::{Availability, Offer, Status};

pub async fn claim_takes_the_first_eligible_candidate_in_order(p: Pool) {
    for id in ["a", "b", "c"] {
        ready(&p, id, &["pt"], T0).await;
    }
    let order = ["c", "a", "b"];
    assert_eq!(
        claim(&p, "o1", "pt", &order, T0).await.as_deref(),
        Some("c")
    );
    assert_eq!(
        claim(&p, "o2", "pt", &order, T0).await.as_deref(),
        Some("a")
    );
    assert_eq!(
        claim(&p, "o3", "pt", &["stranger", "b"], T0)
            .await
            .as_deref(),
        Some("b")
    );
    assert_eq!(claim(&p, "o4", "pt", &order, T0).await, None);
    assert_eq!(claim(&p, "o5", "pt", &[], T0).await, None);

    let offer = p
        .claim(&request("o1", "pt", &order, T0))
        .await
        .expect("claim");
    assert_eq!(
        offer,
        Some(Offer {
            id: oid("o1"),
            call_id: CallId::parse("call-o1").expect("id"),
            interpreter: iid("c"),
            language: lang("pt"),
            created: T0,
            deadline: T0 + RING_MS,
        })
    );
}

pub async fn claim_skips_interpreters_whose_heartbeat_is_older_than_the_ttl(p: Pool) {
    ready(&p, "a", &["pt"], T0).await;
    assert_eq!(claim(&p, "o1", "pt", &["a"], T0 + TTL_MS + 1).await, None);
    assert!(!p
        .state(&iid("a"), T0 + TTL_MS + 1)
        .await
        .expect("state")
        .expect("known")
        .present(T0 + TTL_MS + 1, TTL_MS));
    assert_eq!(
        claim(&p, "o2", "pt", &["a"], T0 + TTL_MS).await.as_deref(),
        Some("a")
    );

    ready(&p, "b", &["pt"], T0).await;
    p.heartbeat(&iid("b"), T0 + 20_000)
        .await
        .expect("heartbeat");
    let st = p
        .heartbeat(&iid("b"), T0 + 1_000)
        .await
        .expect("late heartbeat");
    assert_eq!(st.last_seen, T0 + 20_000, "presence never moves back");
    assert_eq!(
        claim(&p, "o3", "pt", &["b"], T0 + 30_000).await.as_deref(),
        Some("b")
    );
}

pub async fn claim_only_offers_speakers_of_the_language(p: Pool) {
    ready(&p, "a", &["pt"], T0).await;
    ready(&p, "b", &["en"], T0).await;
    assert_eq!(claim(&p, "o1", "en", &["a"], T0).await, None);
    assert_eq!(
        claim(&p, "o2", "pt", &["b", "a"], T0).await.as_deref(),
        Some("a")
    );
}

pub async fn claim_skips_paused_offline_busy_and_wrapping_up_interpreters(p: Pool) {
    for id in ["paused", "offline", "busy", "wrapping", "free"] {
        ready(&p, id, &["pt"], T0).await;
    }
    p.set_availability(&iid("paused"), Availability::Paused, T0)
        .await
        .expect("pause");
    p.set_availability(&iid("offline"), Availability::Offline, T0)
        .await
        .expect("offline");
    claim(&p, "busy-call", "pt", &["busy"], T0)
        .await
        .expect("claimed");
    p.respond(&oid("busy-call"), &iid("busy"), true, T0)
        .await
        .expect("accept");
    claim(&p, "wrap-call", "pt", &["wrapping"], T0)
        .await
        .expect("claimed");
    p.respond(&oid("wrap-call"), &iid("wrapping"), true, T0)
        .await
        .expect("accept");
    p.release(&oid("wrap-call"), T0 + 100, WRAP_MS)
        .await
        .expect("release");

    let all = ["paused", "offline", "busy", "wrapping", "free"];
    assert_eq!(status(&p, "paused", T0 + 200).await, Status::Paused);
    assert_eq!(status(&p, "offline", T0 + 200).await, Status::Offline);
    assert_eq!(status(&p, "busy", T0 + 200).await, Status::Busy);
    assert_eq!(status(&p, "wrapping", T0 + 200).await, Status::WrapUp);
    assert_eq!(
        claim(&p, "o1", "pt", &all, T0 + 200).await.as_deref(),
        Some("free")
    );
    assert_eq!(
        claim(&p, "o2", "pt", &all, T0 + 100 + WRAP_MS - 1).await,
        None
    );
    assert_eq!(
        claim(&p, "o3", "pt", &all, T0 + 100 + WRAP_MS)
            .await
            .as_deref(),
        Some("wrapping")
    );
}

pub async fn an_interpreter_is_never_in_two_live_offers(p: Pool) {
    ready(&p, "a", &["pt", "en"], T0).await;
    assert_eq!(
        claim(&p, "o1", "pt", &["a"], T0).await.as_deref(),
        Some("a")
    );
    assert_eq!(claim(&p, "o2", "pt", &["a"], T0).await, None);
    assert_eq!(
        claim(&p, "o3", "en", &["a"], T0).await,
        None,
        "not in another language either"
    );
    p.respond(&oid("o1"), &iid("a"), true, T0 + 1)
        .await
        .expect("accept");
    assert_eq!(claim(&p, "o2", "en", &["a"], T0 + 2).await, None);
    let st = p
        .state(&iid("a"), T0 + 2)
        .await
        .expect("state")
        .expect("known");
    assert_eq!((st.offer, st.status), (Some(oid("o1")), Status::Busy));
    assert_eq!(
        p.offer(&oid("o2")).await.expect("offer"),
        None,
        "a failed claim leaves nothing"
    );
}
