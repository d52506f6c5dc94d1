//! `/api/openapi.json` documents the catalog, university and admin endpoints: every route with its
//! methods, the bearer security scheme, and the request and response shapes.
use crate::common;

use common::{spawn_app, test_settings};
use hotline_bridge::app::AppState;
use serde_json::Value;

#[tokio::test]
async fn the_document_lists_every_catalog_and_university_route() {
    let app = spawn_app(AppState::in_memory(test_settings())).await;
    let r = reqwest::get(app.url("/api/openapi.json"))
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.expect("json");
    assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
    let expected = [
        ("/api/languages", &["get"][..]),
        ("/api/coverage", &["get"]),
        ("/api/university", &["get"]),
        ("/api/universities/{uid}/interpreters", &["get", "post"]),
        (
            "/api/universities/{uid}/interpreters/{iid}",
            &["get", "put", "delete"],
        ),
        (
            "/api/universities/{uid}/interpreters/{iid}/token",
            &["post"],
        ),
        ("/api/admin/stuck", &["get"]),
        ("/api/admin/interpreters/{iid}/release", &["post"]),
        ("/api/admin/calls/{id}/end", &["post"]),
    ];
    for (path, methods) in expected {
        for m in methods {
            let op = &doc["paths"][path][m];
            assert!(op.is_object(), "{m} {path} is not documented");
            assert!(op["responses"].is_object(), "{m} {path} has no responses");
        }
    }
    let create = &doc["paths"]["/api/universities/{uid}/interpreters"]["post"];
    assert!(create["responses"]["201"].is_object());
    assert!(create["responses"]["422"].is_object());
    // The refusals every route of a university's interpreter shares are documented on each.
    let read = &doc["paths"]["/api/universities/{uid}/interpreters/{iid}"]["get"];
    for status in ["200", "401", "403", "404"] {
        assert!(
            read["responses"][status]["description"].is_string(),
            "GET one interpreter does not document {status}"
        );
    }
    assert!(create["responses"]["403"]["description"].is_string());
    assert_eq!(
        create["security"][0]["university_key"],
        Value::Array(vec![])
    );
    let scheme = &doc["components"]["securitySchemes"]["university_key"];
    assert_eq!(
        (scheme["type"].as_str(), scheme["scheme"].as_str()),
        (Some("http"), Some("bearer"))
    );
    let schemas = &doc["components"]["schemas"];
    for name in [
        "InterpreterInput",
        "InterpreterView",
        "IssuedToken",
        "ShiftDoc",
        "SkillDoc",
        "CoverageResponse",
        "Languages",
        "ErrorBody",
    ] {
        assert!(schemas[name].is_object(), "schema {name} missing");
    }
    let admin = &doc["components"]["securitySchemes"]["admin_key"];
    assert_eq!(admin["scheme"].as_str(), Some("bearer"));
    assert!(
        schemas["StuckReport"].is_object(),
        "schema StuckReport missing"
    );
    // The view never documents a token hash.
    assert!(schemas["InterpreterView"]["properties"]["token_sha256"].is_null());
}
