//! Contract cases about profiles, presence, removal, snapshots and events.

use super::{claim, iid, lang, oid, profile, ready, status, Pool, T0, WRAP_MS};
use hotline_bridge::domain::CallId;
use hotline_bridge::pool::{Availability, EventKind, PoolError, PoolEvent, Status};

pub async fn a_phone_number_and_ring_preference_are_stored_and_returned(p: Pool) {
    use hotline_bridge::domain::{PhoneNumber, RingPreference};
    let mut ana = profile("a", &["pt"]);
    ana.phone = Some(PhoneNumber::parse("+5511912345678").expect("number"));
    ana.ring = RingPreference::AppThenPhone;
    p.upsert(&ana).await.expect("upsert");
    let stored = p.profile(&iid("a")).await.expect("profile").expect("known");
    assert_eq!(stored, ana);
    // Back to the app only, the number dropped: nothing of it is left behind.
    p.upsert(&profile("a", &["pt"])).await.expect("upsert");
    let stored = p.profile(&iid("a")).await.expect("profile").expect("known");
    assert_eq!((stored.phone, stored.ring), (None, RingPreference::App));
}

pub async fn upsert_keeps_live_state_and_token(p: Pool) {
    let mut with_token = profile("a", &["pt"]);
    with_token.token_sha256 = Some("ab".repeat(32));
    p.upsert(&with_token).await.expect("upsert");
    p.heartbeat(&iid("a"), T0).await.expect("heartbeat");
    p.set_availability(&iid("a"), Availability::Available, T0)
        .await
        .expect("available");
    assert_eq!(
        claim(&p, "o1", "pt", &["a"], T0).await.as_deref(),
        Some("a")
    );

    let mut renamed = profile("a", &["pt"]);
    renamed.name = "Ana Silva".into();
    p.upsert(&renamed).await.expect("re-upsert");
    let stored = p.profile(&iid("a")).await.expect("profile").expect("known");
    assert_eq!(stored.name, "Ana Silva");
    assert_eq!(
        stored.token_sha256,
        Some("ab".repeat(32)),
        "a None token keeps the stored one"
    );
    let st = p.state(&iid("a"), T0).await.expect("state").expect("known");
    assert_eq!(st.status, Status::Offered);
    assert_eq!(st.offer, Some(oid("o1")));
    assert_eq!(st.last_seen, T0);

    let mut new_token = profile("a", &["pt"]);
    new_token.token_sha256 = Some("cd".repeat(32));
    p.upsert(&new_token).await.expect("token change");
    let stored = p.profile(&iid("a")).await.expect("profile").expect("known");
    assert_eq!(stored.token_sha256, Some("cd".repeat(32)));

    p.upsert(&profile("0-first", &["en"]))
        .await
        .expect("upsert");
    let ids: Vec<String> = p
        .profiles()
        .await
        .expect("profiles")
        .iter()
        .map(|q| q.id.to_string())
        .collect();
    assert_eq!(ids, ["0-first", "a"]);
    let fresh = p
        .state(&iid("0-first"), T0)
        .await
        .expect("state")
        .expect("known");
    assert_eq!((fresh.status, fresh.last_seen), (Status::Offline, 0));
    assert_eq!(p.profile(&iid("nobody")).await.expect("profile"), None);
}

pub async fn upsert_moves_an_interpreter_between_languages(p: Pool) {
    ready(&p, "a", &["pt"], T0).await;
    p.upsert(&profile("a", &["en"]))
        .await
        .expect("languages change");
    assert_eq!(claim(&p, "o1", "pt", &["a"], T0).await, None);
    assert!(p
        .states_for(lang("pt"), T0)
        .await
        .expect("states")
        .is_empty());
    assert_eq!(
        claim(&p, "o2", "en", &["a"], T0).await.as_deref(),
        Some("a")
    );
    let en = p.states_for(lang("en"), T0).await.expect("states");
    assert_eq!(en.len(), 1);
    assert_eq!(en[0].status, Status::Offered);
}

