//! Cases through a running app with a SQLite record: an operator answers a call and its case
//! opens by itself; the caller's socket gets the case number with the call's state; the operator
//! reads the call's case, fills notes, category and department, passes it on, adds follow-ups,
//! and cannot move it backwards. A returning caller who gives the number (typed any way) gets a
//! call linked to that case, an unknown or malformed number is refused before any call exists,
//! and the operator sees both calls on the case. Every case route wants an operator session, and
//! a node without a record has no cases while its calls go on.

use crate::common;

use common::ws::{
    answer, caller_in_call, operator_hangs_up, operator_login, operator_session,
    settings_with_operator, WsClient,
};
use common::{spawn_app, TestApp};
use hotline_bridge::app::build_state;
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

async fn app_with_sqlite() -> (TestApp, tempfile::TempDir) {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("hotline_bridge=info")
        .try_init(); // DEBUG
    let dir = tempfile::tempdir().expect("temp dir");
    let mut s = settings_with_operator();
    s.records.database = format!("sqlite://{}", dir.path().join("hotline.db").display());
    // A caller who mistypes the number tries again at once.
    s.calls.create_burst = 10;
    (spawn_app(build_state(s).await.expect("state")).await, dir)
}

/// POST /api/calls; the status and the body.
async fn new_call(app: &TestApp, body: Value) -> (StatusCode, Value) {
    let r = Client::new()
        .post(app.url("/api/calls"))
        .json(&body)
        .send()
        .await
        .expect("create call");
    (r.status(), r.json().await.expect("json"))
}

