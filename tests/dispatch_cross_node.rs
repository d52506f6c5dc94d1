//! A call's signalling and media stay on the call's node, also for an interpreter whose console is
//! connected to another node (two app instances on one real redis-server, real WebSockets, real
//! media). The interpreter, signed in on node B only, accepts a call living on node A: `invited`
//! names node A's WebSocket URL, the interpreter enters the call over a second session there while
//! rings and presence stay on node B, and caller, operator and interpreter hear each other. When
//! the interpreter leaves, or that second session drops, node A releases them exactly once and
//! node B's console sees wrap-up, then available (a dropped session also brings a replacement);
//! node A closes that second session once the interpreter is out of the call.
//! A console reopened on node B while its interpreter holds a call on node A is invited back into
//! it. A session for one call (an interpreter's `hello` with a `call_id`) takes no rings and keeps
//! no presence.
use crate::common;

use common::dispatch::{
    add_interpreter, answered_call, app_on, bot_options, bot_with, call_view, hears_more,
    join_media, on_request_settings, progress, AnsweredCall, WAIT,
};
use common::fixtures::lang;
use common::redis::TestRedis;
use common::ws::WsClient;
use common::TestApp;
use hotline_bridge::api::messages::CallState;
use hotline_bridge::domain::EventKind;
use hotline_bridge::domain::{InterpreterId, Level, Role};
use hotline_bridge::drivers::clock::now_ms;
use hotline_bridge::pool::Status;
use hotline_bridge::sfu::peer::PeerConfig;
use hotline_bridge::testkit::interpreter_bot::{Answer, BotCommand, BotEvent, InterpreterBot};
use hotline_bridge::testkit::TestPeer;
use serde_json::{json, Value};

const CALLER_TAG: u32 = 1;
const OPERATOR_TAG: u32 = 2;
const INTERPRETER_TAG: u32 = 3;
const REPLACEMENT_TAG: u32 = 4;

fn settings() -> hotline_bridge::config::Settings {
    let mut s = on_request_settings();
    s.dispatch.ring_timeout_s = 5;
    s.dispatch.wrap_up_s = 1;
    // A dropped call session is given up after one second (the production default is 30 s).
    s.calls.reconnect_grace_s = 1;
    s
}

/// The next event of `kind` over the console's session (`call_socket` false) or the call's.
async fn next(bot: &mut InterpreterBot, kind: &str, call_socket: bool) -> Value {
    bot.wait(WAIT, |e: &BotEvent| {
        e.kind() == kind && e.call_socket == call_socket
    })
    .await
    .unwrap_or_else(|| panic!("no {kind} (call socket: {call_socket}) within {WAIT:?}"))
    .msg
}

/// A call on node A (caller and operator with media) whose operator asks for an interpreter, and
/// the interpreter `id`, signed in on node B only, accepting and joining it with media.
struct CrossNodeCall {
    call: AnsweredCall,
    caller: TestPeer,
    operator: TestPeer,
    interpreter: TestPeer,
}

async fn cross_node_call(
    a: &TestApp,
    b: &TestApp,
    bot: &mut InterpreterBot,
    id: &str,
) -> CrossNodeCall {
    let config = PeerConfig::new().expect("peer config");
    let mut call = answered_call(a, "fr").await;
    let caller = join_media(&mut call.caller, &config, CALLER_TAG).await;
    let operator = join_media(&mut call.operator, &config, OPERATOR_TAG).await;
    call.operator
        .send(json!({"type": "request_interpreter"}))
        .await;
    let accepted = progress(&mut call.operator, "accepted").await;
    assert_eq!(accepted["progress"]["interpreter"], id);

    // Node B's console is told where the call lives …
    let invited = next(bot, "invited", false).await;
    assert_eq!(invited["call_id"], call.call_id.as_str());
    assert_eq!(invited["ws_url"], format!("ws://{}/ws", a.addr));
    // … and the interpreter enters it over a session on node A.
    let joined = next(bot, "joined", true).await;
    assert_eq!(joined["call_id"], call.call_id.as_str());
    let view = call_view(a, &call.call_id).await;
    assert_eq!(view.state, CallState::Interpreted);
    // Rings and presence stay with node B's console; node A holds no console for them.
    let iid = InterpreterId::parse(id).expect("id");
    assert!(b.state.dispatch.consoles().is_connected(&iid));
    assert!(!a.state.dispatch.consoles().is_connected(&iid));

    let interpreter = loop {
        if let Some(p) = bot.peer.lock().await.take() {
            break p;
        }
        next(bot, "answer", true).await;
    };
    assert!(
        interpreter.wait_connected(WAIT).await,
        "the interpreter's media"
    );
    CrossNodeCall {
        call,
        caller,
        operator,
        interpreter,
    }
}

