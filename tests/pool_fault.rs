//! Redis going away and coming back, on a real redis-server that the test kills and restarts on
//! the same port (empty: nothing is persisted). While it is down every pool operation returns
//! `PoolError::Unavailable` within the configured timeouts plus a margin, nothing panics, and
//! `/readyz` answers 503 with a JSON error; after the restart the same pool (scripts reloaded by
//! themselves) works again and `/readyz` answers 200. The service also starts while Redis is down.

use crate::common;

use common::fixtures::{interpreter, lang};
use common::redis::TestRedis;
use common::{spawn_app, test_settings, TestApp};
use hotline_bridge::app;
use hotline_bridge::config::Settings;
use hotline_bridge::domain::{
    CallId, InterpreterId, InterpreterProfile, Level, Millis, NodeId, OfferId,
};
use hotline_bridge::pool::{
    Availability, ClaimRequest, InterpreterPool, OfferState, PoolError, PoolEvent,
};
use std::future::Future;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const RESPONSE_TIMEOUT_MS: u64 = 300;
const CONNECTION_TIMEOUT_MS: u64 = 300;
/// Slack over the configured timeouts for scheduling on a busy two-core machine.
const MARGIN: Duration = Duration::from_millis(500);
/// How long recovery (or any awaited condition) may take.
const WAIT: Duration = Duration::from_secs(15);
/// The worker's simulated clock, far in the future (2100): the app's own dispatcher shares this
/// Redis and sweeps offers whose deadline is past in real time, which would expire the worker's
/// offers between claim and respond if they lived in the past.
const T0: Millis = 4_102_444_800_000;

const UP: u8 = 0;
const DOWN: u8 = 1;
const BACK: u8 = 2;

fn bound() -> Duration {
    Duration::from_millis(RESPONSE_TIMEOUT_MS + CONNECTION_TIMEOUT_MS) + MARGIN
}

fn settings(url: &str) -> Settings {
    let mut s = test_settings();
    s.redis.url = url.to_owned();
    s.redis.key_prefix = "fault".into();
    s.redis.response_timeout_ms = RESPONSE_TIMEOUT_MS;
    s.redis.connection_timeout_ms = CONNECTION_TIMEOUT_MS;
    s
}

fn iid() -> InterpreterId {
    InterpreterId::parse("fault-pt-1").expect("id")
}

fn profile() -> InterpreterProfile {
    interpreter("fault-pt-1")
        .name("Ana")
        .speaks("pt", Level::Native)
        .build()
}

fn request(offer: &str) -> ClaimRequest {
    ClaimRequest {
        offer_id: OfferId::parse(offer).expect("offer id"),
        node: NodeId::new(1),
        call_id: CallId::parse(&format!("call-{offer}")).expect("call id"),
        language: lang("pt"),
        candidates: vec![iid()],
        now: T0,
        deadline: T0 + 60_000,
        presence_ttl_ms: 60_000,
    }
}

