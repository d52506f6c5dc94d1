//! The administrator's recovery API on a real redis-server: only an administrator's key gets in
//! (401 without a valid one, 403 for an operator's session or a university's key, in the JSON
//! error format); `stuck` shows who is held, by which node and whether its lease is alive;
//! `release` frees an interpreter a lost node held, and `end` ends a live call on its node (the
//! caller's page hears it ended), both audited with the administrator's name.
use crate::common;

use common::dispatch::{answered_call, app_on, bot, on_request_settings, progress, WAIT};
use common::fixtures::{interpreter, rung};
use common::redis::TestRedis;
use hotline_bridge::config::{AdminKey, Settings, UniversityAuth};
use hotline_bridge::domain::EventKind;
use hotline_bridge::domain::{InterpreterId, Level, NodeId};
use hotline_bridge::drivers::clock::now_ms;
use hotline_bridge::pool::Status;
use hotline_bridge::testkit::interpreter_bot::Answer;
use serde_json::{json, Value};

const ADMIN_KEY: &str = "admin-key-of-li-0123456789abcdef";
const UNIVERSITY_KEY: &str = "university-key-of-bfsu-0123456789";

fn settings() -> Settings {
    let mut s = on_request_settings();
    s.admins.insert(
        "li".into(),
        AdminKey {
            api_key_sha256: hotline_bridge::auth::sha256_hex(ADMIN_KEY),
        },
    );
    s.universities.insert(
        "bfsu".into(),
        UniversityAuth {
            api_key_sha256: hotline_bridge::auth::sha256_hex(UNIVERSITY_KEY),
        },
    );
    s
}