/// Node B's console sees wrap-up once, then available; the pool agrees, and node A recorded one
/// release of `id` for `call_id`.
async fn released_once(a: &TestApp, bot: &mut InterpreterBot, id: &str, call_id: &str) {
    let mut wrap_ups = 0;
    loop {
        let e = bot
            .wait(WAIT, |e| !e.call_socket && e.kind() == "interpreter_status")
            .await
            .expect("node B's console hears the interpreter's status");
        match e.msg["status"].as_str() {
            Some("wrap_up") => wrap_ups += 1,
            Some("available") if wrap_ups > 0 => break,
            Some("busy") | Some("available") => {}
            other => panic!("unexpected status {other:?}"),
        }
    }
    assert_eq!(wrap_ups, 1, "one wrap-up on node B's console");
    let states = a
        .state
        .pool
        .states_for(lang("fr"), now_ms())
        .await
        .expect("states");
    let me = states
        .iter()
        .find(|s| s.id.as_str() == id)
        .expect("the interpreter's state");
    assert_eq!(me.status, Status::Available, "{me:?}");
    assert!(me.offer.is_none(), "{me:?}");
    let releases = a
        .state
        .pool
        .recent_events(1000)
        .await
        .expect("events")
        .into_iter()
        .filter(|e| {
            e.kind == EventKind::Release
                && e.call_id.as_ref().is_some_and(|c| c.as_str() == call_id)
                && e.interpreter.as_ref().is_some_and(|i| i.as_str() == id)
        })
        .count();
    assert_eq!(releases, 1, "released once");
}

