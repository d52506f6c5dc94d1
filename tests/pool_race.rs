//! Many dispatchers on two nodes, one Redis: 24 concurrent tasks, each with its own RedisPool (its
//! own connection), half labelled node A and half node B, run 1,200 claim → accept-or-decline →
//! release cycles over 8 interpreters, with random repeats of each call. Proves no interpreter is
//! ever held by two live offers, every offer ends exactly once as expected, and nothing is left
//! offered or busy afterwards.

use crate::common;

use common::fixtures::{interpreter, lang};
use common::redis::TestRedis;
use hotline_bridge::domain::{CallId, InterpreterId, Level, Millis, NodeId, OfferId};
use hotline_bridge::pool::{
    Availability, ClaimRequest, InterpreterPool, OfferState, RedisPool, Status,
};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TASKS: usize = 24;
const CYCLES_PER_TASK: usize = 50;
const INTERPRETERS: usize = 8;
const T0: Millis = 1_750_040_000_000;
/// Far away: nothing expires during the run; expiry is the contract suite's business.
const RING_MS: u64 = 3_600_000;
/// The whole run must finish well within this (it takes a few seconds).
const RUN_DEADLINE: Duration = Duration::from_secs(120);

/// Who holds which interpreter right now, as the tasks see it.
#[derive(Default)]
struct Ledger {
    holders: HashMap<InterpreterId, OfferId>,
    double_bookings: Vec<String>,
}

#[derive(Default, Debug)]
struct Tally {
    accepted: usize,
    declined: usize,
    empty_claims: usize,
    repeats: usize,
    errors: Vec<String>,
    /// Every offer made and the state it must end in.
    offers: Vec<(OfferId, OfferState)>,
}

fn open(url: &str) -> Arc<dyn InterpreterPool> {
    let mut settings = common::test_settings().redis;
    settings.url = url.to_owned();
    settings.key_prefix = "race".into();
    Arc::new(RedisPool::open(&settings).expect("redis pool"))
}

