//! `GET /api/dashboard` and its live stream `GET /api/dashboard/live` on an app with a SQLite
//! record: only a supervisor's session reads them (401 JSON without one, 403 with an
//! operator's); the figures per language follow the node (a call created waits, answered it is
//! live) and the pool (interpreters available, on shift); today's figures come from a small
//! history written to the record, whose right answers are worked out here; and the stream sends
//! the change within 2 s of a call being answered, and ends at logout and when the node stops.
use crate::common;

use common::fixtures::interpreter;
use common::supervisors::{supervisor_login, with_supervisor};
use common::ws::{answer, create_call, operator_login, operator_session, settings_with_operator};
use common::{spawn_app, TestApp};
use hotline_bridge::app::build_state;
use hotline_bridge::domain::dashboard::midnight;
use hotline_bridge::domain::{
    CallId, CallOutcome, CallSummary, CaseEdit, CaseStatus, InterpreterId, Language, Leg, LegMedia,
    Level, OfferId, ParticipantId, Rating, Role,
};
use hotline_bridge::drivers::clock::now_ms;
use hotline_bridge::pool::Availability;
use hotline_bridge::store::{NewCase, Record};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::time::Instant;

/// The time zone for "today": of Beijing and UTC (midnights 8 h apart), one where the test's
/// history (the last 10 minutes) lies wholly in today.
fn time_zone(now: u64) -> &'static str {
    if now - midnight(now, &chrono_tz::Asia::Shanghai) > 3_600_000 {
        "Asia/Shanghai"
    } else {
        "UTC"
    }
}

async fn app() -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut s = with_supervisor(settings_with_operator());
    s.records.database = format!("sqlite://{}", dir.path().join("hotline.db").display());
    s.dashboard.time_zone = time_zone(now_ms()).into();
    (spawn_app(build_state(s).await.expect("state")).await, dir)
}

async fn dashboard(app: &TestApp, token: Option<&str>) -> (StatusCode, Value) {
    let mut r = Client::new().get(app.url("/api/dashboard"));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.expect("dashboard");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn row<'a>(v: &'a Value, language: &str) -> &'a Value {
    v["languages"]
        .as_array()
        .expect("languages")
        .iter()
        .find(|r| r["language"] == language)
        .unwrap_or_else(|| panic!("no row for {language}: {v}"))
}

/// A Portuguese call created `ago` ms before `now`, answered 5 s in, ended a minute in.
fn ended_call(id: &str, created_at: u64) -> CallSummary {
    CallSummary {
        call_id: CallId::parse(id).expect("id"),
        language: Language::parse("pt").ok(),
        language_source: "chosen".into(),
        outcome: CallOutcome::Ended,
        created_at,
        answered_at: Some(created_at + 5_000),
        ended_at: created_at + 60_000,
        legs: vec![],
    }
}

fn interpreter_leg(joined_at: u64) -> Leg {
    Leg {
        participant: ParticipantId::parse("int-li-na").expect("id"),
        role: Role::Interpreter,
        interpreter: InterpreterId::parse("li-na").ok(),
        media: LegMedia::Browser,
        joined_at,
        left_at: None,
    }
}

#[tokio::test]
async fn only_a_supervisor_reads_the_dashboard() {
    let (app, _dir) = app().await;
    let base = app.url("");
    let (status, v) = dashboard(&app, None).await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(v["error"]["code"], "unauthorized");
    let op = operator_login(&base).await;
    let (status, v) = dashboard(&app, Some(&op)).await;
    assert_eq!(status, 403, "{v}");
    assert_eq!(v["error"]["code"], "forbidden");
    let r = Client::new()
        .get(app.url("/api/dashboard/live"))
        .bearer_auth(&op)
        .send()
        .await
        .expect("live");
    assert_eq!(r.status(), 403, "the stream too");
    let sup = supervisor_login(&base).await;
    let (status, v) = dashboard(&app, Some(&sup)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["record"], true);
}

