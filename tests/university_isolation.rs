//! University API keys and isolation: missing or wrong keys are 401, another university's key is
//! 403, and through its own path a university finds another's interpreters absent (404) and can
//! neither read, change, remove, re-token nor shadow them.
use crate::common;

use common::universities::{ana, env};
use hotline_bridge::domain::InterpreterId;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn keys_that_are_missing_wrong_or_another_universitys_are_refused() {
    let e = env().await;
    let path = "/api/universities/bfsu/interpreters";
    let a = e.call(Method::GET, path, None, None).await;
    assert_eq!(
        (a.status, &a.body["error"]["code"]),
        (StatusCode::UNAUTHORIZED, &json!("unauthorized"))
    );
    let a = e.call(Method::GET, path, Some("wrong-key"), None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let basic = e
        .http
        .get(e.app.url(path))
        .header("authorization", format!("Basic {}", e.keys["bfsu"]))
        .send()
        .await
        .expect("request");
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
    let a = e.call(Method::GET, path, Some("sisu"), None).await;
    assert_eq!(
        (a.status, &a.body["error"]["code"]),
        (StatusCode::FORBIDDEN, &json!("forbidden"))
    );
    let a = e
        .call(
            Method::GET,
            "/api/universities/nowhere/interpreters",
            Some("bfsu"),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = e
        .call(
            Method::GET,
            "/api/universities/nowhere/interpreters",
            None,
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let a = e
        .call(Method::POST, path, Some("sisu"), Some(ana("bfsu-pt-01")))
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);

    let a = e
        .call(Method::GET, "/api/university", Some("bfsu"), None)
        .await;
    assert_eq!(
        (a.status, &a.body),
        (StatusCode::OK, &json!({ "id": "bfsu", "name": "bfsu" }))
    );
    let a = e.call(Method::GET, "/api/university", None, None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_university_can_never_see_or_change_anothers_interpreters() {
    let e = env().await;
    let created = e.create("bfsu", ana("bfsu-pt-01")).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = InterpreterId::parse("bfsu-pt-01").expect("id");
    let before = e
        .app
        .state
        .pool
        .profile(&id)
        .await
        .expect("pool")
        .expect("stored");

    // Through its own path, another university's interpreter does not exist.
    let own = "/api/universities/sisu/interpreters/bfsu-pt-01";
    let mut renamed = ana("bfsu-pt-01");
    renamed["name"] = json!("Hijacked");
    for (method, path, body) in [
        (Method::GET, own.to_owned(), None),
        (Method::PUT, own.to_owned(), Some(renamed.clone())),
        (Method::DELETE, own.to_owned(), None),
        (Method::POST, format!("{own}/token"), None),
    ] {
        let a = e.call(method.clone(), &path, Some("sisu"), body).await;
        assert_eq!(
            a.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            a.text
        );
        assert!(!a.text.contains("Ana Lima"));
    }
    let list = e
        .call(
            Method::GET,
            "/api/universities/sisu/interpreters",
            Some("sisu"),
            None,
        )
        .await;
    assert_eq!(list.body["interpreters"], json!([]));
    // Through the owner's path, the key is the wrong one.
    let theirs = "/api/universities/bfsu/interpreters/bfsu-pt-01";
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let body = (method == Method::PUT).then(|| renamed.clone());
        let a = e.call(method.clone(), theirs, Some("sisu"), body).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{method}");
    }
    // Registering into the other's namespace is refused too.
    let a = e.create("sisu", ana("bfsu-pt-02")).await;
    assert_eq!(
        (a.status, &a.body["error"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("id"))
    );

    let after = e
        .app
        .state
        .pool
        .profile(&id)
        .await
        .expect("pool")
        .expect("still there");
    assert_eq!(after, before);
}