/// One dispatcher: `CYCLES_PER_TASK` successful claims, each answered and ended.
async fn dispatcher(
    node: char,
    task: usize,
    pool: Arc<dyn InterpreterPool>,
    ids: Vec<InterpreterId>,
    ledger: Arc<Mutex<Ledger>>,
) -> Tally {
    let mut rng = StdRng::seed_from_u64(task as u64);
    let mut t = Tally::default();
    let started = Instant::now();
    let mut n = 0;
    while t.offers.len() < CYCLES_PER_TASK && started.elapsed() < RUN_DEADLINE {
        n += 1;
        let offer_id = OfferId::parse(&format!("{node}-{task}-{n}")).expect("offer id");
        let mut candidates = ids.clone();
        candidates.shuffle(&mut rng);
        let req = ClaimRequest {
            offer_id: offer_id.clone(),
            node: NodeId::new(1),
            call_id: CallId::parse(&format!("call-{node}-{task}-{n}")).expect("call id"),
            language: lang("pt"),
            candidates,
            now: T0,
            deadline: T0 + RING_MS,
            presence_ttl_ms: RING_MS,
        };
        let offer = match pool.claim(&req).await {
            Ok(Some(o)) => o,
            Ok(None) => {
                t.empty_claims += 1;
                tokio::task::yield_now().await;
                continue;
            }
            Err(e) => {
                t.errors.push(format!("claim {offer_id}: {e}"));
                continue;
            }
        };
        let who = offer.interpreter.clone();
        {
            let mut l = ledger.lock().expect("ledger");
            if let Some(other) = l.holders.insert(who.clone(), offer_id.clone()) {
                l.double_bookings
                    .push(format!("{who} held by {other} and {offer_id}"));
            }
        }
        if rng.gen_bool(0.2) {
            t.repeats += 1;
            match pool.claim(&req).await {
                Ok(Some(again)) if again == offer => {}
                other => t.errors.push(format!("repeat claim {offer_id}: {other:?}")),
            }
        }
        let accept = rng.gen_bool(0.5);
        let release = |ledger: &Mutex<Ledger>| {
            ledger.lock().expect("ledger").holders.remove(&who);
        };
        if accept {
            match pool.respond(&offer_id, &who, true, T0).await {
                Ok(OfferState::Accepted) => t.accepted += 1,
                other => t.errors.push(format!("accept {offer_id}: {other:?}")),
            }
            // Free it in the ledger before Redis frees it, so the next holder never races us.
            release(&ledger);
            for _ in 0..if rng.gen_bool(0.2) { 2 } else { 1 } {
                match pool.release(&offer_id, T0, 0).await {
                    Ok(OfferState::Released) => {}
                    other => t.errors.push(format!("release {offer_id}: {other:?}")),
                }
            }
            t.offers.push((offer_id, OfferState::Released));
        } else {
            release(&ledger);
            for _ in 0..if rng.gen_bool(0.2) { 2 } else { 1 } {
                match pool.respond(&offer_id, &who, false, T0).await {
                    Ok(OfferState::Declined) => {}
                    other => t.errors.push(format!("decline {offer_id}: {other:?}")),
                }
            }
            t.declined += 1;
            t.offers.push((offer_id, OfferState::Declined));
        }
    }
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_cycles_on_two_nodes_never_double_book() {
    let server = TestRedis::start();
    let url = server.url();
    let setup = open(&url);
    let ids: Vec<InterpreterId> = (0..INTERPRETERS)
        .map(|i| InterpreterId::parse(&format!("pt-{i}")).expect("id"))
        .collect();
    for id in &ids {
        let profile = interpreter(id.as_str()).speaks("pt", Level::Native);
        setup.upsert(&profile.build()).await.expect("upsert");
        setup.heartbeat(id, T0).await.expect("heartbeat");
        setup
            .set_availability(id, Availability::Available, T0)
            .await
            .expect("available");
    }

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let started = Instant::now();
    // Kept until the end, so their connections can be counted.
    let pools: Vec<_> = (0..TASKS).map(|_| open(&url)).collect();
    let tasks: Vec<_> = pools
        .iter()
        .enumerate()
        .map(|(task, pool)| {
            let node = if task % 2 == 0 { 'a' } else { 'b' };
            tokio::spawn(dispatcher(
                node,
                task,
                pool.clone(),
                ids.clone(),
                ledger.clone(),
            ))
        })
        .collect();
    let mut total = Tally::default();
    for task in tasks {
        let t = task.await.expect("dispatcher task");
        total.accepted += t.accepted;
        total.declined += t.declined;
        total.empty_claims += t.empty_claims;
        total.repeats += t.repeats;
        total.errors.extend(t.errors);
        total.offers.extend(t.offers);
    }
    let elapsed = started.elapsed();

    let mut raw = redis::Client::open(url.as_str())
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection");
    let clients: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut raw)
        .await
        .expect("client list");
    let connections = clients.lines().count();

    let double_bookings = std::mem::take(&mut ledger.lock().expect("ledger").double_bookings);
    println!(
        "race: {} cycles ({} accepted+released, {} declined) from {TASKS} tasks on 2 nodes over \
         {INTERPRETERS} interpreters in {elapsed:?}; {} empty claims (contention), {} repeated \
         claims, {} double bookings, {} errors, {connections} client connections",
        total.offers.len(),
        total.accepted,
        total.declined,
        total.empty_claims,
        total.repeats,
        double_bookings.len(),
        total.errors.len(),
    );
    assert!(double_bookings.is_empty(), "{double_bookings:?}");
    assert!(
        total.errors.is_empty(),
        "{:?}",
        &total.errors[..total.errors.len().min(10)]
    );
    assert_eq!(
        total.offers.len(),
        TASKS * CYCLES_PER_TASK,
        "every task finished its cycles"
    );
    assert!(connections > TASKS, "each task had its own connection");

    // Every offer ended exactly once, as its task saw it end.
    let check = open(&url);
    for (offer, expected) in &total.offers {
        let (_, state) = check
            .offer(offer)
            .await
            .expect("offer")
            .expect("known offer");
        assert_eq!(state, *expected, "{offer}");
    }
    // Nobody is left offered or busy, no offer is pending, every accept was counted once.
    let states = check.states_for(lang("pt"), T0).await.expect("states");
    assert_eq!(states.len(), INTERPRETERS);
    for s in &states {
        assert_eq!((s.status, &s.offer), (Status::Available, &None), "{}", s.id);
    }
    let calls: u32 = states.iter().map(|s| s.calls_today).sum();
    assert_eq!(calls as usize, total.accepted);
    assert!(check
        .sweep(T0 + 10 * RING_MS, 2)
        .await
        .expect("sweep")
        .is_empty());
}
