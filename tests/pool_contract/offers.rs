//! Contract cases about offer transitions: respond, cancel, release, sweep, and their repeats.

use super::{claim, iid, offer_state, oid, ready, status, Pool, RING_MS, T0, WRAP_MS};
use hotline_bridge::pool::{Availability, OfferState, PoolError, Status, DAY_MS};

pub async fn repeats_of_every_transition_return_the_first_result(p: Pool) {
    ready(&p, "a", &["pt"], T0).await;
    ready(&p, "b", &["pt"], T0).await;

    // claim: the same offer id returns the same offer, even with other candidates.
    assert_eq!(
        claim(&p, "o1", "pt", &["a"], T0).await.as_deref(),
        Some("a")
    );
    assert_eq!(
        claim(&p, "o1", "pt", &["b"], T0 + 5).await.as_deref(),
        Some("a")
    );
    assert_eq!(status(&p, "b", T0 + 5).await, Status::Available);

    // respond (accept), then release, each twice.
    assert_eq!(
        p.respond(&oid("o1"), &iid("a"), true, T0 + 10)
            .await
            .expect("accept"),
        OfferState::Accepted
    );
    assert_eq!(
        p.respond(&oid("o1"), &iid("a"), true, T0 + 20)
            .await
            .expect("again"),
        OfferState::Accepted
    );
    assert_eq!(
        p.state(&iid("a"), T0 + 20)
            .await
            .expect("state")
            .expect("known")
            .calls_today,
        1
    );
    assert!(matches!(
        p.respond(&oid("o1"), &iid("a"), false, T0 + 20).await,
        Err(PoolError::AlreadyEnded {
            state: OfferState::Accepted,
            ..
        })
    ));
    assert_eq!(
        p.release(&oid("o1"), T0 + 100, WRAP_MS)
            .await
            .expect("release"),
        OfferState::Released
    );
    assert_eq!(
        p.release(&oid("o1"), T0 + 5_000, WRAP_MS)
            .await
            .expect("again"),
        OfferState::Released
    );
    let st = p
        .state(&iid("a"), T0 + 5_000)
        .await
        .expect("state")
        .expect("known");
    assert_eq!(
        st.idle_since,
        T0 + 100 + WRAP_MS,
        "a repeated release does not extend wrap-up"
    );
    assert_eq!(
        p.cancel(&oid("o1"), T0 + 5_000).await.expect("cancel"),
        OfferState::Released
    );

    // respond (decline) twice.
    assert_eq!(
        claim(&p, "o2", "pt", &["b"], T0).await.as_deref(),
        Some("b")
    );
    assert_eq!(
        p.respond(&oid("o2"), &iid("b"), false, T0 + 1)
            .await
            .expect("decline"),
        OfferState::Declined
    );
    assert_eq!(
        p.respond(&oid("o2"), &iid("b"), false, T0 + 2)
            .await
            .expect("again"),
        OfferState::Declined
    );
    assert!(matches!(
        p.respond(&oid("o2"), &iid("b"), true, T0 + 3).await,
        Err(PoolError::AlreadyEnded {
            state: OfferState::Declined,
            ..
        })
    ));

    // cancel twice.
    assert_eq!(
        claim(&p, "o3", "pt", &["b"], T0 + 10).await.as_deref(),
        Some("b")
    );
    assert_eq!(
        p.cancel(&oid("o3"), T0 + 11).await.expect("cancel"),
        OfferState::Cancelled
    );
    assert_eq!(
        p.cancel(&oid("o3"), T0 + 12).await.expect("again"),
        OfferState::Cancelled
    );
    assert_eq!(
        p.release(&oid("o3"), T0 + 13, WRAP_MS)
            .await
            .expect("release"),
        OfferState::Cancelled
    );
    assert_eq!(status(&p, "b", T0 + 13).await, Status::Available);

    // expiry by sweep, twice.
    assert_eq!(
        claim(&p, "o4", "pt", &["b"], T0 + 20).await.as_deref(),
        Some("b")
    );
    let due = T0 + 20 + RING_MS;
    assert_eq!(p.sweep(due, 2).await.expect("sweep").len(), 1);
    assert!(p.sweep(due, 2).await.expect("again").is_empty());
    assert_eq!(
        p.state(&iid("b"), due)
            .await
            .expect("state")
            .expect("known")
            .missed,
        1
    );
    assert_eq!(
        p.cancel(&oid("o4"), due).await.expect("cancel"),
        OfferState::Expired
    );
}

