//! A returning caller and the interpreter who served their case, through a running app with a
//! SQLite record (memory pool, interpreter bots on real WebSockets): on the first call the
//! operator asks for a student interpreter by name, who interprets; the caller calls again and
//! gives the case number; the second call is linked to the case, the caller is told the same
//! number, and the case names that interpreter first: the one the console's "same interpreter
//! first" asks for, while a better-ranked native interpreter is free.

use crate::common;

use common::dispatch::{
    add_interpreter, add_interpreter_with, bot, expect, on_request_settings, operator_answers,
    progress,
};
use common::spawn_app;
use common::ws::{caller_in_call, create_call, operator_hangs_up, operator_login, WsClient};
use hotline_bridge::app::build_state;
use hotline_bridge::domain::Level;
use hotline_bridge::testkit::interpreter_bot::Answer;
use reqwest::Client;
use serde_json::{json, Value};

/// The case number in the next call state that carries one.
async fn case_number_on(ws: &mut WsClient) -> String {
    loop {
        let v = ws.wait_for("call_state").await;
        if let Some(n) = v["call"]["case_number"].as_str() {
            return n.to_owned();
        }
    }
}

async fn get(url: String, token: &str) -> (u16, Value) {
    let r = Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("get");
    (r.status().as_u16(), r.json().await.expect("json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_case_of_a_returning_caller_names_the_interpreter_who_served_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = on_request_settings();
    settings.records.database = format!("sqlite://{}", dir.path().join("hotline.db").display());
    let app = spawn_app(build_state(settings).await.expect("state")).await;
    let base = app.url("");
    let op = operator_login(&base).await;
    let best = add_interpreter(&app, "best", &["pt"], Level::Native).await;
    let known = add_interpreter_with(&app, "known", &["pt"], Level::Student, false).await;
    let _best = bot(&app, &best, Answer::Accept, 1).await;
    let mut known = bot(&app, &known, Answer::Accept, 2).await;

    // First call: the operator asks for "known", who interprets.
    let (first, token, _) = create_call(&base, json!({"chosen": "pt"})).await;
    let mut caller = caller_in_call(app.addr, &first, &token).await;
    let mut operator = operator_answers(&app, &first).await;
    let number = case_number_on(&mut caller).await;
    let r = Client::new()
        .post(app.url(&format!("/api/calls/{first}/participants")))
        .bearer_auth(&op)
        .json(&json!({"interpreter_id": "known"}))
        .send()
        .await
        .expect("ask by name");
    assert_eq!(r.status(), 202);
    progress(&mut operator, "accepted").await;
    expect(&mut known, "joined", "known joins the first call").await;
    assert_eq!(operator_hangs_up(&base, &op, &first).await, 204);
    let mut live = app.state.calls.live_count();
    live.wait_for(|n| *n == 0).await.expect("registry");
    let records = app.state.records.as_ref().expect("records");
    records.settled().await;

    // The caller calls again with the number (as read out: digits and spaces).
    let spoken = number.replace('-', " ");
    let (second, token, _) =
        create_call(&base, json!({"chosen": "pt", "case_number": spoken})).await;
    let mut caller = caller_in_call(app.addr, &second, &token).await;
    let view = caller.wait_for("call_state").await;
    assert_eq!(view["call"]["returning_case"], number.as_str());
    let _operator = operator_answers(&app, &second).await;
    assert_eq!(case_number_on(&mut caller).await, number);

    let (status, case) = get(app.url(&format!("/api/calls/{second}/case")), &op).await;
    assert_eq!(status, 200, "{case}");
    assert_eq!(case["number"], number.as_str());
    assert_eq!(case["calls"].as_array().map(Vec::len), Some(2), "{case}");
    assert_eq!(case["interpreters"], json!(["known"]), "{case}");
}
