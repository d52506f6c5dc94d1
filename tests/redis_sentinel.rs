//! Redis Sentinel failover under traffic. A master, a replica and three sentinels run as real
//! processes; two app nodes find the master only through the sentinels (`redis.sentinels`), eight
//! interpreter bots on real WebSockets (half on each node) answer a steady stream of interpreter
//! requests, and every call is hung up a moment after its interpreter joined. Mid-traffic the
//! master is killed with SIGKILL. Proves: once the sentinels have promoted the replica, requests
//! made after the failover are served, on both nodes, with nothing restarted; no interpreter is
//! ever in two live calls at once; every request made before, during and after the failover is
//! served in the end; and once traffic stops nobody is left offered or busy in the pool.
use crate::common;

use common::dispatch::{add_interpreter, app_with, bot, on_request_settings};
use common::fixtures::{chosen, lang};
use common::sentinel::{SentinelGroup, MASTER_NAME};
use common::TestApp;
use hotline_bridge::api::messages::CallState;
use hotline_bridge::config::Settings;
use hotline_bridge::domain::{CallId, InterpreterId, Level};
use hotline_bridge::drivers::call::{interpreter_participant, operator_participant};
use hotline_bridge::drivers::clock::now_ms;
use hotline_bridge::pool::Status;
use hotline_bridge::testkit::interpreter_bot::{Answer, BotEvent, InterpreterBot};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

const BOTS: usize = 8;
/// Bots that decline about half their rings (the others accept every ring).
const FICKLE: usize = 2;
/// Requests open at once.
const IN_FLIGHT: usize = 4;
/// Calls served before the master is killed.
const BEFORE: usize = 10;
/// Requests made after the failover that must be served.
const AFTER: usize = 12;
/// How long an interpreter stays in a call before the test hangs it up (long enough for a
/// second booking of the same interpreter to show as two live calls).
const HOLD: Duration = Duration::from_millis(700);
/// Generous bounds for a slow, shared machine; none is a speed assertion.
const FAILOVER_WITHIN: Duration = Duration::from_secs(90);
const RUN_LIMIT: Duration = Duration::from_secs(300);
const SETTLE_WITHIN: Duration = Duration::from_secs(90);
const TICK: Duration = Duration::from_millis(100);

fn settings(group: &SentinelGroup) -> Settings {
    let mut s = on_request_settings();
    s.dispatch.ring_timeout_s = 5;
    s.dispatch.wrap_up_s = 1;
    s.dispatch.escalate_after_s = 600;
    // Calls here have no signalling sessions: keep them alive for the whole run.
    s.calls.reconnect_grace_s = 600;
    s.redis.url = String::new();
    s.redis.sentinel_master = MASTER_NAME.into();
    s.redis.sentinels = group.sentinel_addrs();
    s.redis.key_prefix = "sentinel".into();
    s.redis.response_timeout_ms = 500;
    s.redis.connection_timeout_ms = 500;
    s.redis.replica_acks = 1;
    s.redis.replica_ack_timeout_ms = 100;
    s
}

fn iid(i: usize) -> InterpreterId {
    InterpreterId::parse(&format!("en-{i:02}")).expect("id")
}

/// An answered call on `app` with an interpreter requested for it.
async fn ask(app: &TestApp) -> CallId {
    let (call, _token) = app.state.calls.create(chosen("en"));
    call.answer(operator_participant("wang"), "wang".into())
        .await
        .expect("answer");
    let id = call.id().clone();
    app.state
        .dispatch
        .request(id.clone(), lang("en"))
        .await
        .expect("request taken");
    id
}

