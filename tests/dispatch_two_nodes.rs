//! Two nodes, one pool (two app instances on one real redis-server, same key prefix), twenty
//! interpreter bots on real WebSockets, half connected to each node, and 200 interpreter requests
//! fired at once, half on each node. Every accepted call is joined (over a second session to the
//! call's node when the console is on the other one) and hung up as soon as it is joined, so the
//! interpreters cycle through wrap-up and serve the waiting requests of both nodes. Proves: nodes
//! ring, and hear answers from, consoles connected to the other node (the node bus); every
//! accepted call is joined, on its own node; no interpreter is ever rung while it holds a live
//! offer or a call, no call is served twice, every request ends accepted, and afterwards nobody is
//! left offered or busy in the pool.
use crate::common;

use common::dispatch::{add_interpreter, app_on, bot, on_request_settings};
use common::fixtures::{chosen, lang};
use common::redis::TestRedis;
use common::TestApp;
use hotline_bridge::domain::EventKind;
use hotline_bridge::domain::{CallId, Level};
use hotline_bridge::drivers::call::operator_participant;
use hotline_bridge::drivers::clock::now_ms;
use hotline_bridge::drivers::dispatch::DispatchRefused;
use hotline_bridge::engine::dispatch::DispatchError;
use hotline_bridge::pool::Status;
use hotline_bridge::testkit::interpreter_bot::{Answer, BotEvent, InterpreterBot};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tokio::sync::mpsc;

const REQUESTS: usize = 200;
const BOTS: usize = 20;
/// Bots that decline about half their rings (the others accept every ring).
const FICKLE: usize = 4;
/// The whole run; it takes about a dozen seconds.
const RUN_LIMIT: Duration = Duration::from_secs(90);

fn settings() -> hotline_bridge::config::Settings {
    let mut s = on_request_settings();
    s.dispatch.ring_timeout_s = 5;
    s.dispatch.wrap_up_s = 1;
    s.dispatch.escalate_after_s = 600;
    // Calls here have no signalling sessions: keep them alive for the whole run.
    s.calls.reconnect_grace_s = 600;
    s
}

/// What one bot holds, as its console saw it.
#[derive(Default)]
struct Console {
    ringing: HashSet<String>,
    holding: Option<String>,
    /// The held call has been joined.
    joined: bool,
}

/// An answered call on `app` (the operator answered without a session: no media needed).
async fn answered_call(app: &TestApp) -> CallId {
    let (call, _token) = app.state.calls.create(chosen("en"));
    call.answer(operator_participant("wang"), "wang".into())
        .await
        .expect("answer");
    call.id().clone()
}

