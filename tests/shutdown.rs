//! SIGTERM to a real `hotline-bridge` process with a call in progress (caller, operator and an
//! interpreter who accepted, real WebRTC media over UDP, a real redis-server): readiness goes 503
//! and new calls are refused at once, the pages are told, and the call's audio keeps flowing
//! while the node drains. When the call hangs up (or the drain time passes, or a second SIGTERM
//! comes) the process exits 0 and the pool in Redis holds nothing of it: the interpreter is
//! neither busy nor offered, no offer is pending, and the release is in the audit stream; the
//! call, its legs and its accepted offer are in the node's record (an SQLite file).
use crate::common;

use common::dispatch::{available_bot, bot_options, hears_more, join_media};
use common::fixtures::interpreter;
use common::node::Node;
use common::redis::TestRedis;
use common::ws::{answer, caller_in_call, create_call, operator_login, operator_session, WsClient};
use hotline_bridge::domain::{CallId, InterpreterId, LegMedia, Level, OfferOutcome, Role};
use hotline_bridge::drivers::clock::now_ms;
use hotline_bridge::pool::{InterpreterPool, RedisPool, Status, NODE_LOST};
use hotline_bridge::sfu::peer::PeerConfig;
use hotline_bridge::store::{RecordStore, SqlStore};
use hotline_bridge::testkit::interpreter_bot::{Answer, InterpreterBot};
use hotline_bridge::testkit::TestPeer;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);
/// How long the node may take to exit once nothing holds it (a failure bound, not a goal).
const EXIT_WAIT: Duration = Duration::from_secs(40);
const INTERPRETER: &str = "bfsu-pt-01";

/// A call in progress on `node`: caller, operator and interpreter bot all sending audio.
struct Call {
    id: CallId,
    caller_ws: WsClient,
    caller: TestPeer,
    operator_ws: WsClient,
    operator: TestPeer,
    _bot: InterpreterBot,
}

fn pool(redis: &TestRedis, prefix: &str) -> RedisPool {
    let mut s = common::test_settings();
    s.redis.url = redis.url();
    s.redis.key_prefix = prefix.into();
    RedisPool::open(&s.redis).expect("redis pool")
}

/// Registers interpreter `id` of `language` with a personal token; returns the token.
async fn register(pool: &RedisPool, id: &str, language: &str) -> String {
    let token = format!("{id}.personal-secret");
    let profile = interpreter(id)
        .speaks(language, Level::Native)
        .always_on_shift()
        .token(&token);
    pool.upsert(&profile.build()).await.expect("upsert");
    token
}

/// A bot with media signed in on `node` with `token`, accepting; returns once it is available.
async fn accepting_bot(node: &Node, token: &str, tag: u32) -> InterpreterBot {
    available_bot(
        bot_options(node.addr, token, Answer::Accept, tag, true),
        WAIT,
    )
    .await
}

/// `INTERPRETER` (registered) signs in and accepts a call in Portuguese.
async fn call_in_progress(node: &Node, pool: &RedisPool) -> Call {
    let token = register(pool, INTERPRETER, "pt").await;
    let bot = accepting_bot(node, &token, 3).await;

    let config = PeerConfig::new().expect("peer config");
    let base = node.url("");
    let (call_id, token, _) = create_call(&base, json!({"chosen": "pt"})).await;
    let mut caller_ws = caller_in_call(node.addr, &call_id, &token).await;
    let caller = join_media(&mut caller_ws, &config, 1).await;

    let op_token = operator_login(&base).await;
    let mut operator_ws = operator_session(node.addr, &op_token).await;
    answer(&mut operator_ws, &call_id).await;
    let operator = join_media(&mut operator_ws, &config, 2).await;
    // Pre-dispatch may already have rung the interpreter; asking again is then a no-op.
    operator_ws
        .send(json!({"type": "request_interpreter", "language": "pt"}))
        .await;
    hears_more(&caller, &[2, 3], "caller").await;
    hears_more(&operator, &[1, 3], "operator").await;
    Call {
        id: CallId::parse(&call_id).expect("call id"),
        caller_ws,
        caller,
        operator_ws,
        operator,
        _bot: bot,
    }
}