async fn request(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut r = Client::new().request(method, app.url(path));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.expect("request");
    let status = r.status();
    let text = r.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The case number in the next call state that carries one.
async fn case_number_on(ws: &mut WsClient) -> String {
    loop {
        let v = ws.wait_for("call_state").await;
        if let Some(n) = v["call"]["case_number"].as_str() {
            return n.to_owned();
        }
    }
}

/// A caller in a pt call answered by the operator: (call id, caller socket, operator socket).
async fn answered_call(app: &TestApp, op: &str, body: Value) -> (String, WsClient, WsClient) {
    let (status, created) = new_call(app, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["call_id"].as_str().expect("id").to_owned();
    let token = created["token"].as_str().expect("token");
    let caller = caller_in_call(app.addr, &id, token).await;
    let mut operator = operator_session(app.addr, op).await;
    answer(&mut operator, &id).await;
    (id, caller, operator)
}

fn error_code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_fills_the_case_the_caller_was_told() {
    let (app, _dir) = app_with_sqlite().await;
    let op = operator_login(&app.url("")).await;
    let (id, mut caller, _operator) = answered_call(&app, &op, json!({"chosen": "pt"})).await;
    let told = case_number_on(&mut caller).await;
    let (status, case) = request(
        &app,
        Method::GET,
        &format!("/api/calls/{id}/case"),
        Some(&op),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{case}");
    assert_eq!(case["number"], told.as_str());
    assert!(is_case_number(&told), "case number {told} is YYMMDD-NNNN");
    assert_eq!(
        (&case["status"], &case["operator"], &case["language"]),
        (&json!("open"), &json!("wang"), &json!("pt"))
    );
    let path = format!("/api/cases/{told}");

    // Passed on without a department: refused, and the notes given with it are not kept.
    let (status, e) = request(
        &app,
        Method::PATCH,
        &path,
        Some(&op),
        Some(json!({"notes": "x", "status": "passed_on"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "department");
    let (status, filled) = request(
        &app,
        Method::PATCH,
        &path,
        Some(&op),
        Some(json!({
            "notes": "旅客在首都机场T3丢失行李。\n黑色行李箱，有红色标签。",
            "category": "失物招领",
            "department": "首都机场",
            "status": "passed_on",
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{filled}");
    assert_eq!(filled["status"], "passed_on");
    assert_eq!(filled["department"], "首都机场");
    assert_eq!(filled["updated_by"], "wang");
    assert!(filled["notes"].as_str().expect("notes").contains('\n'));

    let (status, e) = request(
        &app,
        Method::PATCH,
        &path,
        Some(&op),
        Some(json!({"status": "open"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{e}");
    assert_eq!(error_code(&e), "invalid_transition");
    for (bad, field) in [
        (json!({"category": "a\u{202E}b"}), "category"),
        (json!({"department": "x".repeat(81)}), "department"),
        (json!({"notes": "a\u{7}b"}), "notes"),
    ] {
        let (status, e) = request(&app, Method::PATCH, &path, Some(&op), Some(bad)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        assert_eq!(e["error"]["field"], field, "{e}");
    }
    let (status, e) = request(
        &app,
        Method::PATCH,
        &path,
        Some(&op),
        Some(json!({"status": "closed"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (status, e) = request(&app, Method::PATCH, &path, Some(&op), Some(json!({}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");

    let follow_ups = format!("{path}/follow_ups");
    let (status, f) = request(
        &app,
        Method::POST,
        &follow_ups,
        Some(&op),
        Some(json!({"text": "机场回电：行李已找到"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{f}");
    assert_eq!(f["follow_ups"][0]["author"], "wang");
    let (status, e) = request(
        &app,
        Method::POST,
        &follow_ups,
        Some(&op),
        Some(json!({"text": "   "})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");

    // After the call: resolved, and listed.
    assert_eq!(
        operator_hangs_up(&app.url(""), &op, &id).await,
        StatusCode::NO_CONTENT
    );
    let (status, done) = request(
        &app,
        Method::PATCH,
        &path,
        Some(&op),
        Some(json!({"status": "resolved"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["notes"], filled["notes"]);
    let (status, list) = request(
        &app,
        Method::GET,
        "/api/cases?status=resolved",
        Some(&op),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list[0]["number"], told.as_str());
    let (status, list) =
        request(&app, Method::GET, "/api/cases?status=open", Some(&op), None).await;
    assert_eq!((status, list), (StatusCode::OK, json!([])));
    let (status, e) = request(&app, Method::GET, "/api/cases?status=x", Some(&op), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (status, e) = request(&app, Method::GET, "/api/cases/261204-9999", Some(&op), None).await;
    assert_eq!(
        (status, error_code(&e)),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let (status, _) = request(&app, Method::GET, "/api/cases/nonsense", Some(&op), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

fn is_case_number(n: &str) -> bool {
    let b = n.as_bytes();
    b.len() == 11
        && b[6] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 6 || c.is_ascii_digit())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_caller_with_the_number_reaches_a_call_linked_to_the_case() {
    let (app, _dir) = app_with_sqlite().await;
    let op = operator_login(&app.url("")).await;
    let (first, mut caller, _operator) = answered_call(&app, &op, json!({"chosen": "pt"})).await;
    let number = case_number_on(&mut caller).await;
    assert_eq!(
        operator_hangs_up(&app.url(""), &op, &first).await,
        StatusCode::NO_CONTENT
    );

    // Mistyped or unknown: refused before any call is made.
    let (status, e) = new_call(&app, json!({"chosen": "pt", "case_number": "12-34"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "case_number");
    let (status, e) = new_call(&app, json!({"chosen": "pt", "case_number": "2612049999"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(error_code(&e), "unknown_case");
    assert_eq!(app.state.calls.live().len(), 0, "no call was made");

    // Typed without the dash: the same case.
    let typed = number.replace('-', " ");
    let (second, mut caller, _operator) =
        answered_call(&app, &op, json!({"chosen": "pt", "case_number": typed})).await;
    // Told once the link is written.
    assert_eq!(case_number_on(&mut caller).await, number);
    let (status, case) = request(
        &app,
        Method::GET,
        &format!("/api/calls/{second}/case"),
        Some(&op),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{case}");
    assert_eq!(case["number"], number.as_str());
    let calls: Vec<(String, bool)> = case["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|c| {
            (
                c["call_id"].as_str().expect("id").to_owned(),
                c["opened"].as_bool().expect("opened"),
            )
        })
        .collect();
    assert_eq!(calls, [(first, true), (second, false)]);
}

#[tokio::test]
async fn every_case_route_wants_an_operator_session() {
    let (app, _dir) = app_with_sqlite().await;
    let (status, created) = new_call(&app, json!({"chosen": "pt"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["call_id"].as_str().expect("id");
    let caller_token = created["token"].as_str().expect("token");
    let routes = [
        (Method::GET, "/api/cases".to_owned(), None),
        (Method::GET, "/api/cases/261204-0001".to_owned(), None),
        (
            Method::PATCH,
            "/api/cases/261204-0001".to_owned(),
            Some(json!({"notes": "x"})),
        ),
        (
            Method::POST,
            "/api/cases/261204-0001/follow_ups".to_owned(),
            Some(json!({"text": "x"})),
        ),
        (Method::GET, format!("/api/calls/{id}/case"), None),
        (Method::POST, format!("/api/calls/{id}/case"), None),
    ];
    for (method, path, body) in routes {
        for token in [None, Some(caller_token), Some("not-a-session")] {
            let (status, e) = request(&app, method.clone(), &path, token, body.clone()).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {e}");
            assert_eq!(error_code(&e), "unauthorized");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_can_open_a_live_call_s_case_by_hand_and_gets_the_same_one() {
    // The case of a live call opens on the operator's demand too (idempotent: the same case).
    let (app, _dir) = app_with_sqlite().await;
    let op = operator_login(&app.url("")).await;
    let (id, mut caller, _operator) = answered_call(&app, &op, json!({"chosen": "en"})).await;
    let told = case_number_on(&mut caller).await;
    let (status, case) = request(
        &app,
        Method::POST,
        &format!("/api/calls/{id}/case"),
        Some(&op),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{case}");
    assert_eq!(case["number"], told.as_str());
    let (status, e) = request(
        &app,
        Method::POST,
        "/api/calls/no-such-call/case",
        Some(&op),
        None,
    )
    .await;
    assert_eq!(
        (status, error_code(&e)),
        (StatusCode::NOT_FOUND, "not_found")
    );
}

#[tokio::test]
async fn without_a_record_there_are_no_cases_and_calls_go_on() {
    let app = spawn_app(build_state(settings_with_operator()).await.expect("state")).await;
    let op = operator_login(&app.url("")).await;
    let (status, e) = request(&app, Method::GET, "/api/cases", Some(&op), None).await;
    assert_eq!(
        (status, error_code(&e)),
        (StatusCode::NOT_FOUND, "no_record")
    );
    // A case number given without a record is not checked and not kept.
    let (status, created) =
        new_call(&app, json!({"chosen": "pt", "case_number": "261204-0001"})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
}

#[tokio::test]
async fn the_case_routes_are_in_the_openapi_document() {
    let (app, _dir) = app_with_sqlite().await;
    let (_, doc) = request(&app, Method::GET, "/api/openapi.json", None, None).await;
    for (path, method) in [
        ("/api/cases", "get"),
        ("/api/cases/{number}", "get"),
        ("/api/cases/{number}", "patch"),
        ("/api/cases/{number}/follow_ups", "post"),
        ("/api/calls/{id}/case", "get"),
        ("/api/calls/{id}/case", "post"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op["responses"]["401"].is_object(), "{method} {path}");
        assert_eq!(op["security"][0]["operator_session"], json!([]));
    }
}