#[tokio::test]
async fn todays_figures_come_from_the_record_and_live_ones_from_the_node_and_pool() {
    let (app, _dir) = app().await;
    let sup = supervisor_login(&app.url("")).await;
    let now = now_ms();
    // Today: three Portuguese calls that asked for an interpreter (15 s, 28 s, never), one
    // abandoned call, two ratings (5 and 3 stars).
    let mut fast = ended_call("d1", now - 600_000);
    fast.legs.push(interpreter_leg(now - 600_000 + 15_000));
    let mut slow = ended_call("d2", now - 500_000);
    slow.legs.push(interpreter_leg(now - 500_000 + 28_000));
    let missed = ended_call("d3", now - 400_000);
    let mut abandoned = ended_call("d4", now - 300_000);
    abandoned.outcome = CallOutcome::Abandoned;
    abandoned.answered_at = None;
    let offer = |o: &str, call: &str, at: u64| Record::Offered {
        offer: OfferId::parse(o).expect("offer"),
        call: CallId::parse(call).expect("call"),
        interpreter: InterpreterId::parse("li-na").expect("iid"),
        language: Language::parse("pt").ok(),
        at,
    };
    let rated = |call: &str, stars: u8| Record::Rated {
        call: CallId::parse(call).expect("call"),
        rating: Rating { stars, at: now },
    };
    // Through the node's own writer (it migrates the file first).
    let records = app.state.records.as_ref().expect("record");
    for r in [
        Record::Call(fast),
        Record::Call(slow),
        Record::Call(missed),
        Record::Call(abandoned),
        offer("od1", "d1", now - 595_000),
        offer("od2", "d2", now - 495_000),
        offer("od3", "d3", now - 395_000),
        rated("d1", 5),
        rated("d2", 3),
    ] {
        records.send(r);
    }
    records.settled().await;
    // Cases: three opened today, one of them resolved, and one two days ago (not today's).
    let store = records.store();
    let mut opened = Vec::new();
    for (call, at) in [
        ("d1", now - 600_000),
        ("d2", now - 500_000),
        ("d3", now - 400_000),
        ("old", now - 2 * 86_400_000),
    ] {
        let case = store
            .open_case(&NewCase {
                call: CallId::parse(call).expect("call"),
                day: "261204".into(),
                language: Language::parse("pt").ok(),
                operator: "wang".into(),
                at,
            })
            .await
            .expect("open case");
        opened.push(case.case.number);
    }
    let resolve = CaseEdit {
        status: Some(CaseStatus::Resolved),
        ..CaseEdit::default()
    };
    for n in [&opened[0], &opened[3]] {
        store
            .edit_case(n, &resolve, "wang", now)
            .await
            .expect("resolve");
    }
    // The pool: one Portuguese interpreter on shift and available, one French off shift.
    for (id, lang, on_shift) in [("li-na", "pt", true), ("marie", "fr", false)] {
        let mut p = interpreter(id).speaks(lang, Level::Native);
        if on_shift {
            p = p.always_on_shift();
        }
        app.state.pool.upsert(&p.build()).await.expect("upsert");
    }
    let li = InterpreterId::parse("li-na").expect("iid");
    app.state
        .pool
        .set_availability(&li, Availability::Available, now_ms())
        .await
        .expect("available");
    // And one Portuguese call waiting now.
    create_call(&app.url(""), json!({"chosen": "pt"})).await;

    let (status, v) = dashboard(&app, Some(&sup)).await;
    assert_eq!(status, 200, "{v}");
    let pt = row(&v, "pt");
    assert_eq!(
        (
            &pt["waiting"],
            &pt["live"],
            &pt["available"],
            &pt["busy"],
            &pt["on_shift"]
        ),
        (&json!(1), &json!(0), &json!(1), &json!(0), &json!(1)),
        "{pt}"
    );
    let fr = row(&v, "fr");
    assert_eq!(
        (&fr["available"], &fr["on_shift"]),
        (&json!(0), &json!(0)),
        "{fr}"
    );
    let t = &v["today"];
    // Four recorded calls and the one waiting.
    assert_eq!(t["calls"], 5, "{t}");
    assert_eq!(t["answered"], 3);
    assert_eq!(t["abandoned"], 1);
    assert_eq!(t["interpreted"], 2);
    assert_eq!(t["asked_for_interpreter"], 3);
    // 15 s is within 20 s; 28 s within 30 s; the third never joined.
    assert_eq!(t["service_level_20s"].as_f64(), Some(1.0 / 3.0));
    assert_eq!(t["service_level_30s"].as_f64(), Some(2.0 / 3.0));
    assert_eq!(t["time_to_interpreter_median_ms"], 15_000);
    assert_eq!(t["time_to_interpreter_p90_ms"], 28_000);
    assert_eq!(t["ratings"], 2);
    assert_eq!(t["mean_stars"].as_f64(), Some(4.0));
    assert_eq!(t["satisfaction"].as_f64(), Some(0.5));
    assert_eq!(t["cases"], 3, "{t}");
    assert_eq!(t["resolution"].as_f64(), Some(1.0 / 3.0));
    let hours = v["hours"].as_array().expect("hours");
    assert_eq!(hours.len(), 24);
    let charted: u64 = hours.iter().map(|h| h["calls"].as_u64().unwrap_or(0)).sum();
    assert_eq!(charted, 4, "the recorded calls of the last 24 hours: {v}");
}