pub async fn remove_and_availability_changes_are_refused_while_engaged(p: Pool) {
    ready(&p, "a", &["pt"], T0).await;
    claim(&p, "o1", "pt", &["a"], T0).await.expect("claimed");
    assert!(matches!(
        p.remove(&iid("a")).await,
        Err(PoolError::Engaged(_))
    ));
    assert!(matches!(
        p.set_availability(&iid("a"), Availability::Offline, T0)
            .await,
        Err(PoolError::Engaged(_))
    ));
    p.respond(&oid("o1"), &iid("a"), true, T0 + 1)
        .await
        .expect("accept");
    assert!(matches!(
        p.remove(&iid("a")).await,
        Err(PoolError::Engaged(_))
    ));
    assert!(matches!(
        p.set_availability(&iid("a"), Availability::Paused, T0)
            .await,
        Err(PoolError::Engaged(_))
    ));
    assert_eq!(status(&p, "a", T0 + 1).await, Status::Busy);

    p.release(&oid("o1"), T0 + 2, WRAP_MS)
        .await
        .expect("release");
    assert!(p.remove(&iid("a")).await.expect("remove"));
    assert!(!p.remove(&iid("a")).await.expect("remove again"));
    assert_eq!(p.state(&iid("a"), T0).await.expect("state"), None);
    assert_eq!(p.profile(&iid("a")).await.expect("profile"), None);
    assert!(p.profiles().await.expect("profiles").is_empty());
    assert!(p
        .states_for(lang("pt"), T0)
        .await
        .expect("states")
        .is_empty());
    assert!(matches!(
        p.heartbeat(&iid("a"), T0).await,
        Err(PoolError::UnknownInterpreter(_))
    ));
    assert_eq!(claim(&p, "o2", "pt", &["a"], T0 + WRAP_MS * 2).await, None);
}

pub async fn events_are_recorded_and_read_back_oldest_first(p: Pool) {
    let events: Vec<PoolEvent> = (0..5u64)
        .map(|i| PoolEvent {
            kind: [
                EventKind::Request,
                EventKind::Offer,
                EventKind::Accept,
                EventKind::Release,
                EventKind::Escalate,
            ][i as usize],
            at: T0 + i,
            call_id: Some(CallId::parse("c1").expect("id")),
            interpreter: (i % 2 == 1).then(|| iid("a")),
            language: (i != 4).then(|| lang("pt")),
            offer_id: (i == 1 || i == 2).then(|| oid("o1")),
            detail: if i == 2 {
                "tti_ms=1234".into()
            } else {
                String::new()
            },
        })
        .collect();
    for e in &events {
        p.record(e).await.expect("record");
    }
    assert_eq!(
        p.recent_events(3).await.expect("recent"),
        events[2..].to_vec()
    );
    assert_eq!(p.recent_events(100).await.expect("all"), events);
    assert!(p.recent_events(0).await.expect("none").is_empty());
}

pub async fn answers_by_others_and_about_unknown_things_are_refused(p: Pool) {
    ready(&p, "a", &["pt"], T0).await;
    ready(&p, "b", &["pt"], T0).await;
    claim(&p, "o1", "pt", &["a"], T0).await.expect("claimed");
    assert!(matches!(
        p.respond(&oid("o1"), &iid("b"), true, T0 + 1).await,
        Err(PoolError::NotYours(_))
    ));
    assert_eq!(status(&p, "a", T0 + 1).await, Status::Offered);
    let ghost = oid("ghost");
    assert!(matches!(
        p.respond(&ghost, &iid("a"), true, T0).await,
        Err(PoolError::UnknownOffer(_))
    ));
    assert!(matches!(
        p.cancel(&ghost, T0).await,
        Err(PoolError::UnknownOffer(_))
    ));
    assert!(matches!(
        p.release(&ghost, T0, WRAP_MS).await,
        Err(PoolError::UnknownOffer(_))
    ));
    assert_eq!(p.offer(&ghost).await.expect("offer"), None);
    let nobody = iid("nobody");
    assert!(matches!(
        p.heartbeat(&nobody, T0).await,
        Err(PoolError::UnknownInterpreter(_))
    ));
    assert!(matches!(
        p.set_availability(&nobody, Availability::Available, T0)
            .await,
        Err(PoolError::UnknownInterpreter(_))
    ));
    assert_eq!(p.state(&nobody, T0).await.expect("state"), None);
    p.ping().await.expect("ping");
}

pub async fn states_for_lists_every_speaker_with_live_state(p: Pool) {
    ready(&p, "b", &["pt", "en"], T0).await;
    ready(&p, "a", &["pt"], T0).await;
    ready(&p, "c", &["en"], T0).await;
    claim(&p, "o1", "pt", &["b"], T0).await.expect("claimed");
    let pt = p.states_for(lang("pt"), T0).await.expect("states");
    let seen: Vec<(String, Status)> = pt.iter().map(|s| (s.id.to_string(), s.status)).collect();
    assert_eq!(
        seen,
        [
            ("a".into(), Status::Available),
            ("b".into(), Status::Offered)
        ]
    );
    assert_eq!(pt[1].offer, Some(oid("o1")));
    assert_eq!(pt[1].call, Some(CallId::parse("call-o1").expect("id")));
    assert_eq!(p.states_for(lang("en"), T0).await.expect("states").len(), 2);
    assert!(p
        .states_for(lang("fr"), T0)
        .await
        .expect("states")
        .is_empty());
}
