//! Phone duty: an interpreter rung only on their phone has no console sending heartbeats, so the
//! bridge keeps them present and available in the pool during their shift, and only then; an
//! interpreter rung in the app first, one off shift and one paused are left as they are.
use crate::common;

use common::fixtures::interpreter;
use common::test_settings;
use hotline_bridge::app::AppState;
use hotline_bridge::domain::{InterpreterId, Level, RingPreference};
use hotline_bridge::drivers::clock::now_ms;
use hotline_bridge::drivers::phone_duty;
use hotline_bridge::pool::{Availability, Status};
use std::time::Duration;

const NUMBER: &str = "+5511912345678";
/// The loop's period in this test, and how long the test waits for it.
const EVERY: Duration = Duration::from_millis(100);
const STEP: Duration = Duration::from_secs(10);

fn iid(s: &str) -> InterpreterId {
    InterpreterId::parse(s).expect("id")
}

#[tokio::test]
async fn phone_only_interpreters_on_shift_are_kept_present_and_available() {
    let state = AppState::in_memory(test_settings());
    let pool = state.pool.clone();
    let profiles = [
        interpreter("bfsu-phone")
            .speaks("pt", Level::Native)
            .always_on_shift()
            .phone(NUMBER, RingPreference::Phone)
            .build(),
        interpreter("bfsu-paused")
            .speaks("pt", Level::Native)
            .always_on_shift()
            .phone(NUMBER, RingPreference::Phone)
            .build(),
        interpreter("bfsu-app-first")
            .speaks("pt", Level::Native)
            .always_on_shift()
            .phone(NUMBER, RingPreference::AppThenPhone)
            .build(),
        // No shifts at all: never on duty.
        interpreter("bfsu-off-shift")
            .speaks("pt", Level::Native)
            .phone(NUMBER, RingPreference::Phone)
            .build(),
    ];
    for p in &profiles {
        pool.upsert(p).await.expect("upsert");
    }
    pool.set_availability(&iid("bfsu-paused"), Availability::Paused, now_ms())
        .await
        .expect("paused");
    let seen_paused = pool
        .state(&iid("bfsu-paused"), now_ms())
        .await
        .expect("state")
        .expect("known")
        .last_seen;

    phone_duty::start(
        pool.clone(),
        state.dispatch.clone(),
        EVERY,
        true,
        &state.lifecycle,
    );
    let ttl_ms = state.settings.dispatch.presence_ttl_s * 1000;
    // The loop visits every profile on each tick: once the paused one has a newer heartbeat, the
    // phone-only one has had its tick too.
    let (phone, paused) = tokio::time::timeout(STEP, async {
        loop {
            let now = now_ms();
            let phone = pool.state(&iid("bfsu-phone"), now).await.expect("state");
            let paused = pool.state(&iid("bfsu-paused"), now).await.expect("state");
            if let (Some(a), Some(b)) = (phone, paused) {
                if a.status == Status::Available && b.last_seen > seen_paused {
                    return (a, b);
                }
            }
            tokio::time::sleep(EVERY / 2).await;
        }
    })
    .await
    .expect("the phone-only interpreter on shift becomes available");
    assert!(phone.present(now_ms(), ttl_ms), "{phone:?}");
    assert_eq!(paused.status, Status::Paused, "a pause is theirs to lift");

    for left_alone in ["bfsu-app-first", "bfsu-off-shift"] {
        let s = pool
            .state(&iid(left_alone), now_ms())
            .await
            .expect("state")
            .expect("known");
        assert_eq!(
            (s.status, s.last_seen),
            (Status::Offline, 0),
            "{left_alone}"
        );
    }
    state.lifecycle.root().cancel();
}

#[tokio::test]
async fn without_an_outbound_trunk_nobody_is_on_phone_duty() {
    let state = AppState::in_memory(test_settings());
    let pool = state.pool.clone();
    pool.upsert(
        &interpreter("bfsu-phone")
            .speaks("pt", Level::Native)
            .always_on_shift()
            .phone(NUMBER, RingPreference::Phone)
            .build(),
    )
    .await
    .expect("upsert");
    // Nothing starts: no task is added, and the pool stays as it was.
    let before = state.lifecycle.tracker().len();
    phone_duty::start(
        pool.clone(),
        state.dispatch.clone(),
        EVERY,
        false,
        &state.lifecycle,
    );
    assert_eq!(state.lifecycle.tracker().len(), before);
    let s = pool
        .state(&iid("bfsu-phone"), now_ms())
        .await
        .expect("state")
        .expect("known");
    assert_eq!((s.status, s.last_seen), (Status::Offline, 0));
    state.lifecycle.root().cancel();
}