async fn call(method: reqwest::Method, url: String, key: Option<&str>) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, url);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn assert_error(got: &(u16, Value), status: u16, code: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["error"]["code"], code, "{}", got.1);
    assert!(got.1["error"]["message"].is_string(), "{}", got.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_administrator_gets_in() {
    let redis = TestRedis::start();
    let app = app_on(&redis, settings()).await;
    let get =
        |key: Option<&'static str>| call(reqwest::Method::GET, app.url("/api/admin/stuck"), key);
    assert_error(&get(None).await, 401, "unauthorized");
    assert_error(&get(Some("not-a-key")).await, 401, "unauthorized");
    assert_error(&get(Some(UNIVERSITY_KEY)).await, 403, "forbidden");
    let (op, _) = app.state.operators.open("wang", now_ms());
    let op: &'static str = Box::leak(op.into_boxed_str());
    assert_error(&get(Some(op)).await, 403, "forbidden");
    let post = call(
        reqwest::Method::POST,
        app.url("/api/admin/interpreters/ana/release"),
        Some(op),
    )
    .await;
    assert_error(&post, 403, "forbidden");
    let post = call(
        reqwest::Method::POST,
        app.url("/api/admin/calls/c1/end"),
        None,
    )
    .await;
    assert_error(&post, 401, "unauthorized");
    let ok = get(Some(ADMIN_KEY)).await;
    assert_eq!(ok.0, 200, "{}", ok.1);
    assert!(ok.1["interpreters"].as_array().expect("list").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_sees_what_is_stuck_and_frees_it() {
    let redis = TestRedis::start();
    let app = app_on(&redis, settings()).await;
    let pool = app.state.pool.clone();

    // li-na, on a live call of this node.
    let token = common::dispatch::add_interpreter(&app, "li-na", &["pt"], Level::Native).await;
    let _li = bot(&app, &token, Answer::Accept, 3).await;
    let mut live = answered_call(&app, "pt").await;
    live.operator
        .send(json!({"type": "request_interpreter"}))
        .await;
    progress(&mut live.operator, "accepted").await;

    // ana, held by a node that is gone (it never held a lease here).
    let ana = InterpreterId::parse("ana").expect("id");
    let profile = interpreter("ana").name("Ana").speaks("pt", Level::Native);
    pool.upsert(&profile.always_on_shift().build())
        .await
        .expect("upsert");
    let now = now_ms();
    let gone = NodeId::new(0xdead);
    let offer = rung(&*pool, gone, "gone-1", "gone-call", "pt", &ana, now).await;
    pool.respond(&offer.id, &ana, true, now + 1)
        .await
        .expect("accept");

    let (code, report) = call(
        reqwest::Method::GET,
        app.url("/api/admin/stuck"),
        Some(ADMIN_KEY),
    )
    .await;
    assert_eq!(code, 200, "{report}");
    let held = report["interpreters"].as_array().expect("list");
    assert_eq!(held.len(), 2, "{report}");
    let row = |id: &str| {
        held.iter()
            .find(|h| h["interpreter"] == id)
            .unwrap_or_else(|| panic!("{id} listed"))
            .clone()
    };
    let (a, l) = (row("ana"), row("li-na"));
    assert_eq!(
        (a["status"].clone(), a["stuck"].clone()),
        (json!("busy"), json!(true))
    );
    assert_eq!(a["node"], "000000000000dead");
    assert_eq!(a["node_alive"], false);
    assert_eq!(
        (l["stuck"].clone(), l["node_alive"].clone()),
        (json!(false), json!(true))
    );
    assert_eq!(l["call"], live.call_id.as_str());
    assert_eq!(l["node"], app.state.lease.node().to_string());
    assert!(report["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .any(|n| n["node"] == app.state.lease.node().to_string() && n["alive"] == true));

    // Free ana; a second try is a conflict; unknown or malformed ids are 404.
    let url = |id: &str| app.url(&format!("/api/admin/interpreters/{id}/release"));
    let (code, body) = call(reqwest::Method::POST, url("ana"), Some(ADMIN_KEY)).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["outcome"], "released");
    assert_eq!(
        pool.state(&ana, now_ms())
            .await
            .expect("state")
            .expect("known")
            .status,
        Status::Available
    );
    let events = pool.recent_events(100).await.expect("events");
    let audit = events
        .iter()
        .find(|e| e.kind == EventKind::AdminRelease)
        .expect("audited");
    assert_eq!(audit.interpreter.as_ref(), Some(&ana));
    assert!(audit.detail.contains("api:li"), "{}", audit.detail);
    assert_error(
        &call(reqwest::Method::POST, url("ana"), Some(ADMIN_KEY)).await,
        409,
        "conflict",
    );
    assert_error(
        &call(reqwest::Method::POST, url("nobody"), Some(ADMIN_KEY)).await,
        404,
        "not_found",
    );
    assert_error(
        &call(reqwest::Method::POST, url("NOT%20AN%20ID"), Some(ADMIN_KEY)).await,
        404,
        "not_found",
    );

    // End li-na's live call: she is freed and the call ends on its node for everyone in it.
    let end = |id: &str| app.url(&format!("/api/admin/calls/{id}/end"));
    let (code, body) = call(reqwest::Method::POST, end(&live.call_id), Some(ADMIN_KEY)).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["was_live"], true);
    assert_eq!(body["freed"][0][0], "li-na");
    let ended = async {
        loop {
            let v = live.caller.wait_for("call_state").await;
            if v["call"]["state"] == "ended" {
                return v;
            }
        }
    };
    tokio::time::timeout(WAIT, ended)
        .await
        .expect("the caller hears the call ended");
    let events = pool.recent_events(100).await.expect("events");
    assert!(events
        .iter()
        .any(|e| e.kind == EventKind::AdminEndCall && e.detail.contains("api:li")));
    assert_error(
        &call(reqwest::Method::POST, end(&live.call_id), Some(ADMIN_KEY)).await,
        409,
        "conflict",
    );
    assert_error(
        &call(reqwest::Method::POST, end("no-such-call"), Some(ADMIN_KEY)).await,
        404,
        "not_found",
    );
    let li = InterpreterId::parse("li-na").expect("id");
    let st = pool
        .state(&li, now_ms())
        .await
        .expect("state")
        .expect("known");
    assert!(
        matches!(st.status, Status::Available | Status::WrapUp),
        "{:?}",
        st.status
    );
}