pub async fn a_late_accept_is_refused_and_sweep_expires_the_offer(p: Pool) {
    ready(&p, "a", &["pt"], T0).await;
    claim(&p, "o1", "pt", &["a"], T0).await.expect("claimed");
    let deadline = T0 + RING_MS;
    assert!(matches!(
        p.respond(&oid("o1"), &iid("a"), true, deadline).await,
        Err(PoolError::TooLate(_))
    ));
    assert_eq!(
        status(&p, "a", deadline).await,
        Status::Offered,
        "expiry is sweep's"
    );
    assert!(p
        .sweep(deadline - 1, 2)
        .await
        .expect("early sweep")
        .is_empty());
    let expired = p.sweep(deadline, 2).await.expect("sweep");
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].offer.id, oid("o1"));
    assert!(!expired[0].paused);
    assert_eq!(offer_state(&p, "o1").await, OfferState::Expired);
    assert!(matches!(
        p.respond(&oid("o1"), &iid("a"), true, deadline + 1).await,
        Err(PoolError::TooLate(_))
    ));
    let st = p
        .state(&iid("a"), deadline)
        .await
        .expect("state")
        .expect("known");
    assert_eq!(
        (st.status, st.offer, st.missed),
        (Status::Available, None, 1)
    );
}

pub async fn decline_makes_the_interpreter_available_again(p: Pool) {
    ready(&p, "a", &["pt"], T0).await;
    claim(&p, "o1", "pt", &["a"], T0).await.expect("claimed");
    p.sweep(T0 + RING_MS, 5).await.expect("sweep");
    p.heartbeat(&iid("a"), T0 + RING_MS)
        .await
        .expect("heartbeat");
    claim(&p, "o2", "pt", &["a"], T0 + RING_MS)
        .await
        .expect("claimed");
    assert_eq!(
        p.respond(&oid("o2"), &iid("a"), false, T0 + RING_MS + 1)
            .await
            .expect("decline"),
        OfferState::Declined
    );
    let st = p
        .state(&iid("a"), T0 + RING_MS + 1)
        .await
        .expect("state")
        .expect("known");
    assert_eq!(
        (st.status, st.offer, st.call, st.missed, st.idle_since),
        (Status::Available, None, None, 0, T0)
    );
    assert_eq!(
        claim(&p, "o3", "pt", &["a"], T0 + RING_MS + 2)
            .await
            .as_deref(),
        Some("a")
    );
}

pub async fn cancel_withdraws_a_pending_offer_and_reports_an_ended_one(p: Pool) {
    ready(&p, "a", &["pt"], T0).await;
    claim(&p, "o1", "pt", &["a"], T0).await.expect("claimed");
    assert_eq!(
        p.cancel(&oid("o1"), T0 + 1).await.expect("cancel"),
        OfferState::Cancelled
    );
    assert_eq!(status(&p, "a", T0 + 1).await, Status::Available);
    assert!(matches!(
        p.respond(&oid("o1"), &iid("a"), true, T0 + 2).await,
        Err(PoolError::AlreadyEnded {
            state: OfferState::Cancelled,
            ..
        })
    ));

    claim(&p, "o2", "pt", &["a"], T0 + 3)
        .await
        .expect("claimed");
    p.respond(&oid("o2"), &iid("a"), true, T0 + 4)
        .await
        .expect("accept");
    assert_eq!(
        p.cancel(&oid("o2"), T0 + 5).await.expect("cancel"),
        OfferState::Accepted
    );
    assert_eq!(
        status(&p, "a", T0 + 5).await,
        Status::Busy,
        "an accepted call is not withdrawn"
    );
}

pub async fn release_puts_the_interpreter_in_wrap_up_then_available(p: Pool) {
    ready(&p, "a", &["pt"], T0).await;
    claim(&p, "o1", "pt", &["a"], T0).await.expect("claimed");
    p.respond(&oid("o1"), &iid("a"), true, T0 + 1)
        .await
        .expect("accept");
    let end = T0 + 60_000;
    p.heartbeat(&iid("a"), end).await.expect("heartbeat");
    assert_eq!(
        p.release(&oid("o1"), end, WRAP_MS).await.expect("release"),
        OfferState::Released
    );
    let st = p
        .state(&iid("a"), end)
        .await
        .expect("state")
        .expect("known");
    assert_eq!((st.status, st.offer, st.call), (Status::WrapUp, None, None));
    assert_eq!(st.idle_since, end + WRAP_MS);
    assert_eq!(status(&p, "a", end + WRAP_MS).await, Status::Available);
    assert_eq!(claim(&p, "o2", "pt", &["a"], end + WRAP_MS - 1).await, None);
    assert_eq!(
        claim(&p, "o3", "pt", &["a"], end + WRAP_MS)
            .await
            .as_deref(),
        Some("a")
    );
    assert_eq!(offer_state(&p, "o1").await, OfferState::Released);
}