/// Polls `cond` until it holds; panics with `what` after `WAIT`.
async fn wait_until(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn readyz(app: &TestApp) -> (u16, serde_json::Value) {
    let r = reqwest::get(app.url("/readyz")).await.expect("readyz");
    let status = r.status().as_u16();
    (status, r.json().await.expect("readyz json"))
}

/// What one timed operation of the worker did.
#[derive(Debug)]
struct Record {
    phase: u8,
    op: &'static str,
    took: Duration,
    outcome: Result<(), String>,
    unavailable: bool,
}

/// Runs claim → accept → release cycles until cancelled, timing every operation.
async fn worker(
    pool: Arc<dyn InterpreterPool>,
    phase: Arc<AtomicU8>,
    log: Arc<Mutex<Vec<Record>>>,
    stop: CancellationToken,
) {
    async fn timed<T>(
        log: &Mutex<Vec<Record>>,
        phase: &AtomicU8,
        op: &'static str,
        f: impl Future<Output = Result<T, PoolError>>,
    ) -> Option<T> {
        let phase = phase.load(Ordering::SeqCst);
        let start = Instant::now();
        let r = f.await;
        let took = start.elapsed();
        let unavailable = matches!(r, Err(PoolError::Unavailable(_)));
        let (outcome, value) = match r {
            Ok(v) => (Ok(()), Some(v)),
            Err(e) => (Err(e.to_string()), None),
        };
        log.lock().expect("log").push(Record {
            phase,
            op,
            took,
            outcome,
            unavailable,
        });
        value
    }
    let mut n = 0;
    while !stop.is_cancelled() {
        n += 1;
        let (log, ph) = (&*log, &*phase);
        let p = &pool;
        // Redis may have restarted empty: register again every cycle (idempotent).
        timed(log, ph, "upsert", p.upsert(&profile())).await;
        timed(log, ph, "heartbeat", p.heartbeat(&iid(), T0)).await;
        timed(
            log,
            ph,
            "set_availability",
            p.set_availability(&iid(), Availability::Available, T0),
        )
        .await;
        let req = request(&format!("w{n}"));
        if let Some(Some(_)) = timed(log, ph, "claim", p.claim(&req)).await {
            timed(
                log,
                ph,
                "respond",
                p.respond(&req.offer_id, &iid(), true, T0),
            )
            .await;
            timed(log, ph, "release", p.release(&req.offer_id, T0, 0)).await;
        }
        tokio::task::yield_now().await;
    }
}

fn count(log: &Mutex<Vec<Record>>, f: impl Fn(&Record) -> bool) -> usize {
    log.lock().expect("log").iter().filter(|r| f(r)).count()
}

/// Every operation of the trait once, each timed; all must be `Unavailable` within the bound.
async fn every_operation_is_unavailable(pool: &dyn InterpreterPool) -> Duration {
    let offer = OfferId::parse("down").expect("id");
    let event = PoolEvent {
        kind: hotline_bridge::domain::EventKind::Request,
        at: T0,
        call_id: None,
        interpreter: None,
        language: None,
        offer_id: None,
        detail: String::new(),
    };
    let pt = lang("pt");
    let mut worst = Duration::ZERO;
    macro_rules! down {
        ($name:literal, $call:expr) => {{
            let start = Instant::now();
            let r = $call.await;
            let took = start.elapsed();
            worst = worst.max(took);
            assert!(
                matches!(r, Err(PoolError::Unavailable(_))),
                "{}: {:?}",
                $name,
                r.map(|_| ())
            );
            assert!(took <= bound(), "{} took {took:?}", $name);
        }};
    }
    down!("ping", pool.ping());
    down!("upsert", pool.upsert(&profile()));
    down!("remove", pool.remove(&iid()));
    down!("profile", pool.profile(&iid()));
    down!("profiles", pool.profiles());
    down!("heartbeat", pool.heartbeat(&iid(), T0));
    down!(
        "set_availability",
        pool.set_availability(&iid(), Availability::Paused, T0)
    );
    down!("state", pool.state(&iid(), T0));
    down!("states_for", pool.states_for(pt, T0));
    down!("claim", pool.claim(&request("down")));
    down!("respond", pool.respond(&offer, &iid(), true, T0));
    down!("cancel", pool.cancel(&offer, T0));
    down!("release", pool.release(&offer, T0, 0));
    down!("sweep", pool.sweep(T0, 2));
    down!("offer", pool.offer(&offer));
    down!("record", pool.record(&event));
    down!("recent_events", pool.recent_events(10));
    worst
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_dying_mid_run_fails_fast_then_the_same_pool_recovers() {
    let mut server = TestRedis::start();
    let state = app::build_state(settings(&server.url()))
        .await
        .expect("state");
    assert_eq!(state.pool_kind, hotline_bridge::pool::PoolKind::Redis);
    let pool = state.pool.clone();
    let app = spawn_app(state).await;
    assert_eq!(readyz(&app).await.0, 200);

    let phase = Arc::new(AtomicU8::new(UP));
    let log = Arc::new(Mutex::new(Vec::new()));
    let stop = CancellationToken::new();
    let running = tokio::spawn(worker(
        pool.clone(),
        phase.clone(),
        log.clone(),
        stop.clone(),
    ));
    wait_until("cycles while Redis is up", async || {
        count(&log, |r| {
            r.phase == UP && r.op == "release" && r.outcome.is_ok()
        }) >= 3
    })
    .await;

    server.stop();
    phase.store(DOWN, Ordering::SeqCst);
    wait_until("the worker to see Redis down", async || {
        count(&log, |r| r.phase == DOWN && r.unavailable) >= 10
    })
    .await;
    let worst = every_operation_is_unavailable(pool.as_ref()).await;
    let started = Instant::now();
    let (status, body) = readyz(&app).await;
    let readyz_took = started.elapsed();
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["pool"], "redis");
    assert_eq!(body["error"]["code"], "pool_unreachable");
    let message = body["error"]["message"].as_str().expect("message");
    assert!(
        message.contains("unreachable") && message.contains("redis at 127.0.0.1"),
        "{message}"
    );
    assert!(readyz_took <= bound(), "/readyz took {readyz_took:?}");

    server.restart();
    let restarted = Instant::now();
    phase.store(BACK, Ordering::SeqCst);
    wait_until("cycles after the restart", async || {
        count(&log, |r| {
            r.phase == BACK && r.op == "release" && r.outcome.is_ok()
        }) >= 3
    })
    .await;
    let recovered = restarted.elapsed();
    stop.cancel();
    running.await.expect("the worker never panics");
    assert_eq!(readyz(&app).await.0, 200);

    let mut raw = redis::Client::open(server.url().as_str())
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("raw");
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut raw)
        .await
        .expect("info");
    let cached = info
        .lines()
        .find_map(|l| l.strip_prefix("number_of_cached_scripts:"))
        .and_then(|n| n.trim().parse::<u32>().ok())
        .expect("number_of_cached_scripts");
    assert!(
        cached >= 4,
        "the fresh server got the scripts again ({cached})"
    );

    let log = log.lock().expect("log");
    let down: Vec<&Record> = log.iter().filter(|r| r.phase == DOWN).collect();
    let slowest = log.iter().map(|r| r.took).max().unwrap_or_default();
    println!(
        "fault: {} ops up, {} ops while down ({} unavailable), {} ops after restart; slowest op \
         {slowest:?}, slowest of the 17 trait calls while down {worst:?}, /readyz while down \
         {readyz_took:?}, bound {:?}; recovered {recovered:?} after restart; {cached} scripts \
         cached again",
        log.iter().filter(|r| r.phase == UP).count(),
        down.len(),
        down.iter().filter(|r| r.unavailable).count(),
        log.iter().filter(|r| r.phase == BACK).count(),
        bound(),
    );
    for r in log.iter() {
        assert!(r.took <= bound(), "{r:?}");
        if let Err(e) = &r.outcome {
            // Besides Unavailable, only what losing the data explains (a reply lost as Redis
            // died, or an offer made before the restart) may appear; never unreadable data.
            assert!(
                r.unavailable || e.contains("not known") || e.contains("not in the pool"),
                "{r:?}"
            );
        }
    }
}

#[tokio::test]
async fn the_service_starts_while_redis_is_down_and_turns_ready_when_it_is_up() {
    let mut server = TestRedis::start();
    server.stop();
    let state = app::build_state(settings(&server.url()))
        .await
        .expect("state builds without Redis");
    let pool = state.pool.clone();
    let app = spawn_app(state).await;
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "pool_unreachable");
    assert!(matches!(
        pool.claim(&request("early")).await,
        Err(PoolError::Unavailable(_))
    ));

    server.restart();
    wait_until("/readyz 200", async || readyz(&app).await.0 == 200).await;
    pool.upsert(&profile()).await.expect("upsert");
    pool.heartbeat(&iid(), T0).await.expect("heartbeat");
    pool.set_availability(&iid(), Availability::Available, T0)
        .await
        .expect("available");
    let offer = pool
        .claim(&request("o1"))
        .await
        .expect("claim")
        .expect("offer");
    assert_eq!(offer.interpreter, iid());
    assert_eq!(
        pool.respond(&offer.id, &iid(), true, T0)
            .await
            .expect("accept"),
        OfferState::Accepted
    );
}
