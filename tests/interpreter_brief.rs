//! The interpreter protocol over real WebSocket sessions on a real redis-server: the operator
//! asks for an interpreter with a one-line private brief; the interpreter rung reads it, with
//! the call's job number, before accepting, and has both in the call; the operator's console
//! shows the same job number. The caller's session never carries the brief. A brief of two
//! lines or over 140 characters is refused (`invalid`) and rings nobody.
use crate::common;

use common::dispatch::{add_interpreter, answered_call, app_on, bot, expect, on_request_settings};
use common::redis::TestRedis;
use common::ws::{Got, WsClient};
use hotline_bridge::domain::{job_number, CallId, Level};
use hotline_bridge::testkit::interpreter_bot::Answer;
use serde_json::{json, Value};
use std::time::Duration;

const STEP: Duration = Duration::from_secs(10);
const BRIEF: &str = "行李在机场丢失，来电者很着急";

/// The next `call_state` on `ws` whose call satisfies `want`.
async fn state_until(ws: &mut WsClient, what: &str, want: impl Fn(&Value) -> bool) -> Value {
    tokio::time::timeout(STEP, async {
        loop {
            let v = ws.wait_for("call_state").await;
            if want(&v["call"]) {
                return v["call"].clone();
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rung_interpreter_reads_the_brief_and_job_number_and_the_caller_never_does() {
    let redis = TestRedis::start();
    let app = app_on(&redis, on_request_settings()).await;
    let token = add_interpreter(&app, "li-na", &["pt"], Level::Native).await;
    let mut li = bot(&app, &token, Answer::Accept, 1).await;
    let mut call = answered_call(&app, "pt").await;
    let job = job_number(&CallId::parse(&call.call_id).expect("call id"));

    // Refused briefs ring nobody.
    for bad in ["two\nlines".to_owned(), "字".repeat(141)] {
        call.operator
            .send(json!({"type": "request_interpreter", "brief": bad}))
            .await;
        assert_eq!(call.operator.error_code().await, "invalid", "{bad:?}");
    }
    assert!(
        li.wait_kind("ring", Duration::from_millis(300))
            .await
            .is_none(),
        "a refused request rang someone"
    );

    call.operator
        .send(json!({"type": "request_interpreter", "brief": format!("  {BRIEF} ")}))
        .await;
    let ring = expect(&mut li, "ring", "li-na is rung").await;
    assert_eq!(ring["brief"], BRIEF, "the ring carries the brief: {ring}");
    assert_eq!(ring["job_number"], job.as_str(), "{ring}");
    let seen = state_until(&mut call.operator, "the operator's view", |c| {
        c["brief"] == BRIEF
    })
    .await;
    assert_eq!(seen["job_number"], job.as_str(), "{seen}");

    // She accepts (the bot does at once) and is in the call with the same facts.
    expect(&mut li, "joined", "li-na joins").await;
    let in_call = loop {
        let m = expect(&mut li, "call_state", "li-na's view of the call").await;
        if m["call"]["participants"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["role"] == "interpreter"))
        {
            break m["call"].clone();
        }
    };
    assert_eq!(in_call["brief"], BRIEF, "{in_call}");
    assert_eq!(in_call["job_number"], job.as_str(), "{in_call}");

    // Everything the caller was sent up to the interpreter joining: never the brief.
    let mut told = Vec::new();
    tokio::time::timeout(STEP, async {
        loop {
            match call.caller.next().await {
                Got::Json(v) => {
                    let joined = v["type"] == "call_state"
                        && v["call"]["participants"]
                            .as_array()
                            .is_some_and(|p| p.iter().any(|p| p["role"] == "interpreter"));
                    told.push(v.to_string());
                    if joined {
                        return;
                    }
                }
                other => panic!("the caller's session ended: {other:?}"),
            }
        }
    })
    .await
    .expect("the caller sees the interpreter join");
    assert!(
        told.iter()
            .all(|m| !m.contains(BRIEF) && !m.contains("\"brief\"")),
        "the caller was told the brief: {told:?}"
    );
}