pub async fn sweep_expires_due_offers_and_pauses_after_max_missed(p: Pool) {
    ready(&p, "a", &["pt"], T0).await;
    ready(&p, "b", &["pt"], T0).await;
    claim(&p, "o1", "pt", &["a"], T0).await.expect("claimed");
    claim(&p, "later", "pt", &["b"], T0 + 10_000)
        .await
        .expect("claimed");
    let first = p.sweep(T0 + RING_MS, 2).await.expect("sweep");
    assert_eq!(
        first.iter().map(|e| e.offer.id.clone()).collect::<Vec<_>>(),
        [oid("o1")]
    );
    assert_eq!(offer_state(&p, "later").await, OfferState::Pending);
    let st = p
        .state(&iid("a"), T0 + RING_MS)
        .await
        .expect("state")
        .expect("known");
    assert_eq!((st.status, st.missed), (Status::Available, 1));

    let t1 = T0 + RING_MS + 1;
    p.heartbeat(&iid("a"), t1).await.expect("heartbeat");
    claim(&p, "o2", "pt", &["a"], t1).await.expect("claimed");
    let second = p.sweep(t1 + RING_MS, 2).await.expect("sweep");
    assert_eq!(second.len(), 2, "o2 and the later offer are both due");
    let o2 = second
        .iter()
        .find(|e| e.offer.id == oid("o2"))
        .expect("o2 expired");
    assert!(o2.paused, "second miss in a row pauses");
    let later = second
        .iter()
        .find(|e| e.offer.id == oid("later"))
        .expect("later expired");
    assert!(!later.paused);
    assert_eq!(status(&p, "a", t1 + RING_MS).await, Status::Paused);
    assert_eq!(claim(&p, "o3", "pt", &["a"], t1 + RING_MS).await, None);

    let back = p
        .set_availability(&iid("a"), Availability::Available, t1 + RING_MS)
        .await
        .expect("available again");
    assert_eq!((back.status, back.missed), (Status::Available, 0));
    assert_eq!(
        claim(&p, "o4", "pt", &["a"], t1 + RING_MS).await.as_deref(),
        Some("a")
    );

    // max_missed 0 never pauses.
    for (i, t) in [T0 + 100_000, T0 + 200_000, T0 + 300_000]
        .into_iter()
        .enumerate()
    {
        p.heartbeat(&iid("b"), t).await.expect("heartbeat");
        claim(&p, &format!("b{i}"), "pt", &["b"], t)
            .await
            .expect("claimed");
        let e = p.sweep(t + RING_MS, 0).await.expect("sweep");
        assert!(e.iter().all(|e| !e.paused));
    }
    let b = p
        .state(&iid("b"), T0 + 400_000)
        .await
        .expect("state")
        .expect("known");
    assert_eq!((b.status, b.missed), (Status::Available, 4));
}

pub async fn calls_today_counts_accepts_per_utc_day(p: Pool) {
    ready(&p, "a", &["pt"], T0).await;
    for (i, t) in [T0, T0 + 100_000].into_iter().enumerate() {
        p.heartbeat(&iid("a"), t).await.expect("heartbeat");
        let offer = format!("o{i}");
        claim(&p, &offer, "pt", &["a"], t).await.expect("claimed");
        p.respond(&oid(&offer), &iid("a"), true, t + 1)
            .await
            .expect("accept");
        p.release(&oid(&offer), t + 2, 0).await.expect("release");
    }
    p.heartbeat(&iid("a"), T0 + 200_000)
        .await
        .expect("heartbeat");
    claim(&p, "declined", "pt", &["a"], T0 + 200_000)
        .await
        .expect("claimed");
    p.respond(&oid("declined"), &iid("a"), false, T0 + 200_001)
        .await
        .expect("decline");
    let today = p
        .state(&iid("a"), T0 + 200_002)
        .await
        .expect("state")
        .expect("known");
    assert_eq!(today.calls_today, 2);

    let tomorrow = T0 - T0 % DAY_MS + DAY_MS;
    assert_eq!(
        p.state(&iid("a"), tomorrow)
            .await
            .expect("state")
            .expect("known")
            .calls_today,
        0
    );
    p.heartbeat(&iid("a"), tomorrow).await.expect("heartbeat");
    claim(&p, "next-day", "pt", &["a"], tomorrow)
        .await
        .expect("claimed");
    p.respond(&oid("next-day"), &iid("a"), true, tomorrow + 1)
        .await
        .expect("accept");
    assert_eq!(
        p.state(&iid("a"), tomorrow + 1)
            .await
            .expect("state")
            .expect("known")
            .calls_today,
        1
    );
}
