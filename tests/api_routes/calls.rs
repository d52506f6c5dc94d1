//! The calls API: create, view, hang up, rate, invite an interpreter, remove a participant.

use super::support::{address, settings, Api, BFSU_KEY};
use axum::http::{header, Method, StatusCode};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn a_call_is_created_and_bad_requests_are_refused_with_their_field() {
    let api = Api::new();
    let v = api
        .post("/api/calls")
        .json(json!({ "chosen": "pt" }))
        .send()
        .await;
    let body = v.ok(StatusCode::CREATED);
    assert_eq!(
        body["call_id"].as_str().map(str::len),
        Some(32),
        "{}",
        v.text
    );
    assert!(body["token"].as_str().is_some_and(|t| t.len() >= 22));
    assert_eq!(
        (&body["ws_url"], &body["language"]["code"]),
        (&json!("/ws"), &json!("pt"))
    );

    let create = || api.post("/api/calls").from(address(2));
    let v = create().json(json!({ "chosen": "xx" })).send().await;
    assert_eq!(
        v.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid")["field"],
        "chosen"
    );
    let v = create()
        .json(json!({ "text": "a".repeat(3000) }))
        .send()
        .await;
    assert_eq!(
        v.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid")["field"],
        "text"
    );
    let v = create().json(json!({ "language": "pt" })).send().await;
    v.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    let v = api
        .post("/api/calls")
        .from(address(3))
        .raw("application/json", "{");
    v.send().await.error(StatusCode::BAD_REQUEST, "bad_request");
    let v = api
        .post("/api/calls")
        .from(address(4))
        .raw("text/plain", "{}");
    v.send()
        .await
        .error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
}

#[tokio::test]
async fn call_creation_is_limited_per_address_and_by_the_waiting_calls() {
    let mut s = settings();
    s.calls.create_per_minute = 1;
    s.calls.create_burst = 2;
    s.calls.max_waiting_per_address = 1;
    s.calls.max_waiting = 2;
    let api = Api::with(s);
    let create = |n| api.post("/api/calls").from(address(n)).json(json!({}));
    create(1).send().await.ok(StatusCode::CREATED);
    // The address's second waiting call: over max_waiting_per_address.
    create(1).send().await.limited("too_many_waiting");
    // Its third request in a minute: over the rate.
    create(1).send().await.limited("rate_limited");
    create(2).send().await.ok(StatusCode::CREATED);
    let v = create(3).send().await;
    v.error(StatusCode::SERVICE_UNAVAILABLE, "queue_full");
    assert!(
        v.header(header::RETRY_AFTER).is_some(),
        "queue_full says when to call again"
    );
}

#[tokio::test]
async fn a_draining_node_takes_no_new_calls() {
    let api = Api::new();
    api.state.lifecycle.begin_drain(Duration::from_secs(600));
    let v = api.post("/api/calls").json(json!({})).send().await;
    v.error(StatusCode::SERVICE_UNAVAILABLE, "draining");
}

#[tokio::test]
async fn a_call_is_read_by_its_caller_and_operators_only() {
    let api = Api::new();
    let (id, token) = api.create_call().await;
    let (other, other_token) = api.create_call().await;
    let path = format!("/api/calls/{id}");
    let v = api.get(&path).auth(&token).send().await;
    let body = v.ok(StatusCode::OK);
    assert_eq!(
        (&body["call_id"], &body["state"]),
        (&json!(id), &json!("queued"))
    );
    let v = api.get(&path).auth(&api.operator_token()).send().await;
    v.ok(StatusCode::OK);

    api.get(&path)
        .send()
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthorized");
    let v = api.get(&path).auth(&other_token).send().await;
    v.error(StatusCode::FORBIDDEN, "forbidden");
    let v = api
        .get("/api/calls/0123456789abcdef")
        .auth(&token)
        .send()
        .await;
    v.error(StatusCode::NOT_FOUND, "not_found");
    let v = api.get("/api/calls/NOT-AN-ID").auth(&token).send().await;
    v.error(StatusCode::NOT_FOUND, "not_found");
    assert_ne!(id, other);
}

#[tokio::test]
async fn a_call_is_hung_up_by_its_caller_once() {
    let api = Api::new();
    let (id, token) = api.create_call().await;
    let (_, other_token) = api.create_call().await;
    let path = format!("/api/calls/{id}/hangup");
    api.post(&path)
        .send()
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthorized");
    let v = api.post(&path).auth(&other_token).send().await;
    v.error(StatusCode::FORBIDDEN, "forbidden");
    let v = api.post("/api/calls/0123456789abcdef/hangup").auth(&token);
    v.send().await.error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        api.post(&path).auth(&token).send().await.status,
        StatusCode::NO_CONTENT
    );
    api.wait_ended(&id).await;
    let v = api.post(&path).auth(&token).send().await;
    v.error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn an_operator_hangs_up_any_call() {
    let api = Api::new();
    let (id, _) = api.create_call().await;
    let v = api
        .post(&format!("/api/calls/{id}/hangup"))
        .auth(&api.operator_token());
    assert_eq!(v.send().await.status, StatusCode::NO_CONTENT);
    api.wait_ended(&id).await;
}

