//! A node that dies holding interpreters frees them, with nobody's help: the real `hotline-bridge`
//! binary on a real redis-server holds an interpreter on a call (accepted offer), is killed with
//! SIGKILL, and a second node on the same Redis makes the interpreter available again within the
//! lease time, audits why, ends the call (its caller, back on the second node, is told so), and
//! the interpreter is then booked once, on the second node. And a live node, renewing its lease,
//! is never swept, however many sweeps run.

use crate::common;

use common::dispatch::{
    answered_call, app_on, available_bot, bot, bot_options, dispatch_settings, expect, progress,
    WAIT,
};
use common::fixtures::interpreter;
use common::metrics::{sample, scrape};
use common::process::NodeProcess;
use common::redis::TestRedis;
use common::ws::{answer, caller_in_call, create_call, operator_login, operator_session, WsClient};
use hotline_bridge::config::Settings;
use hotline_bridge::domain::EventKind;
use hotline_bridge::domain::{InterpreterId, Level, NodeId};
use hotline_bridge::drivers::clock::now_ms;
use hotline_bridge::pool::{InterpreterPool, OfferState, RedisPool, Status, NODE_LOST};
use hotline_bridge::testkit::interpreter_bot::Answer;
use serde_json::json;
use std::time::Duration;

const LEASE_TTL_MS: u64 = 2_000;
const LEASE_RENEW_MS: u64 = 500;
const SWEEP_EVERY_MS: u64 = 500;
/// The target: every interpreter a killed node held is available within 30 s.
const RECOVERED_WITHIN: Duration = Duration::from_secs(30);
const INTERPRETER: &str = "li-na";

fn fast_leases(mut s: Settings) -> Settings {
    s.node.lease_ttl_ms = LEASE_TTL_MS;
    s.node.lease_renew_ms = LEASE_RENEW_MS;
    s.node.sweep_every_ms = SWEEP_EVERY_MS;
    s.dispatch.predispatch = false;
    s
}

fn pool_of(redis: &TestRedis) -> RedisPool {
    let mut s = common::test_settings().redis;
    s.url = redis.url();
    RedisPool::open(&s).expect("pool")
}

fn iid() -> InterpreterId {
    InterpreterId::parse(INTERPRETER).expect("id")
}

/// Registers the Portuguese interpreter in the pool; returns their personal token.
async fn register(pool: &RedisPool) -> String {
    let token = format!("{INTERPRETER}.secret");
    let li = interpreter(INTERPRETER)
        .name("Li Na")
        .speaks("pt", Level::Native)
        .always_on_shift()
        .token(&token);
    pool.upsert(&li.build()).await.expect("upsert");
    token
}

