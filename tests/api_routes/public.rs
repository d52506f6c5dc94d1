//! Routes that need no account: health, readiness, metrics, the OpenAPI document, the catalog
//! (languages, coverage), language detection, the pages, CSP reports, and the WebSocket door.

use super::support::{address, settings, Api, BFSU_KEY, SISU_KEY};
use axum::http::{header, Method, StatusCode};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn healthz_and_readyz_answer_and_readyz_says_when_the_node_drains() {
    let api = Api::new();
    let v = api.get("/healthz").send().await;
    assert_eq!(v.ok(StatusCode::OK)["status"], "ok");
    let v = api.get("/readyz").send().await;
    let body = v.ok(StatusCode::OK);
    assert_eq!(
        (&body["status"], &body["pool"]),
        (&json!("ready"), &json!("memory"))
    );
    assert!(body["node"]["id"].is_string(), "{}", v.text);

    api.state.lifecycle.begin_drain(Duration::from_secs(600));
    let v = api.get("/readyz").send().await;
    v.error(StatusCode::SERVICE_UNAVAILABLE, "draining");
    assert_eq!(v.json["status"], "draining");
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let api = Api::new();
    let v = api.get("/metrics").send().await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.text);
    let content_type = v.header(header::CONTENT_TYPE).expect("content type");
    assert!(content_type.as_bytes().starts_with(b"text/plain"));
    assert!(v.text.contains("hotline_calls_waiting"), "{}", v.text);
}

#[tokio::test]
async fn the_openapi_document_lists_the_json_routes() {
    let api = Api::new();
    let v = api.get("/api/openapi.json").send().await;
    let paths = &v.ok(StatusCode::OK)["paths"];
    for path in [
        "/api/calls",
        "/api/calls/{id}/rating",
        "/api/operator/login",
        "/api/universities/{uid}/interpreters/{iid}",
        "/api/admin/stuck",
        "/api/detect",
        "/api/coverage",
    ] {
        assert!(paths[path].is_object(), "{path} missing");
    }
}

#[tokio::test]
async fn languages_list_core_extended_and_the_operators_language() {
    let api = Api::new();
    let v = api.get("/api/languages").send().await;
    let body = v.ok(StatusCode::OK);
    let core = body["core"].as_array().expect("core");
    assert!(
        core.iter().any(|l| l["code"] == "ar" && l["rtl"] == true),
        "{}",
        v.text
    );
    assert!(body["extended"].as_array().is_some_and(|e| !e.is_empty()));
    assert!(body["operator"]["code"].is_string());
}

#[tokio::test]
async fn coverage_is_public_one_universitys_needs_its_key() {
    let api = Api::new();
    api.register("bfsu", BFSU_KEY, "bfsu-ana").await;
    let v = api.get("/api/coverage").send().await;
    assert_eq!(v.ok(StatusCode::OK)["scope"], "all");
    let v = api
        .get("/api/coverage?university=bfsu&at=2026-07-06T10:00:00Z")
        .auth(BFSU_KEY);
    let v = v.send().await;
    let body = v.ok(StatusCode::OK);
    assert_eq!(
        (&body["scope"], &body["university"]),
        (&json!("university"), &json!("bfsu"))
    );

    let v = api.get("/api/coverage?university=bfsu").send().await;
    v.error(StatusCode::UNAUTHORIZED, "unauthorized");
    let v = api
        .get("/api/coverage?university=bfsu")
        .auth("not-a-key")
        .send()
        .await;
    v.error(StatusCode::UNAUTHORIZED, "unauthorized");
    let v = api
        .get("/api/coverage?university=bfsu")
        .auth(SISU_KEY)
        .send()
        .await;
    v.error(StatusCode::FORBIDDEN, "forbidden");
    let v = api.get("/api/coverage?at=yesterday").send().await;
    assert_eq!(
        v.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid")["field"],
        "at"
    );
    let v = api.get("/api/coverage?at=a&at=b").send().await;
    v.error(StatusCode::BAD_REQUEST, "bad_request");
}

