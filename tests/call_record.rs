//! The call record fed by a running app: a call answered by an operator and interpreted by an
//! interpreter who accepted the offer, then rated, reaches the SQLite file with its legs (who,
//! which role, which interpreter, what carried the audio), its offer and its rating; a phone
//! caller's leg (sipp as the trunk) is recorded as a phone's; and with PostgreSQL stopped in the
//! middle of the traffic, calls go on, the writer retries, and once the server is back every call
//! and rating of the run is in the record. Operators read a call's record at
//! `GET /api/calls/{id}/record`.

mod common;

use common::dispatch::{add_interpreter, bot, expect, join_media, on_request_settings, progress};
use common::fixtures::chosen;
use common::postgres::TestPostgres;
use common::sipp::{self, queued_phone, sip_settings, QueuedPhone};
use common::ws::{
    answer, caller_in_call, create_call, operator_hangs_up, operator_login, settings_with_operator,
};
use common::{spawn_app, TestApp};
use hotline_bridge::app::{build_state, AppState};
use hotline_bridge::config::Settings;
use hotline_bridge::domain::{CallId, CallOutcome, LegMedia, Level, OfferOutcome, Role};
use hotline_bridge::sfu::peer::PeerConfig;
use hotline_bridge::store::CallHistory;
use hotline_bridge::testkit::interpreter_bot::Answer;
use reqwest::Client;
use serde_json::{json, Value};
use std::time::Duration;

/// Longest wait for any one step of a phone call.
const STEP: Duration = Duration::from_secs(20);

async fn app_with_records(mut settings: Settings, database: String) -> TestApp {
    settings.records.database = database;
    spawn_app(build_state(settings).await.expect("state")).await
}

async fn history(app: &TestApp, id: &str) -> CallHistory {
    let records = app.state.records.as_ref().expect("records kept");
    records
        .store()
        .call(&CallId::parse(id).expect("call id"))
        .await
        .expect("read the record")
        .unwrap_or_else(|| panic!("call {id} is not in the record"))
}

/// Until no call is live on `app` (a call task finishes after its hang-up was answered).
async fn no_live_calls(app: &TestApp) {
    let mut live = app.state.calls.live_count();
    live.wait_for(|n| *n == 0).await.expect("registry");
}

async fn rate(app: &TestApp, id: &str, token: &str, stars: u8) {
    let r = Client::new()
        .post(app.url(&format!("/api/calls/{id}/rating")))
        .bearer_auth(token)
        .json(&json!({ "stars": stars }))
        .send()
        .await
        .expect("rate");
    assert_eq!(r.status(), 204, "rated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interpreted_call_reaches_the_sqlite_record_with_legs_offer_and_rating() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("data/hotline.db");
    let app = app_with_records(
        on_request_settings(),
        format!("sqlite://{}", file.display()),
    )
    .await;
    let token = add_interpreter(&app, "li-na", &["pt"], Level::Native).await;
    let mut li = bot(&app, &token, Answer::Accept, 3).await;
    let (call, caller_token) = app.state.calls.create(chosen("pt"));
    let id = call.id().to_string();
    let mut caller = caller_in_call(app.addr, &id, &caller_token).await;
    let config = PeerConfig::new().expect("peer config");
    let _caller_peer = join_media(&mut caller, &config, 1).await;
    let mut operator = common::dispatch::operator_answers(&app, &id).await;
    operator.send(json!({"type": "request_interpreter"})).await;
    progress(&mut operator, "accepted").await;
    expect(&mut li, "joined", "li-na joins the call").await;
    call.hang_up().await.expect("hang up");
    no_live_calls(&app).await;
    rate(&app, &id, &caller_token, 5).await;

    app.state.records.as_ref().expect("records").settled().await;
    assert!(file.is_file(), "the SQLite file and its folder were made");
    let h = history(&app, &id).await;
    let c = h.call.expect("the call");
    assert_eq!(c.outcome, CallOutcome::Ended);
    assert_eq!(c.language.map(|l| l.to_string()).as_deref(), Some("pt"));
    assert_eq!(c.language_source, "chosen");
    assert!(c
        .answered_at
        .is_some_and(|a| a >= c.created_at && a <= c.ended_at));
    let legs: Vec<_> = c
        .legs
        .iter()
        .map(|l| {
            (
                l.role,
                l.interpreter.as_ref().map(|i| i.to_string()),
                l.media,
            )
        })
        .collect();
    assert_eq!(
        legs,
        vec![
            (Role::Caller, None, LegMedia::Browser),
            (Role::Operator, None, LegMedia::None),
            (Role::Interpreter, Some("li-na".into()), LegMedia::None),
        ]
    );
    assert!(c.legs.iter().all(|l| l.left_at == Some(c.ended_at)));
    assert_eq!(h.offers.len(), 1);
    let o = &h.offers[0];
    assert_eq!(o.interpreter.as_str(), "li-na");
    assert_eq!(o.outcome, Some(OfferOutcome::Accepted));
    assert!(o.offered_at.is_some_and(|t| Some(t) <= o.ended_at));
    assert_eq!(h.rating.map(|r| r.stars), Some(5));

    // The same over the API, for an operator only.
    let c = Client::new();
    let url = app.url(&format!("/api/calls/{id}/record"));
    let op = operator_login(&app.url("")).await;
    let r = c.get(&url).bearer_auth(&op).send().await.expect("get");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["call_id"], id.as_str());
    assert_eq!(v["call"]["outcome"], "ended");
    assert_eq!(v["call"]["legs"][0]["media"], "browser");
    assert_eq!(v["call"]["legs"][2]["interpreter"], "li-na");
    assert_eq!(v["offers"][0]["outcome"], "accepted");
    assert_eq!(v["rating"]["stars"], 5);
    let r = c.get(&url).send().await.expect("get");
    assert_eq!(r.status(), 401);
    let r = c
        .get(&url)
        .bearer_auth(&caller_token)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 401, "a caller's token is not an operator's");
    let r = c
        .get(app.url("/api/calls/0123456789abcdef/record"))
        .bearer_auth(&op)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"]["code"], "not_found");
}