#[tokio::test]
async fn a_call_is_rated_once_by_its_caller_after_it_ended() {
    let api = Api::new();
    let (id, token) = api.create_call().await;
    let (_, other_token) = api.create_call().await;
    let path = format!("/api/calls/{id}/rating");
    let rate = |stars: serde_json::Value| api.post(&path).json(json!({ "stars": stars }));
    rate(json!(5))
        .auth(&token)
        .send()
        .await
        .error(StatusCode::CONFLICT, "not_ended");
    let v = api
        .post(&format!("/api/calls/{id}/hangup"))
        .auth(&token)
        .send()
        .await;
    assert_eq!(v.status, StatusCode::NO_CONTENT);
    api.wait_ended(&id).await;

    for bad in [json!(0), json!(6)] {
        let v = rate(bad.clone()).auth(&token).send().await;
        let e = v.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert_eq!(e["field"], "stars", "{bad}");
    }
    let v = rate(json!("five")).auth(&token).send().await;
    v.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    let v = api
        .post(&path)
        .auth(&token)
        .raw("application/json", "{\"stars\":");
    v.send().await.error(StatusCode::BAD_REQUEST, "bad_request");
    rate(json!(4))
        .send()
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthorized");
    let v = rate(json!(4)).auth(&other_token).send().await;
    v.error(StatusCode::FORBIDDEN, "forbidden");
    let v = api.post("/api/calls/0123456789abcdef/rating").auth(&token);
    let v = v.json(json!({ "stars": 4 })).send().await;
    v.error(StatusCode::NOT_FOUND, "not_found");

    assert_eq!(
        rate(json!(4)).auth(&token).send().await.status,
        StatusCode::NO_CONTENT
    );
    let v = rate(json!(5)).auth(&token).send().await;
    v.error(StatusCode::CONFLICT, "already_rated");
}

#[tokio::test]
async fn an_operator_invites_a_free_interpreter_but_not_an_engaged_one() {
    let api = Api::new();
    api.register("bfsu", BFSU_KEY, "bfsu-ana").await;
    api.register("bfsu", BFSU_KEY, "bfsu-bia").await;
    api.engage("bfsu-bia").await;
    let (id, token) = api.create_call().await;
    let op = api.operator_token();
    let path = format!("/api/calls/{id}/participants");
    let invite = |who: &str| api.post(&path).json(json!({ "interpreter_id": who }));

    // Asked for by name: a dispatch request that rings them first (tests/dispatch_by_name.rs
    // follows the ring); a second request for the same call is refused while it runs.
    let v = invite("bfsu-ana").auth(&op).send().await;
    v.ok(StatusCode::ACCEPTED);
    let v = invite("bfsu-ana").auth(&op).send().await;
    v.error(StatusCode::CONFLICT, "conflict");

    invite("bfsu-ana")
        .send()
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthorized");
    let v = invite("bfsu-ana").auth(&token).send().await;
    v.error(StatusCode::UNAUTHORIZED, "unauthorized");
    let v = invite("bfsu-bia").auth(&op).send().await;
    let e = v.error(StatusCode::CONFLICT, "interpreter_engaged");
    assert_eq!(e["field"], "interpreter_id");
    let v = invite("bfsu-nobody").auth(&op).send().await;
    assert_eq!(
        v.error(StatusCode::NOT_FOUND, "not_found")["field"],
        "interpreter_id"
    );
    let v = invite("Not An Id").auth(&op).send().await;
    v.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    let v = api
        .post("/api/calls/0123456789abcdef/participants")
        .auth(&op);
    let v = v.json(json!({ "interpreter_id": "bfsu-ana" })).send().await;
    v.error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn an_operator_removes_a_participant_the_caller_ending_the_call() {
    let api = Api::new();
    let (id, token) = api.create_call().await;
    let op = api.operator_token();
    let remove = |p: &str| {
        let path = format!("/api/calls/{id}/participants/{p}");
        api.request(Method::DELETE, &path)
    };
    remove("caller")
        .send()
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthorized");
    let v = remove("caller").auth(&token).send().await;
    v.error(StatusCode::UNAUTHORIZED, "unauthorized");
    let v = remove("int-bfsu-ana").auth(&op).send().await;
    v.error(StatusCode::NOT_FOUND, "not_found");
    remove("NOT-AN-ID")
        .auth(&op)
        .send()
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    let v = api.request(
        Method::DELETE,
        "/api/calls/0123456789abcdef/participants/caller",
    );
    v.auth(&op)
        .send()
        .await
        .error(StatusCode::NOT_FOUND, "not_found");

    assert_eq!(
        remove("caller").auth(&op).send().await.status,
        StatusCode::NO_CONTENT
    );
    api.wait_ended(&id).await;
    let v = api
        .get(&format!("/api/calls/{id}"))
        .auth(&token)
        .send()
        .await;
    v.error(StatusCode::NOT_FOUND, "not_found");
}