/// Caller and operator are still in the live call on node A, without an interpreter.
async fn still_live_without_interpreter(app: &TestApp, call_id: &str) {
    let view = call_view(app, call_id).await;
    assert_eq!(view.state, CallState::Answered);
    let roles: Vec<Role> = view.participants.iter().map(|p| p.role).collect();
    assert!(roles.contains(&Role::Caller), "{roles:?}");
    assert!(roles.contains(&Role::Operator), "{roles:?}");
    assert!(!roles.contains(&Role::Interpreter), "{roles:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interpreter_on_node_b_joins_a_call_on_node_a_then_leaves_it() {
    let redis = TestRedis::start();
    let a = app_on(&redis, settings()).await;
    let b = app_on(&redis, settings()).await;
    let token = add_interpreter(&a, "li-na", &["fr"], Level::Professional).await;
    let mut bot = bot_with(&b, &token, Answer::Accept, INTERPRETER_TAG, true).await;

    let x = cross_node_call(&a, &b, &mut bot, "li-na").await;
    hears_more(&x.caller, &[OPERATOR_TAG, INTERPRETER_TAG], "the caller").await;
    hears_more(&x.operator, &[CALLER_TAG, INTERPRETER_TAG], "the operator").await;
    hears_more(
        &x.interpreter,
        &[CALLER_TAG, OPERATOR_TAG],
        "the interpreter",
    )
    .await;

    bot.send(json!({"type": "leave_call"}));
    let left = next(&mut bot, "left", true).await;
    assert_eq!(left["call_id"], x.call.call_id.as_str());
    // Node A closes the session it opened for this call: nothing is left for it to do.
    next(&mut bot, "closed", true).await;
    released_once(&a, &mut bot, "li-na", &x.call.call_id).await;
    still_live_without_interpreter(&a, &x.call.call_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_call_session_on_node_a_releases_the_interpreter_and_brings_a_replacement() {
    let redis = TestRedis::start();
    let a = app_on(&redis, settings()).await;
    let b = app_on(&redis, settings()).await;
    // The native speaker is ranked first; the professional (on node A) is the replacement.
    let t1 = add_interpreter(&a, "li-na", &["fr"], Level::Native).await;
    let t2 = add_interpreter(&a, "second", &["fr"], Level::Professional).await;
    let mut bot = bot_with(&b, &t1, Answer::Accept, INTERPRETER_TAG, true).await;
    let mut x = cross_node_call(&a, &b, &mut bot, "li-na").await;
    let mut second = bot_with(&a, &t2, Answer::Accept, REPLACEMENT_TAG, false).await;

    // The session on node A drops without a word; node B's console stays.
    let _ = bot.commands.send(BotCommand::DropCall);
    let replace = progress(&mut x.call.operator, "replacement_requested").await;
    assert_eq!(replace["progress"]["lost"], "li-na");
    released_once(&a, &mut bot, "li-na", &x.call.call_id).await;
    let ring = second
        .wait_kind("ring", WAIT)
        .await
        .expect("the replacement is rung");
    assert_eq!(ring.msg["call_id"], x.call.call_id.as_str());
    // The replacement's console is on node A: it joins over that session, with no `ws_url`.
    let invited = second
        .wait_kind("invited", WAIT)
        .await
        .expect("the replacement is invited");
    assert!(invited.msg.get("ws_url").is_none(), "{}", invited.msg);
    let joined = second
        .wait_kind("joined", WAIT)
        .await
        .expect("the replacement joins");
    assert!(!joined.call_socket);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_for_one_call_takes_no_rings_and_keeps_no_presence() {
    let redis = TestRedis::start();
    let a = app_on(&redis, settings()).await;
    let token = add_interpreter(&a, "li-na", &["fr"], Level::Professional).await;
    let mut call = answered_call(&a, "fr").await;
    let mut s = WsClient::connect(a.addr).await;
    s.send(json!({"type": "hello", "token": token, "call_id": call.call_id}))
        .await;
    let welcome = s.wait_for("welcome").await;
    assert_eq!(welcome["role"], "interpreter");
    assert_eq!(welcome["call_id"], call.call_id.as_str());
    let iid = InterpreterId::parse("li-na").expect("id");
    assert!(!a.state.dispatch.consoles().is_connected(&iid));
    s.send(json!({"type": "set_availability", "availability": "available"}))
        .await;
    assert_eq!(s.error_code().await, "forbidden");
    // Pings keep the session, not the interpreter's presence: still offline in the pool.
    s.send(json!({"type": "ping", "nonce": 1})).await;
    s.wait_for("pong").await;
    let states = a
        .state
        .pool
        .states_for(lang("fr"), now_ms())
        .await
        .expect("states");
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].status, Status::Offline, "{:?}", states[0]);
    // Not invited into this call: it may not be entered.
    s.send(json!({"type": "join_call", "call_id": call.call_id}))
        .await;
    assert_eq!(s.error_code().await, "forbidden");
    // A wrong token with a call id is still refused.
    let mut t = WsClient::connect(a.addr).await;
    t.send(json!({"type": "hello", "token": "li-na.wrong", "call_id": call.call_id}))
        .await;
    assert_eq!(t.error_code().await, "unauthorized");
    call.operator.send(json!({"type": "hang_up"})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_reopened_on_node_b_is_invited_back_into_its_call_on_node_a() {
    let redis = TestRedis::start();
    let mut s = settings();
    // Long enough for the console to come back before the interpreter is given up.
    s.calls.reconnect_grace_s = 30;
    let a = app_on(&redis, s.clone()).await;
    let b = app_on(&redis, s).await;
    let token = add_interpreter(&a, "li-na", &["fr"], Level::Professional).await;
    let mut bot = bot_with(&b, &token, Answer::Accept, INTERPRETER_TAG, true).await;
    let x = cross_node_call(&a, &b, &mut bot, "li-na").await;

    // The page is closed (console, call session and media gone at once) and opened again.
    let _ = bot.commands.send(BotCommand::Vanish);
    drop(x.interpreter);
    let options = bot_options(b.addr, &token, Answer::Accept, REPLACEMENT_TAG, true);
    let mut again = InterpreterBot::start(options)
        .await
        .expect("the console signs in again");
    let invited = next(&mut again, "invited", false).await;
    assert_eq!(invited["call_id"], x.call.call_id.as_str());
    assert_eq!(invited["ws_url"], format!("ws://{}/ws", a.addr));
    next(&mut again, "joined", true).await;
    let peer = loop {
        if let Some(p) = again.peer.lock().await.take() {
            break p;
        }
        next(&mut again, "answer", true).await;
    };
    assert!(peer.wait_connected(WAIT).await, "the interpreter's media");
    hears_more(&x.caller, &[OPERATOR_TAG, REPLACEMENT_TAG], "the caller").await;
    hears_more(&peer, &[CALLER_TAG, OPERATOR_TAG], "the interpreter").await;
    let view = call_view(&a, &x.call.call_id).await;
    assert_eq!(view.state, CallState::Interpreted);
    // The same interpreter, not a replacement.
    let events = a.state.pool.recent_events(1000).await.expect("events");
    assert!(
        !events.iter().any(|e| e.kind == EventKind::Replace),
        "{:?}",
        events.iter().map(|e| &e.kind).collect::<Vec<_>>()
    );
}