#[tokio::test]
async fn without_a_record_the_api_says_none_is_kept() {
    let app = spawn_app(AppState::in_memory(settings_with_operator())).await;
    let op = operator_login(&app.url("")).await;
    let r = Client::new()
        .get(app.url("/api/calls/0123456789abcdef/record"))
        .bearer_auth(&op)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"]["code"], "no_record");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_callers_leg_is_recorded_as_a_phone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut s = settings_with_operator();
    let bridge = sip_settings(&mut s, &["127.0.0.1"]);
    s.records.database = format!("sqlite://{}", dir.path().join("hotline.db").display());
    let state = build_state(s).await.expect("state");
    let QueuedPhone {
        app,
        op_token,
        mut console,
        // Kept to the end: the phone's RTP keeps its call alive.
        phone_rtp: _phone_rtp,
        phone,
        call_id,
    } = queued_phone(state, bridge, "uac_audio_until_bye.xml", &[]).await;
    let id = call_id.to_string();
    answer(&mut console, &id).await;
    // The phone's RTP reached the bridge: the call shows its caller connected.
    tokio::time::timeout(STEP, async {
        loop {
            let v = console.wait_for("call_state").await;
            let parts = v["call"]["participants"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if parts
                .iter()
                .any(|p| p["role"] == "caller" && p["connected"] == true)
            {
                return;
            }
        }
    })
    .await
    .expect("the phone caller's media connects");
    assert_eq!(operator_hangs_up(&app.url(""), &op_token, &id).await, 204);
    sipp::completed(phone, STEP, "sipp got the bridge's BYE").await;
    no_live_calls(&app).await;

    app.state.records.as_ref().expect("records").settled().await;
    let c = history(&app, &id).await.call.expect("the call");
    let legs: Vec<_> = c.legs.iter().map(|l| (l.role, l.media)).collect();
    assert_eq!(
        legs,
        vec![
            (Role::Caller, LegMedia::Phone),
            (Role::Operator, LegMedia::None)
        ]
    );
}

/// A call made, hung up by its caller and rated over HTTP; its id and stars.
async fn short_call(app: &TestApp, stars: u8) -> (String, u8) {
    let (id, token, _) = create_call(&app.url(""), json!({"chosen": "fr"})).await;
    let r = Client::new()
        .post(app.url(&format!("/api/calls/{id}/hangup")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("hang up");
    assert_eq!(r.status(), 204, "hung up");
    no_live_calls(app).await;
    rate(app, &id, &token, stars).await;
    (id, stars)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_go_on_through_a_postgres_outage_and_every_record_arrives_after_it() {
    let mut pg = TestPostgres::start();
    let mut s = settings_with_operator();
    s.calls.create_per_minute = 6_000;
    s.calls.create_burst = 100;
    let app = app_with_records(s, pg.url()).await;
    let records = app.state.records.clone().expect("records kept");
    let mut calls = Vec::new();
    for i in 0..10 {
        calls.push(short_call(&app, 1 + i % 5).await);
    }
    records.settled().await;
    let failed = records.progress().borrow().failed_tries;

    pg.stop();
    for i in 0..10 {
        calls.push(short_call(&app, 1 + i % 5).await);
    }
    records
        .progress()
        .wait_for(|p| p.failed_tries > failed)
        .await
        .expect("the writer tried and failed while the server was down");
    pg.restart();

    records.settled().await;
    for (id, stars) in &calls {
        let h = history(&app, id).await;
        let c = h.call.unwrap_or_else(|| panic!("call {id} recorded"));
        assert_eq!(c.outcome, CallOutcome::Abandoned, "hung up in the queue");
        assert_eq!(c.legs.len(), 1, "the caller's leg");
        assert_eq!(h.rating.map(|r| r.stars), Some(*stars), "{id}'s rating");
    }
    let metrics = common::metrics::scrape(app.url("/metrics")).await;
    let retries = common::metrics::sample(&metrics, "hotline_records_retries_total", &[]);
    assert!(
        retries.is_some_and(|n| n >= 1.0),
        "retries counted: {retries:?}"
    );
    let queued = common::metrics::sample(&metrics, "hotline_records_queued", &[]);
    assert_eq!(queued, Some(0.0), "nothing left waiting");
    let full = common::metrics::sample(
        &metrics,
        "hotline_records_dropped_total",
        &[("reason", "full")],
    );
    assert_eq!(full, None, "nothing dropped");
}