/// Moves every bot's events into one channel, tagged with the bot's index.
fn merge(bots: &mut [InterpreterBot]) -> mpsc::UnboundedReceiver<(usize, BotEvent)> {
    let (tx, rx) = mpsc::unbounded_channel();
    for (i, b) in bots.iter_mut().enumerate() {
        let (_, empty) = mpsc::unbounded_channel();
        let mut events = std::mem::replace(&mut b.events, empty);
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(e) = events.recv().await {
                if tx.send((i, e)).is_err() {
                    return;
                }
            }
        });
    }
    rx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_serve_200_requests_with_20_interpreters_without_double_booking() {
    let redis = TestRedis::start();
    let nodes = [
        app_on(&redis, settings()).await,
        app_on(&redis, settings()).await,
    ];
    let mut bots = Vec::new();
    let mut bot_node = Vec::new();
    for i in 0..BOTS {
        let id = format!("en-{i:02}");
        let token = add_interpreter(&nodes[0], &id, &["en"], Level::Professional).await;
        let answer = if i < FICKLE {
            Answer::Random(0.5)
        } else {
            Answer::Accept
        };
        bots.push(bot(&nodes[i % 2], &token, answer, 10 + i as u32).await);
        bot_node.push(i % 2);
    }
    let mut events = merge(&mut bots);

    let mut calls: HashMap<String, usize> = HashMap::new();
    let mut ids = Vec::new();
    for i in 0..REQUESTS {
        let node = i % 2;
        let call = answered_call(&nodes[node]).await;
        calls.insert(call.to_string(), node);
        ids.push((node, call));
    }
    let asks = ids.iter().map(|(node, call)| {
        nodes[*node]
            .state
            .dispatch
            .request(call.clone(), lang("en"))
    });
    for r in futures::future::join_all(asks).await {
        r.expect("request taken");
    }

    let mut consoles: Vec<Console> = (0..BOTS).map(|_| Console::default()).collect();
    let mut served: HashMap<String, usize> = HashMap::new();
    let mut rings = 0usize;
    let mut cross_node = [0usize; 2];
    let mut joined = 0usize;
    let deadline = tokio::time::Instant::now() + RUN_LIMIT;
    // Until every call is served and every interpreter is out of its last call.
    while served.len() < REQUESTS || consoles.iter().any(|c| c.holding.is_some()) {
        let (i, e) = match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(x)) => x,
            Ok(None) => panic!("the bots stopped"),
            Err(_) => panic!(
                "after {RUN_LIMIT:?}: {} of {REQUESTS} served, {rings} rings, holding {:?}",
                served.len(),
                consoles.iter().filter(|c| c.holding.is_some()).count()
            ),
        };
        let m: &Value = &e.msg;
        let c = &mut consoles[i];
        match e.kind() {
            "ring" => {
                rings += 1;
                let offer = m["offer_id"].as_str().expect("offer").to_owned();
                assert!(
                    c.ringing.is_empty() && c.holding.is_none(),
                    "en-{i:02} rung for {offer} while ringing {:?} / holding {:?}",
                    c.ringing,
                    c.holding
                );
                c.ringing.insert(offer);
            }
            "offer_ended" => {
                let offer = m["offer_id"].as_str().expect("offer");
                c.ringing.remove(offer);
                if m["reason"] == "accepted" {
                    let call = m["call_id"].as_str().expect("call").to_owned();
                    assert!(c.holding.is_none(), "en-{i:02} holds two calls");
                    if let Some(first) = served.insert(call.clone(), i) {
                        panic!("call {call} served twice: by en-{first:02} and en-{i:02}");
                    }
                    let node = calls[&call];
                    if node != bot_node[i] {
                        cross_node[node] += 1;
                    }
                    c.holding = Some(call);
                    c.joined = false;
                }
            }
            "joined" => {
                let call = m["call_id"].as_str().expect("call").to_owned();
                assert_eq!(c.holding.as_ref(), Some(&call), "en-{i:02} joined {call}");
                assert!(!c.joined, "en-{i:02} joined {call} twice");
                c.joined = true;
                joined += 1;
                let node = calls[&call];
                // A call on the console's own node is joined over the console's session, one on
                // the other node over a session to that node.
                assert_eq!(
                    e.call_socket,
                    node != bot_node[i],
                    "en-{i:02} joined {call}"
                );
                let handle = nodes[node]
                    .state
                    .calls
                    .get(&CallId::parse(&call).expect("id"))
                    .expect("served call is live");
                tokio::spawn(async move {
                    let _ = handle.hang_up().await;
                });
            }
            "error" if m["code"] != "conflict" => panic!("en-{i:02}: {m}"),
            "interpreter_status" if m["status"] == "wrap_up" => {
                // (A second report of the same wrap-up finds nothing held.)
                if c.holding.is_some() {
                    assert!(
                        c.joined,
                        "en-{i:02} released before joining {:?}",
                        c.holding
                    );
                }
                c.holding = None;
                c.joined = false;
            }
            "error" if m["code"] == "conflict" => c.ringing.clear(),
            _ => {}
        }
    }

    assert_eq!(served.len(), REQUESTS);
    assert_eq!(joined, REQUESTS, "every accepted call is joined");
    assert!(rings >= REQUESTS, "{rings} rings");
    // Both nodes served calls with interpreters connected to the other node.
    assert!(
        cross_node.iter().all(|n| *n > 0),
        "cross-node accepts per call node: {cross_node:?}"
    );
    assert!(consoles.iter().all(|c| c.ringing.is_empty()));
    // The pool agrees: nobody offered or busy, no live offer left.
    let states = nodes[0]
        .state
        .pool
        .states_for(lang("en"), now_ms())
        .await
        .expect("states");
    assert_eq!(states.len(), BOTS);
    for s in &states {
        assert!(
            !matches!(s.status, Status::Offered | Status::Busy) && s.offer.is_none(),
            "{s:?}"
        );
    }
    // Every request ended on the node that took it.
    for (node, call) in &ids {
        match nodes[*node].state.dispatch.cancel(call.clone()).await {
            Err(DispatchRefused::Engine(DispatchError::NoRequest(_))) => {}
            other => panic!("request for {call} still open: {other:?}"),
        }
    }
    let accepts = nodes[1]
        .state
        .pool
        .recent_events(20_000)
        .await
        .expect("events")
        .into_iter()
        .filter(|e| e.kind == EventKind::Accept)
        .filter_map(|e| e.call_id.map(|c| c.to_string()))
        .collect::<HashSet<_>>();
    assert_eq!(accepts.len(), REQUESTS);
}
