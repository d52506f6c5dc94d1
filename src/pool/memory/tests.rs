use super::*;
use crate::domain::{LanguageSkill, Level, NodeId, TimeZoneName, UniversityId, WeeklySchedule};
use crate::pool::ENDED_OFFER_KEPT_MS;

const T0: Millis = 1_750_000_000_000;

fn profile(id: &InterpreterId, lang: Language) -> InterpreterProfile {
    InterpreterProfile {
        id: id.clone(),
        university: UniversityId::parse("u").expect("id"),
        name: "Ana".into(),
        languages: vec![LanguageSkill {
            language: lang,
            level: Level::Native,
        }],
        schedule: WeeklySchedule {
            timezone: TimeZoneName::parse("UTC").expect("tz"),
            shifts: Vec::new(),
        },
        token_sha256: None,
        phone: None,
        ring: Default::default(),
    }
}

#[tokio::test]
async fn ended_offers_are_forgotten_a_day_after_they_end() {
    let pool = MemoryPool::new();
    let id = InterpreterId::parse("a").expect("id");
    let pt = Language::parse("pt").expect("lang");
    pool.upsert(&profile(&id, pt)).await.expect("upsert");
    pool.set_availability(&id, Availability::Available, T0)
        .await
        .expect("available");
    let offer_id = OfferId::parse("o1").expect("id");
    let req = ClaimRequest {
        offer_id: offer_id.clone(),
        node: NodeId::new(1),
        call_id: CallId::parse("c1").expect("id"),
        language: pt,
        candidates: vec![id.clone()],
        now: T0,
        deadline: T0 + 15_000,
        presence_ttl_ms: 15_000,
    };
    pool.claim(&req).await.expect("claim").expect("offer");
    pool.respond(&offer_id, &id, false, T0 + 1)
        .await
        .expect("decline");

    pool.sweep(T0 + ENDED_OFFER_KEPT_MS, 2)
        .await
        .expect("sweep");
    assert!(pool.offer(&offer_id).await.expect("offer").is_some());
    pool.sweep(T0 + 1 + ENDED_OFFER_KEPT_MS, 2)
        .await
        .expect("sweep");
    assert_eq!(pool.offer(&offer_id).await.expect("offer"), None);
}
