//! Proves that the dispatch engine, run against the real `MemoryPool`, spreads calls fairly: 300
//! requests arriving one after another over six equally eligible interpreters (overlapping calls
//! of random length, so some interpreters are busy or in wrap-up when a request comes) end with
//! every request accepted and max/min calls per interpreter ≤ 1.5.
use crate::common;

use common::fixtures::{interpreter, lang};
use hotline_bridge::config::Settings;
use hotline_bridge::domain::{CallId, InterpreterId, InterpreterProfile, Level, Millis};
use hotline_bridge::drivers::dispatch::carry_out;
use hotline_bridge::engine::dispatch::{
    Action, Dispatcher, Input, NewRequest, Policy, ProgressEvent,
};
use hotline_bridge::pool::{Availability, InterpreterPool, MemoryPool, OfferState};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, HashMap};

const REQUESTS: usize = 300;
const INTERPRETERS: usize = 6;
/// Wed 2026-12-02 00:00 UTC.
const T0: Millis = 1_764_633_600_000;
const S: u64 = 1000;

fn profile(i: usize) -> InterpreterProfile {
    interpreter(&format!("bfsu-en-{i:02}"))
        .speaks("en", Level::Professional)
        .always_on_shift()
        .build()
}

/// Drains the engine at `now`, carrying actions out against the pool; every ringing offer is
/// accepted at once. Returns the engine's next wake-up.
async fn pump(
    d: &mut Dispatcher,
    pool: &MemoryPool,
    now: Millis,
    accepted: &mut HashMap<CallId, InterpreterId>,
) -> Millis {
    loop {
        let action = d.poll_action();
        match &action {
            Action::WakeAt(t) => return *t,
            Action::Notify(p) => match &p.event {
                ProgressEvent::Ringing {
                    interpreter, offer, ..
                } => {
                    let state = pool
                        .respond(offer, interpreter, true, now)
                        .await
                        .expect("accept");
                    assert_eq!(state, OfferState::Accepted);
                    d.handle(
                        Input::OfferEnded {
                            offer: offer.clone(),
                            state,
                            paused: false,
                        },
                        now,
                    )
                    .expect("offer ended");
                }
                ProgressEvent::Accepted { interpreter, .. } => {
                    accepted.insert(p.call.clone(), interpreter.clone());
                }
                ProgressEvent::Failed { .. } => panic!("request failed: {p:?}"),
                _ => {}
            },
            _ => {
                for input in carry_out(pool, &action, now).await {
                    d.handle(input, now).expect("engine input");
                }
            }
        }
    }
}

#[tokio::test]
async fn three_hundred_sequential_requests_are_spread_fairly() {
    let settings = Settings::load_with_env(None, Vec::new()).expect("defaults");
    let en = lang("en");
    let pool = MemoryPool::new();
    let mut d = Dispatcher::new(Policy::from_settings(&settings.dispatch), 1);
    let profiles: Vec<InterpreterProfile> = (0..INTERPRETERS).map(profile).collect();
    for p in &profiles {
        pool.upsert(p).await.expect("upsert");
        pool.set_availability(&p.id, Availability::Available, T0)
            .await
            .expect("available");
    }
    d.set_profiles(profiles.clone());

    let mut rng = StdRng::seed_from_u64(12345);
    let mut now = T0;
    let mut next_arrival = T0;
    let mut arrived = 0;
    let mut wake = u64::MAX;
    let mut accepted: HashMap<CallId, InterpreterId> = HashMap::new();
    // Call end time → call.
    let mut ends: BTreeMap<Millis, CallId> = BTreeMap::new();
    let mut started: HashMap<CallId, ()> = HashMap::new();
    while arrived < REQUESTS || !ends.is_empty() || !d.is_empty() {
        let next_end = ends.keys().next().copied().unwrap_or(u64::MAX);
        let next_in = if arrived < REQUESTS {
            next_arrival
        } else {
            u64::MAX
        };
        now = now.max(next_in.min(next_end).min(wake));
        assert!(now < u64::MAX, "simulation stalled");
        for p in &profiles {
            pool.heartbeat(&p.id, now).await.expect("heartbeat");
        }
        if next_in == now {
            let call = CallId::parse(&format!("call-{arrived}")).expect("id");
            d.handle(
                Input::Request(NewRequest {
                    call,
                    language: en,
                    priority: 0,
                    preferred: None,
                }),
                now,
            )
            .expect("request");
            arrived += 1;
            // About one call every 25 s, each 30-150 s long: 2-3 interpreters busy on average.
            next_arrival = now + rng.gen_range(5..45) * S;
        } else if next_end == now {
            let (_, call) = ends.pop_first().expect("end");
            d.handle(Input::CallEnded { call }, now).expect("end");
        } else {
            d.handle(Input::Timer, now).expect("timer");
        }
        wake = pump(&mut d, &pool, now, &mut accepted).await;
        for call in accepted.keys() {
            if started.insert(call.clone(), ()).is_none() {
                ends.insert(
                    now + rng.gen_range(30..150) * S + rng.gen_range(0..S),
                    call.clone(),
                );
            }
        }
    }

    assert_eq!(accepted.len(), REQUESTS, "every request accepted");
    let mut calls: HashMap<&InterpreterId, u32> = HashMap::new();
    for who in accepted.values() {
        *calls.entry(who).or_default() += 1;
    }
    let max = calls.values().copied().max().unwrap_or(0);
    let min = profiles
        .iter()
        .map(|p| calls.get(&p.id).copied().unwrap_or(0))
        .min()
        .unwrap_or(0);
    println!("calls per interpreter: {calls:?}");
    assert!(min > 0, "someone never got a call: {calls:?}");
    let ratio = f64::from(max) / f64::from(min);
    assert!(ratio <= 1.5, "max/min = {ratio:.2}: {calls:?}");
}