/// Interpreters present in (or invited to) more than one live call, over every node.
async fn double_booked(nodes: &[TestApp]) -> Vec<(InterpreterId, Vec<CallId>)> {
    let mut seen: HashMap<InterpreterId, Vec<CallId>> = HashMap::new();
    for node in nodes {
        for call in node.state.calls.live() {
            let Ok(view) = call.view().await else {
                continue; // ended meanwhile
            };
            if view.state == CallState::Ended {
                continue;
            }
            for i in 0..BOTS {
                let who = iid(i);
                let present = view
                    .participants
                    .iter()
                    .any(|p| p.id == interpreter_participant(&who));
                if present || view.invited.contains(&who) {
                    seen.entry(who).or_default().push(view.call_id.clone());
                }
            }
        }
    }
    seen.into_iter()
        .filter(|(_, calls)| calls.len() > 1)
        .collect()
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

#[derive(PartialEq)]
enum Phase {
    Before,
    /// The master is dead; the sentinels have not promoted the replica yet.
    Failing,
    After,
}

/// One request: the node it was made on, and whether it was made after the failover.
struct Asked {
    node: usize,
    after: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_goes_on_after_the_master_is_killed_and_a_replica_promoted() {
    // The service's logs when asked for (TEST_LOG=hotline_bridge=info): a failover is worth reading.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("TEST_LOG").unwrap_or_default())
        .with_test_writer()
        .try_init();
    let mut group = SentinelGroup::start();
    let nodes = [
        app_with(settings(&group)).await,
        app_with(settings(&group)).await,
    ];
    // Every profile first: a dispatcher loads the profiles when the first bot goes available.
    let mut tokens = Vec::new();
    for i in 0..BOTS {
        tokens
            .push(add_interpreter(&nodes[0], iid(i).as_str(), &["en"], Level::Professional).await);
    }
    let mut bots = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let answer = if i >= BOTS - FICKLE {
            Answer::Random(0.5)
        } else {
            Answer::Accept
        };
        bots.push(bot(&nodes[i % 2], token, answer, 10 + i as u32).await);
    }
    let mut events = merge(&mut bots);
    // Each call's latest dispatch progress, for the message of a failure.
    let progress: Arc<Mutex<HashMap<CallId, String>>> = Arc::default();
    for node in &nodes {
        let mut rx = node.state.dispatch.progress();
        let progress = progress.clone();
        tokio::spawn(async move {
            while let Ok(p) = rx.recv().await {
                let line = format!("{:?}", p.event);
                progress
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(p.call, line);
            }
        });
    }

    let mut phase = Phase::Before;
    let (promoted_tx, mut promoted) = oneshot::channel::<u16>();
    let mut promoted_tx = Some(promoted_tx);
    let mut open: HashMap<CallId, Asked> = HashMap::new();
    let mut asked = 0usize;
    let mut asked_after = 0usize;
    let mut served: HashSet<CallId> = HashSet::new();
    let mut served_after = [0usize; 2];
    // Per bot: the call it is in, and since when.
    let mut in_call: Vec<Option<(CallId, usize, Instant)>> = (0..BOTS).map(|_| None).collect();
    let mut errors_in_failover = 0usize;
    let mut tick = tokio::time::interval(TICK);
    let deadline = Instant::now() + RUN_LIMIT;
    loop {
        // Keep IN_FLIGHT requests open, alternating nodes, until AFTER were made after failover.
        while open.len() < IN_FLIGHT && !(phase == Phase::After && asked_after >= AFTER) {
            let node = asked % 2;
            let call = ask(&nodes[node]).await;
            let after = phase == Phase::After;
            asked += 1;
            asked_after += usize::from(after);
            open.insert(call, Asked { node, after });
        }
        let done = phase == Phase::After && asked_after >= AFTER && open.is_empty();
        if done && in_call.iter().all(Option::is_none) {
            break;
        }
        if phase == Phase::Before && served.len() >= BEFORE {
            let old = group.kill_master();
            phase = Phase::Failing;
            let watch = group.watch();
            let tx = promoted_tx.take().expect("one failover");
            tokio::spawn(async move {
                let _ = tx.send(watch.await_failover(old, FAILOVER_WITHIN).await);
            });
        }
        tokio::select! {
            e = events.recv() => {
                let (i, e) = e.expect("the bots stopped");
                let m = &e.msg;
                match e.kind() {
                    "joined" => {
                        let call = CallId::parse(m["call_id"].as_str().expect("call"))
                            .expect("call id");
                        if let Some((held, _, _)) = &in_call[i] {
                            panic!("en-{i:02} joined {call} while in {held}");
                        }
                        let booked = double_booked(&nodes).await;
                        assert!(booked.is_empty(), "double booking: {booked:?}");
                        let asked = open.remove(&call).expect("a call the test asked for, once");
                        assert!(served.insert(call.clone()), "{call} served twice");
                        if asked.after {
                            served_after[asked.node] += 1;
                        }
                        in_call[i] = Some((call, asked.node, Instant::now()));
                    }
                    "error" if phase == Phase::Before && m["code"] != "conflict" => {
                        panic!("en-{i:02} before the failover: {m}")
                    }
                    "error" => errors_in_failover += 1,
                    "closed" if !e.call_socket => panic!("en-{i:02} lost its console session"),
                    _ => {}
                }
            }
            port = &mut promoted, if phase == Phase::Failing => {
                let port = port.expect("failover watch");
                eprintln!("sentinels promoted 127.0.0.1:{port} after {} served", served.len());
                phase = Phase::After;
            }
            _ = tick.tick() => {
                for slot in in_call.iter_mut() {
                    let Some((call, node, _)) = slot.take_if(|(_, _, t)| t.elapsed() >= HOLD)
                    else {
                        continue;
                    };
                    if let Some(handle) = nodes[node].state.calls.get(&call) {
                        handle.hang_up().await.expect("hang up");
                    }
                }
                let booked = double_booked(&nodes).await;
                assert!(booked.is_empty(), "double booking: {booked:?}");
            }
            _ = tokio::time::sleep_until(deadline) => {
                let progress = progress.lock().unwrap_or_else(|e| e.into_inner());
                let open: Vec<_> = open.keys().map(|c| (c, progress.get(c))).collect();
                panic!(
                    "after {RUN_LIMIT:?}: {} of {asked} served, {} after the failover, open {open:?}",
                    served.len(),
                    served_after.iter().sum::<usize>(),
                )
            }
        }
    }

    assert_eq!(served.len(), asked, "every request was served");
    assert!(
        served_after.iter().all(|n| *n > 0),
        "both nodes served requests made after the failover: {served_after:?}"
    );
    // Traffic has stopped: soon nobody is offered or busy, and no offer is live.
    let settle = Instant::now() + SETTLE_WITHIN;
    loop {
        let states = nodes[0].state.pool.states_for(lang("en"), now_ms()).await;
        let stuck: Vec<_> = match &states {
            Ok(states) => states
                .iter()
                .filter(|s| matches!(s.status, Status::Offered | Status::Busy) || s.offer.is_some())
                .collect(),
            Err(_) => Vec::new(),
        };
        if states.as_ref().is_ok_and(|s| s.len() == BOTS) && stuck.is_empty() {
            break;
        }
        assert!(
            Instant::now() < settle,
            "interpreters stuck {SETTLE_WITHIN:?} after traffic stopped: {states:?}"
        );
        tokio::time::sleep(TICK).await;
    }
    eprintln!(
        "served={} after_failover={served_after:?} errors_in_failover={errors_in_failover}",
        served.len()
    );
}
