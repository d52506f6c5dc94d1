//! The pool contract (src/pool/mod.rs), written once and run against both implementations:
//! `MemoryPool` and `RedisPool` on a real redis-server (one per test, on a free port). Each case
//! is an async fn over `Arc<dyn InterpreterPool>`; `contract!` makes one test per pool of it.
//! Cases by family: `claims`, `offers`, `profiles`, `nodes` (leases, recovery, admin).

use crate::common;

use common::fixtures::{interpreter, lang};
use common::redis::TestRedis;
use hotline_bridge::domain::{
    CallId, InterpreterId, InterpreterProfile, Level, Millis, NodeId, OfferId,
};
use hotline_bridge::pool::{
    Availability, ClaimRequest, InterpreterPool, MemoryPool, OfferState, RedisPool, Status,
};
use std::sync::Arc;

type Pool = Arc<dyn InterpreterPool>;

/// A Monday, 2025-06-16 00:00 UTC, plus a few hours.
const T0: Millis = 1_750_032_000_000 + 3 * 3_600_000;
const RING_MS: u64 = 15_000;
const TTL_MS: u64 = 15_000;
const WRAP_MS: u64 = 10_000;
/// The node making the contract's offers.
const NODE: NodeId = NodeId::new(0xa1);

// The cases, one file a family in tests/pool_contract/.
mod claims;
mod nodes;
mod offers;
mod profiles;

use claims::*;
use nodes::*;
use offers::*;
use profiles::*;

// --- fixtures --------------------------------------------------------------------------------

/// A pool under test; keeps its redis-server alive as long as the pool is used.
struct Fixture {
    pool: Pool,
    _redis: Option<TestRedis>,
}

fn memory() -> Fixture {
    Fixture {
        pool: Arc::new(MemoryPool::new()),
        _redis: None,
    }
}

fn redis() -> Fixture {
    let server = TestRedis::start();
    let mut settings = common::test_settings().redis;
    settings.url = server.url();
    settings.key_prefix = "contract".into();
    Fixture {
        pool: Arc::new(RedisPool::open(&settings).expect("redis pool")),
        _redis: Some(server),
    }
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod memory_pool {
            $(#[tokio::test]
            async fn $case() {
                let f = super::memory();
                super::$case(f.pool.clone()).await;
            })*
        }
        mod redis_pool {
            $(#[tokio::test]
            async fn $case() {
                let f = super::redis();
                super::$case(f.pool.clone()).await;
            })*
        }
    };
}

contract!(
    upsert_keeps_live_state_and_token,
    a_phone_number_and_ring_preference_are_stored_and_returned,
    upsert_moves_an_interpreter_between_languages,
    claim_takes_the_first_eligible_candidate_in_order,
    claim_skips_interpreters_whose_heartbeat_is_older_than_the_ttl,
    claim_only_offers_speakers_of_the_language,
    claim_skips_paused_offline_busy_and_wrapping_up_interpreters,
    an_interpreter_is_never_in_two_live_offers,
    repeats_of_every_transition_return_the_first_result,
    a_late_accept_is_refused_and_sweep_expires_the_offer,
    decline_makes_the_interpreter_available_again,
    cancel_withdraws_a_pending_offer_and_reports_an_ended_one,
    release_puts_the_interpreter_in_wrap_up_then_available,
    sweep_expires_due_offers_and_pauses_after_max_missed,
    remove_and_availability_changes_are_refused_while_engaged,
    events_are_recorded_and_read_back_oldest_first,
    calls_today_counts_accepts_per_utc_day,
    answers_by_others_and_about_unknown_things_are_refused,
    states_for_lists_every_speaker_with_live_state,
    a_lost_nodes_offers_are_freed_once_and_its_calls_ended,
    a_renewed_lease_is_never_swept_and_a_swept_node_hears_it,
    call_records_open_once_and_end_once,
    engagements_show_offer_call_node_and_lease,
    an_administrator_frees_interpreters_and_ends_calls_audited,
    node_summaries_are_replaced_and_run_out,
);

fn iid(s: &str) -> InterpreterId {
    InterpreterId::parse(s).expect("interpreter id")
}

fn oid(s: &str) -> OfferId {
    OfferId::parse(s).expect("offer id")
}

fn profile(id: &str, langs: &[&str]) -> InterpreterProfile {
    langs
        .iter()
        .fold(interpreter(id), |p, l| p.speaks(l, Level::Professional))
        .build()
}

/// Registers `id` speaking `langs`, present and available since `now`.
async fn ready(p: &Pool, id: &str, langs: &[&str], now: Millis) {
    p.upsert(&profile(id, langs)).await.expect("upsert");
    p.heartbeat(&iid(id), now).await.expect("heartbeat");
    p.set_availability(&iid(id), Availability::Available, now)
        .await
        .expect("available");
}

fn request(offer: &str, language: &str, candidates: &[&str], now: Millis) -> ClaimRequest {
    ClaimRequest {
        offer_id: oid(offer),
        node: NODE,
        call_id: CallId::parse(&format!("call-{offer}")).expect("call id"),
        language: lang(language),
        candidates: candidates.iter().map(|c| iid(c)).collect(),
        now,
        deadline: now + RING_MS,
        presence_ttl_ms: TTL_MS,
    }
}

/// Claims and returns who got the offer (`None` = nobody eligible).
async fn claim(
    p: &Pool,
    offer: &str,
    language: &str,
    candidates: &[&str],
    now: Millis,
) -> Option<String> {
    p.claim(&request(offer, language, candidates, now))
        .await
        .expect("claim")
        .map(|o| o.interpreter.to_string())
}

async fn status(p: &Pool, id: &str, now: Millis) -> Status {
    p.state(&iid(id), now)
        .await
        .expect("state")
        .expect("known interpreter")
        .status
}

async fn offer_state(p: &Pool, offer: &str) -> OfferState {
    p.offer(&oid(offer))
        .await
        .expect("offer")
        .expect("known offer")
        .1
}

// --- Redis only: how the store keeps what the contract leaves to each implementation ----------

#[tokio::test]
async fn redis_gives_ended_offers_a_day_to_live_and_pending_ones_none() {
    use hotline_bridge::pool::keys::Keys;
    use hotline_bridge::pool::ENDED_OFFER_KEPT_MS;
    let f = redis();
    let p = f.pool.clone();
    ready(&p, "a", &["pt"], T0).await;
    claim(&p, "o1", "pt", &["a"], T0).await.expect("claimed");
    let url = f._redis.as_ref().expect("server").url();
    let mut raw = redis::Client::open(url.as_str())
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let key = Keys::new("contract").offer(&oid("o1"));
    let pttl = redis::cmd("PTTL").arg(&key).to_owned();
    let pending: i64 = pttl.query_async(&mut raw).await.expect("pttl");
    assert_eq!(pending, -1, "a pending offer does not expire");
    p.respond(&oid("o1"), &iid("a"), false, T0 + 1)
        .await
        .expect("decline");
    let left: i64 = pttl.query_async(&mut raw).await.expect("pttl");
    let kept = ENDED_OFFER_KEPT_MS as i64;
    assert!(left > kept - 60_000 && left <= kept, "PTTL {left}");
}