/// Reads `dashboard` events from an SSE response until one satisfies `want`, or `deadline`.
async fn event_until(
    r: &mut reqwest::Response,
    buffer: &mut String,
    deadline: Instant,
    want: impl Fn(&Value) -> bool,
) -> Value {
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let data: String = block
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(str::trim_start)
                .collect();
            if data.is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(&data).expect("event JSON");
            if want(&v) {
                return v;
            }
        }
        let chunk = tokio::time::timeout_at(deadline, r.chunk())
            .await
            .expect("the wanted figures arrive before the deadline")
            .expect("stream")
            .expect("stream open");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn the_live_stream_shows_an_answered_call_within_two_seconds() {
    let (app, _dir) = app().await;
    let base = app.url("");
    let sup = supervisor_login(&base).await;
    let mut r = Client::new()
        .get(app.url("/api/dashboard/live"))
        .bearer_auth(&sup)
        .send()
        .await
        .expect("live");
    assert_eq!(r.status(), 200);
    let content_type = r.headers()["content-type"]
        .to_str()
        .expect("type")
        .to_owned();
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let mut buffer = String::new();
    let first = event_until(
        &mut r,
        &mut buffer,
        Instant::now() + Duration::from_secs(5),
        |_| true,
    )
    .await;
    assert_eq!(first["totals"]["live"], 0, "{first}");
    let (id, _token, _) = create_call(&base, json!({"chosen": "pt"})).await;
    event_until(
        &mut r,
        &mut buffer,
        Instant::now() + Duration::from_secs(3),
        |v| v["totals"]["waiting"] == 1,
    )
    .await;
    let op = operator_login(&base).await;
    let mut console = operator_session(app.addr, &op).await;
    answer(&mut console, &id).await;
    let answered = Instant::now();
    let v = event_until(
        &mut r,
        &mut buffer,
        answered + Duration::from_secs(2),
        |v| v["totals"]["live"] == 1,
    )
    .await;
    assert_eq!(row(&v, "pt")["live"], 1, "{v}");
    assert_eq!(v["totals"]["waiting"], 0, "{v}");
    // Logging out ends the stream.
    let out = Client::new()
        .post(app.url("/api/supervisor/logout"))
        .bearer_auth(&sup)
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), 204);
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = r.chunk().await {}
    })
    .await;
    assert!(end.is_ok(), "the stream ends at logout");
}

#[tokio::test]
async fn the_live_stream_ends_when_the_node_stops() {
    let (app, _dir) = app().await;
    let sup = supervisor_login(&app.url("")).await;
    let mut r = Client::new()
        .get(app.url("/api/dashboard/live"))
        .bearer_auth(&sup)
        .send()
        .await
        .expect("live");
    assert_eq!(r.status(), 200);
    let mut buffer = String::new();
    event_until(
        &mut r,
        &mut buffer,
        Instant::now() + Duration::from_secs(5),
        |_| true,
    )
    .await;
    // What SIGTERM does once the drain is over: the root token is cancelled.
    app.state.lifecycle.root().cancel();
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = r.chunk().await {}
    })
    .await;
    assert!(end.is_ok(), "the stream ends with the node, not after it");
}

/// Two nodes on one real redis-server: node B's big screen counts the call waiting on node A,
/// then live once answered there, within the 2 s the board promises; once node A stops, its
/// calls drop out of node B's figures when its last summary runs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_nodes_big_screen_counts_the_calls_of_every_node() {
    let redis = common::redis::TestRedis::start();
    let a = common::dispatch::app_on(&redis, with_supervisor(settings_with_operator())).await;
    let b = common::dispatch::app_on(&redis, with_supervisor(settings_with_operator())).await;
    let sup = supervisor_login(&b.url("")).await;
    let mut r = Client::new()
        .get(b.url("/api/dashboard/live"))
        .bearer_auth(&sup)
        .send()
        .await
        .expect("live");
    assert_eq!(r.status(), 200);
    let mut buffer = String::new();
    let first = event_until(
        &mut r,
        &mut buffer,
        Instant::now() + Duration::from_secs(5),
        |_| true,
    )
    .await;
    assert_eq!(first["totals"]["waiting"], 0, "{first}");

    let (id, _token, _) = create_call(&a.url(""), json!({"chosen": "ja"})).await;
    let v = event_until(
        &mut r,
        &mut buffer,
        Instant::now() + Duration::from_secs(3),
        |v| row(v, "ja")["waiting"] == 1,
    )
    .await;
    assert_eq!(v["totals"]["waiting"], 1, "counted once: {v}");

    let op = operator_login(&a.url("")).await;
    let mut console = operator_session(a.addr, &op).await;
    answer(&mut console, &id).await;
    let answered = Instant::now();
    let v = event_until(
        &mut r,
        &mut buffer,
        answered + Duration::from_secs(2) + dashboard_tick(),
        |v| row(v, "ja")["live"] == 1 && row(v, "ja")["waiting"] == 0,
    )
    .await;
    assert_eq!(v["totals"]["live"], 1, "{v}");

    // Node A goes away without a word: its summary runs out and its call with it.
    drop(console);
    drop(a);
    event_until(
        &mut r,
        &mut buffer,
        Instant::now() + hotline_bridge::drivers::dashboard::SUMMARY_TTL + Duration::from_secs(3),
        |v| v["totals"]["live"] == 0,
    )
    .await;
}

/// How late node B may look at node A's summary after it changed (B reads it on its tick).
fn dashboard_tick() -> Duration {
    hotline_bridge::drivers::dashboard::REFRESH
}