/// Polls `/readyz` until it answers 503; returns its body.
async fn readyz_unavailable(node: &Node) -> Value {
    let deadline = Instant::now() + WAIT;
    let client = reqwest::Client::new();
    loop {
        let r = client
            .get(node.url("/readyz"))
            .send()
            .await
            .expect("readyz answers while draining");
        if r.status() == 503 {
            return r.json().await.expect("json");
        }
        assert!(
            Instant::now() < deadline,
            "/readyz still {} after SIGTERM",
            r.status()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The next `draining` message on `ws`, skipping audio levels and the like.
async fn draining_message(ws: &mut WsClient) -> Value {
    ws.wait_for("draining").await
}

/// Nothing of the node is left in the pool: the interpreter is neither busy nor offered and
/// holds no offer, no offer is pending anywhere, and the release was recorded.
async fn assert_pool_clean(redis: &TestRedis, pool: &RedisPool, prefix: &str, call: &CallId) {
    let iid = InterpreterId::parse(INTERPRETER).expect("id");
    let s = pool
        .state(&iid, now_ms())
        .await
        .expect("state")
        .expect("interpreter");
    assert!(
        !matches!(s.status, Status::Busy | Status::Offered),
        "interpreter still {:?}",
        s.status
    );
    assert_eq!(s.offer, None, "interpreter still holds an offer");
    assert_eq!(s.call, None, "interpreter still in a call");
    let mut conn = redis::Client::open(redis.url())
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let pending: usize = redis::cmd("ZCARD")
        .arg(format!("{{{prefix}}}:deadlines"))
        .query_async(&mut conn)
        .await
        .expect("zcard");
    assert_eq!(pending, 0, "offers still pending");
    // The call's record is closed by the node itself, not left for another node's sweep.
    let record = pool
        .call_record(call)
        .await
        .expect("call record")
        .expect("the call was recorded");
    assert!(record.ended.is_some(), "call record left open: {record:?}");
    assert_ne!(record.why, NODE_LOST, "{record:?}");
    let events = pool.recent_events(1000).await.expect("events");
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"release"), "no release recorded: {kinds:?}");
    assert!(
        kinds.contains(&"call_ended"),
        "no call end recorded: {kinds:?}"
    );
}

/// The call reached the node's record before it exited: its three legs with their browsers and
/// the interpreter, and the accepted offer.
async fn assert_recorded(node: &Node, call: &CallId) {
    let store = SqlStore::open(&node.record).expect("the node's record");
    let h = store
        .call(call)
        .await
        .expect("read the record")
        .expect("the call is in the record");
    let c = h.call.expect("the call's end is in the record");
    let legs: Vec<_> = c
        .legs
        .iter()
        .map(|l| {
            (
                l.role,
                l.media,
                l.interpreter.as_ref().map(|i| i.to_string()),
            )
        })
        .collect();
    assert_eq!(
        legs,
        vec![
            (Role::Caller, LegMedia::Browser, None),
            (Role::Operator, LegMedia::Browser, None),
            (
                Role::Interpreter,
                LegMedia::Browser,
                Some(INTERPRETER.into())
            ),
        ]
    );
    assert!(
        h.offers
            .iter()
            .any(|o| o.interpreter.as_str() == INTERPRETER
                && o.outcome == Some(OfferOutcome::Accepted)),
        "{:?}",
        h.offers
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_call_drains_until_the_call_hangs_up_then_exits_0_with_the_pool_clean() {
    let redis = TestRedis::start();
    let prefix = "drain-hangup";
    let mut node = Node::start(&redis, prefix, &[("HOTLINE__SERVER__DRAIN_S", "120")]);
    node.wait_ready().await;
    let pool = pool(&redis, prefix);
    // Free, with their console on this node: nobody may ring them once the node drains.
    // Both are registered before either signs in: the dispatcher's directory of profiles is
    // refreshed at most every 10 s.
    let idle_token = register(&pool, "bfsu-fr-01", "fr").await;
    register(&pool, INTERPRETER, "pt").await;
    let mut idle = accepting_bot(&node, &idle_token, 4).await;
    let mut call = call_in_progress(&node, &pool).await;

    node.signal("TERM");
    let ready = readyz_unavailable(&node).await;
    assert_eq!(ready["error"]["code"], "draining", "{ready}");
    let r = reqwest::Client::new()
        .post(node.url("/api/calls"))
        .json(&json!({"chosen": "pt"}))
        .send()
        .await
        .expect("create call while draining");
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "draining", "{body}");
    let told = draining_message(&mut call.operator_ws).await;
    assert!(told["deadline"].as_u64() > told["now"].as_u64(), "{told}");
    draining_message(&mut call.caller_ws).await;

    // The call goes on while the node drains: everyone still hears the others.
    hears_more(&call.caller, &[2, 3], "caller while draining").await;
    hears_more(&call.operator, &[1, 3], "operator while draining").await;
    assert!(node.running(), "the node waits for the call in progress");
    idle.wait(WAIT, |e| {
        e.kind() == "interpreter_status" && e.msg["status"] == "offline"
    })
    .await
    .expect("the free interpreter on this node is taken offline");
    let fr = InterpreterId::parse("bfsu-fr-01").expect("id");
    let s = pool.state(&fr, now_ms()).await.expect("state").expect("fr");
    assert_eq!(
        s.status,
        Status::Offline,
        "a free console here is not offered calls"
    );

    call.operator_ws.send(json!({"type": "hang_up"})).await;
    let status = node.wait_exit(EXIT_WAIT).await;
    assert_eq!(
        status.code(),
        Some(0),
        "exit status {status}:\n{}",
        node.log()
    );
    assert_pool_clean(&redis, &pool, prefix, &call.id).await;
    assert_recorded(&node, &call.id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_drain_s_passes_the_call_is_ended_its_interpreter_released_and_the_node_exits_0() {
    let redis = TestRedis::start();
    let prefix = "drain-deadline";
    let mut node = Node::start(&redis, prefix, &[("HOTLINE__SERVER__DRAIN_S", "3")]);
    node.wait_ready().await;
    let pool = pool(&redis, prefix);
    let mut call = call_in_progress(&node, &pool).await;

    node.signal("TERM");
    readyz_unavailable(&node).await;
    hears_more(&call.caller, &[2, 3], "caller while draining").await;
    // Nobody hangs up: the node ends the call when the drain time has passed.
    let left = call.caller_ws.wait_for("left").await;
    assert_eq!(left["type"], "left");
    let status = node.wait_exit(EXIT_WAIT).await;
    assert_eq!(
        status.code(),
        Some(0),
        "exit status {status}:\n{}",
        node.log()
    );
    assert_pool_clean(&redis, &pool, prefix, &call.id).await;
    assert_recorded(&node, &call.id).await;
    let id = call.id.clone();
    drop(call);
    // Written to a file, not a terminal: plain text with its fields, no colour codes.
    let log = node.log();
    assert!(
        !log.contains('\u{1b}'),
        "ANSI escapes in a log file:\n{log}"
    );
    assert!(log.contains(&format!("call_id={id}")), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigterm_ends_the_calls_at_once_and_still_cleans_the_pool() {
    let redis = TestRedis::start();
    let prefix = "drain-twice";
    // A drain far longer than the test's patience: only the second signal can end it in time.
    let mut node = Node::start(&redis, prefix, &[("HOTLINE__SERVER__DRAIN_S", "3600")]);
    node.wait_ready().await;
    let pool = pool(&redis, prefix);
    let mut call = call_in_progress(&node, &pool).await;

    node.signal("TERM");
    readyz_unavailable(&node).await;
    draining_message(&mut call.operator_ws).await;
    node.signal("TERM");
    let status = node.wait_exit(EXIT_WAIT).await;
    assert_eq!(
        status.code(),
        Some(0),
        "exit status {status}:\n{}",
        node.log()
    );
    assert_pool_clean(&redis, &pool, prefix, &call.id).await;
}