/// Polls the pool until the interpreter has `status`, up to `within`.
async fn wait_status(pool: &RedisPool, status: Status, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let now = now_ms();
        if let Ok(Some(s)) = pool.state(&iid(), now).await {
            if s.status == status {
                return true;
            }
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_frees_its_interpreter_within_the_lease_time() {
    let redis = TestRedis::start();
    let pool = pool_of(&redis);
    let token = register(&pool).await;
    let ms = |v: u64| v.to_string();
    let mut a = NodeProcess::start(
        &redis,
        &[
            ("HOTLINE__NODE__LEASE_TTL_MS", &ms(LEASE_TTL_MS)),
            ("HOTLINE__NODE__LEASE_RENEW_MS", &ms(LEASE_RENEW_MS)),
            ("HOTLINE__NODE__SWEEP_EVERY_MS", &ms(SWEEP_EVERY_MS)),
            ("HOTLINE__DISPATCH__PREDISPATCH", "false"),
        ],
    )
    .await;

    // On node A: a caller, an operator who answers and asks for an interpreter, who accepts.
    let _li = available_bot(bot_options(a.addr, &token, Answer::Accept, 7, false), WAIT).await;
    let base = a.url("");
    let (call_id, caller_token, _) = create_call(&base, json!({"chosen": "pt"})).await;
    let _caller = caller_in_call(a.addr, &call_id, &caller_token).await;
    let op_token = operator_login(&base).await;
    let mut operator = operator_session(a.addr, &op_token).await;
    answer(&mut operator, &call_id).await;
    operator.send(json!({"type": "request_interpreter"})).await;
    progress(&mut operator, "accepted").await;
    assert!(
        wait_status(&pool, Status::Busy, WAIT).await,
        "li-na is busy on A"
    );
    let held = pool
        .state(&iid(), now_ms())
        .await
        .expect("state")
        .expect("known");
    let old_offer = held.offer.expect("the accepted offer");

    // A second node on the same Redis, then A dies without a word.
    let b = app_on(&redis, fast_leases(dispatch_settings())).await;
    a.kill();
    let killed = tokio::time::Instant::now();
    assert!(
        wait_status(&pool, Status::Available, RECOVERED_WITHIN).await,
        "li-na is still not available {RECOVERED_WITHIN:?} after node A was killed"
    );
    eprintln!(
        "available again {} ms after kill -9 (lease {LEASE_TTL_MS} ms, sweep every {SWEEP_EVERY_MS} ms)",
        killed.elapsed().as_millis()
    );

    // Why, in the audit stream: once for the interpreter, once for the call.
    let events = pool.recent_events(200).await.expect("events");
    let lost: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::NodeLost)
        .collect();
    assert_eq!(lost.len(), 2, "{lost:?}");
    let freed = lost
        .iter()
        .find(|e| e.interpreter == Some(iid()))
        .expect("a node_lost event for li-na");
    assert_eq!(freed.offer_id.as_ref(), Some(&old_offer));
    assert_eq!(
        freed.call_id.as_ref().map(|c| c.as_str()),
        Some(call_id.as_str())
    );
    assert!(freed.detail.contains(&a.node), "{}", freed.detail);
    assert_eq!(
        pool.offer(&old_offer).await.expect("offer").map(|o| o.1),
        Some(OfferState::Released)
    );
    let a_node = NodeId::parse(&a.node).expect("node id");
    assert!(pool
        .leases()
        .await
        .expect("leases")
        .iter()
        .all(|l| l.node != a_node));
    // Counted where operators look.
    let metrics = scrape(b.url("/metrics")).await;
    assert!(
        sample(
            &metrics,
            "hotline_node_recoveries_total",
            &[("what", "offer")]
        )
        .is_some(),
        "no recovered offer in /metrics"
    );
    // Exactly once: another sweep finds nothing.
    assert_eq!(pool.sweep_lost(now_ms()).await.expect("sweep"), vec![]);

    // The caller, back on node B, hears the call ended (and may call again).
    let call = hotline_bridge::domain::CallId::parse(&call_id).expect("call id");
    let record = pool
        .call_record(&call)
        .await
        .expect("record")
        .expect("known");
    assert_eq!(record.why, NODE_LOST);
    let mut back = WsClient::connect(b.addr).await;
    back.send(json!({"type": "hello", "token": caller_token, "call_id": call_id}))
        .await;
    let err = back.wait_for("error").await;
    assert_eq!(err["code"], "not_found", "{err}");
    assert!(
        err["message"].as_str().unwrap_or("").contains("call again"),
        "{err}"
    );

    // No double booking: li-na, back on node B, takes one new call there, and only that one.
    let mut li = common::dispatch::bot_with(&b, &token, Answer::Accept, 8, false).await;
    let mut second = answered_call(&b, "pt").await;
    second
        .operator
        .send(json!({"type": "request_interpreter"}))
        .await;
    progress(&mut second.operator, "accepted").await;
    expect(&mut li, "invited", "li-na is invited on B").await;
    let engaged = pool.engagements().await.expect("engagements");
    assert_eq!(engaged.len(), 1, "{engaged:?}");
    assert_eq!(engaged[0].interpreter, iid());
    assert_eq!(
        engaged[0].call.as_ref().map(|c| c.as_str()),
        Some(second.call_id.as_str())
    );
    assert_eq!(engaged[0].node, Some(b.state.lease.node()));
    assert_ne!(engaged[0].offer.as_ref(), Some(&old_offer));
    assert!(engaged[0].node_alive(now_ms()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_nodes_lease_is_renewed_and_never_swept() {
    let redis = TestRedis::start();
    let a = app_on(&redis, fast_leases(dispatch_settings())).await;
    // B only sweeps: a renewal A missed would let B take li-na from the call.
    let _b = app_on(&redis, fast_leases(dispatch_settings())).await;
    let pool = pool_of(&redis);
    let token = register(&pool).await;
    let _li = bot(&a, &token, Answer::Accept, 3).await;
    let mut call = answered_call(&a, "pt").await;
    call.operator
        .send(json!({"type": "request_interpreter"}))
        .await;
    progress(&mut call.operator, "accepted").await;
    assert!(wait_status(&pool, Status::Busy, WAIT).await);

    // Five lease lifetimes, ten sweeps each, by both nodes: li-na stays on the call throughout
    // and A's lease keeps moving on.
    let first = a.state.lease.expires_at().expect("lease held");
    let until = tokio::time::Instant::now() + Duration::from_millis(5 * LEASE_TTL_MS);
    while tokio::time::Instant::now() < until {
        let st = pool
            .state(&iid(), now_ms())
            .await
            .expect("state")
            .expect("known");
        assert_eq!(
            st.status,
            Status::Busy,
            "li-na was taken from a live node's call"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let later = a.state.lease.expires_at().expect("lease held");
    assert!(later > first, "lease not renewed: {first} → {later}");
    let events = pool.recent_events(500).await.expect("events");
    assert!(
        events.iter().all(|e| e.kind != EventKind::NodeLost),
        "{events:?}"
    );
    let leases = pool.leases().await.expect("leases");
    assert!(leases
        .iter()
        .any(|l| l.node == a.state.lease.node() && l.alive(now_ms())));
}