#[tokio::test]
async fn coverage_and_detect_share_the_public_limit_per_address() {
    let mut s = settings();
    s.limits.public_per_minute = 1;
    s.limits.public_burst = 2;
    let api = Api::with(s);
    let detect = || api.post("/api/detect").json(json!({ "text": "Olá" }));
    detect().send().await.ok(StatusCode::OK);
    api.get("/api/coverage").send().await.ok(StatusCode::OK);
    detect().send().await.limited("rate_limited");
    api.get("/api/coverage")
        .send()
        .await
        .limited("rate_limited");
    // Another address has its own allowance; a university with its key is not limited.
    detect().from(address(2)).send().await.ok(StatusCode::OK);
    let v = api
        .get("/api/coverage?university=bfsu")
        .auth(BFSU_KEY)
        .send()
        .await;
    v.ok(StatusCode::OK);
}

#[tokio::test]
async fn detect_assesses_the_signals_and_refuses_bad_ones_with_the_field() {
    let api = Api::new();
    let body = json!({ "text": "Olá, perdi o meu passaporte", "browser_languages": ["pt-BR"] });
    let v = api.post("/api/detect").json(body).send().await;
    let v = v.ok(StatusCode::OK);
    assert_eq!(v["decided"], "pt", "{v}");
    assert!(v["candidates"].as_array().is_some_and(|c| !c.is_empty()));

    let post = |body| api.post("/api/detect").json(body);
    let v = post(json!({ "chosen": "xx" })).send().await;
    assert_eq!(
        v.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid")["field"],
        "chosen"
    );
    let many: Vec<String> = (0..40).map(|i| format!("en-{i:02}")).collect();
    let v = post(json!({ "browser_languages": many })).send().await;
    let e = v.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    assert_eq!(e["field"], "browser_languages");
    let v = post(json!({ "text": "a".repeat(3000) })).send().await;
    assert_eq!(
        v.error(StatusCode::PAYLOAD_TOO_LARGE, "too_large")["field"],
        "text"
    );
    let v = post(json!({ "txt": "typo" })).send().await;
    v.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    let v = api
        .post("/api/detect")
        .raw("application/json", "{\"text\":");
    v.send().await.error(StatusCode::BAD_REQUEST, "bad_request");
    let v = api.post("/api/detect").raw("text/plain", "{}").send().await;
    v.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_in_the_error_format() {
    let api = Api::new();
    let limit = api.state.settings.server.max_body_bytes;
    let big = format!("{{\"text\":\"{}\"}}", "a".repeat(limit));
    let v = api
        .post("/api/detect")
        .raw("application/json", big)
        .send()
        .await;
    v.error(StatusCode::PAYLOAD_TOO_LARGE, "too_large");
}

#[tokio::test]
async fn pages_and_assets_are_served_and_unknown_ones_are_json_404s() {
    let api = Api::new();
    for (path, mime) in [
        ("/", "text/html"),
        ("/call", "text/html"),
        ("/js/call.js", "text/javascript"),
    ] {
        let v = api.get(path).send().await;
        assert_eq!(v.status, StatusCode::OK, "{path}");
        let content_type = v.header(header::CONTENT_TYPE).expect("content type");
        assert!(
            content_type.as_bytes().starts_with(mime.as_bytes()),
            "{path}: {content_type:?}"
        );
    }
    for path in [
        "/no-such-page",
        "/api/no-such-route",
        "/js/../index.html",
        "/js/nope.js",
    ] {
        api.get(path)
            .send()
            .await
            .error(StatusCode::NOT_FOUND, "not_found");
    }
}

#[tokio::test]
async fn csp_reports_are_taken_without_an_answer() {
    let api = Api::new();
    let report = json!({ "csp-report": { "blocked-uri": "https://evil.example/x.js" } });
    let v = api.post("/api/csp-report").json(report).send().await;
    assert_eq!(v.status, StatusCode::NO_CONTENT);
    assert!(v.text.is_empty());
}

#[tokio::test]
async fn the_websocket_door_refuses_what_is_not_an_upgrade() {
    let api = Api::new();
    let v = api.get("/ws").send().await;
    assert_eq!(v.status, StatusCode::BAD_REQUEST, "{}", v.text);
    let v = api.request(Method::POST, "/ws").send().await;
    assert_eq!(v.status, StatusCode::METHOD_NOT_ALLOWED);
    // Every header of an upgrade, but no connection that could be upgraded.
    let v = api
        .get("/ws")
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await;
    assert_eq!(v.status, StatusCode::UPGRADE_REQUIRED, "{}", v.text);
    assert_eq!(
        api.state.limits.ws_sessions.held(),
        0,
        "no session slot taken"
    );
}
