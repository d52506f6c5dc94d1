//! The university API over real HTTP: registering interpreters (201, personal token shown once,
//! stored only as a hash), generated and taken ids, editing (token kept), new tokens, removing
//! (409 while on a call, then 204 and gone); the same lifecycle on the Redis pool.
use crate::common;

use common::fixtures::lang;
use common::redis::TestRedis;
use common::universities::{ana, env, env_on};
use hotline_bridge::auth;
use hotline_bridge::domain::{CallId, InterpreterId, NodeId, OfferId};
use hotline_bridge::pool::{Availability, ClaimRequest};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn registering_returns_201_and_the_token_exactly_once() {
    let e = env().await;
    let a = e.create("bfsu", ana("bfsu-pt-01")).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(
        a.location.as_deref(),
        Some("/api/universities/bfsu/interpreters/bfsu-pt-01")
    );
    let token = a.body["token"].as_str().expect("token").to_owned();
    assert!(token.starts_with("bfsu-pt-01."), "{token}");
    assert!(token.len() > "bfsu-pt-01.".len() + 30);
    let i = &a.body["interpreter"];
    assert_eq!(i["university"], "bfsu");
    assert_eq!(i["has_token"], true);
    assert_eq!(i["status"], "offline");
    assert_eq!(
        i["languages"][0],
        json!({ "language": "pt", "level": "native" })
    );
    assert_eq!(
        i["shifts"][1],
        json!({ "day": "sat", "start": "22:00", "end": "06:00" })
    );
    assert!(!a.text.contains("sha256"), "{}", a.text);

    // Stored as a hash only.
    let id = InterpreterId::parse("bfsu-pt-01").expect("id");
    let stored = e
        .app
        .state
        .pool
        .profile(&id)
        .await
        .expect("pool")
        .expect("stored");
    assert_eq!(
        stored.token_sha256.as_deref(),
        Some(auth::sha256_hex(&token).as_str())
    );

    // Never shown again.
    for path in [
        "/api/universities/bfsu/interpreters",
        "/api/universities/bfsu/interpreters/bfsu-pt-01",
    ] {
        let a = e.call(Method::GET, path, Some("bfsu"), None).await;
        assert_eq!(a.status, StatusCode::OK);
        assert!(!a.text.contains(&token[11..]), "{path} shows the token");
        assert!(!a.text.contains("\"token\""), "{path}: {}", a.text);
        assert!(!a.text.contains("sha256"), "{path}: {}", a.text);
    }
    let list = e
        .call(
            Method::GET,
            "/api/universities/bfsu/interpreters",
            Some("bfsu"),
            None,
        )
        .await;
    assert_eq!(list.body["interpreters"].as_array().expect("list").len(), 1);
    assert_eq!(list.body["university"]["id"], "bfsu");
}

#[tokio::test]
async fn an_id_is_generated_in_the_universitys_namespace_and_a_taken_one_is_409() {
    let e = env().await;
    let mut body = ana("x");
    body.as_object_mut().expect("object").remove("id");
    let a = e.create("sisu", body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let id = a.body["interpreter"]["id"].as_str().expect("id");
    assert!(id.starts_with("sisu-") && id.len() > 6, "{id}");

    assert_eq!(
        e.create("bfsu", ana("bfsu-pt-01")).await.status,
        StatusCode::CREATED
    );
    let again = e.create("bfsu", ana("bfsu-pt-01")).await;
    assert_eq!(
        (again.status, &again.body["error"]["field"]),
        (StatusCode::CONFLICT, &json!("id"))
    );
}

#[tokio::test]
async fn editing_replaces_the_profile_and_keeps_the_token() {
    let e = env().await;
    e.create("bfsu", ana("bfsu-pt-01")).await;
    let id = InterpreterId::parse("bfsu-pt-01").expect("id");
    let hash = e
        .app
        .state
        .pool
        .profile(&id)
        .await
        .expect("pool")
        .expect("stored")
        .token_sha256;
    let path = "/api/universities/bfsu/interpreters/bfsu-pt-01";

    let mut edit = ana("bfsu-pt-01");
    edit["name"] = json!("Ana Beatriz Lima");
    edit["languages"] = json!([{ "language": "es", "level": "student" }]);
    edit["timezone"] = json!("Europe/Lisbon");
    edit["shifts"] = json!([{ "day": "sun", "start": "20:00", "end": "02:00" }]);
    let a = e.call(Method::PUT, path, Some("bfsu"), Some(edit)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["name"], "Ana Beatriz Lima");
    assert_eq!(a.body["timezone"], "Europe/Lisbon");
    assert_eq!(
        a.body["languages"],
        json!([{ "language": "es", "level": "student" }])
    );
    let stored = e
        .app
        .state
        .pool
        .profile(&id)
        .await
        .expect("pool")
        .expect("stored");
    assert_eq!(stored.token_sha256, hash);
    assert_eq!(stored.name, "Ana Beatriz Lima");

    let mut no_id = ana("x");
    no_id.as_object_mut().expect("object").remove("id");
    assert_eq!(
        e.call(Method::PUT, path, Some("bfsu"), Some(no_id))
            .await
            .status,
        StatusCode::OK
    );
    let a = e
        .call(Method::PUT, path, Some("bfsu"), Some(ana("bfsu-pt-02")))
        .await;
    assert_eq!(
        (a.status, &a.body["error"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("id"))
    );
    let mut bad = ana("bfsu-pt-01");
    bad["shifts"][0]["end"] = json!("09:00");
    let a = e.call(Method::PUT, path, Some("bfsu"), Some(bad)).await;
    assert_eq!(a.body["error"]["field"], "shifts");
    let a = e
        .call(
            Method::PUT,
            "/api/universities/bfsu/interpreters/bfsu-pt-09",
            Some("bfsu"),
            Some(ana("bfsu-pt-09")),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_new_token_replaces_the_old_one_and_is_shown_once() {
    let e = env().await;
    let first = e.create("bfsu", ana("bfsu-pt-01")).await.body["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let a = e
        .call(
            Method::POST,
            "/api/universities/bfsu/interpreters/bfsu-pt-01/token",
            Some("bfsu"),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let second = a.body["token"].as_str().expect("token").to_owned();
    assert_ne!(first, second);
    assert!(second.starts_with("bfsu-pt-01."));
    let id = InterpreterId::parse("bfsu-pt-01").expect("id");
    let stored = e
        .app
        .state
        .pool
        .profile(&id)
        .await
        .expect("pool")
        .expect("stored");
    let hash = stored.token_sha256.expect("hash");
    assert!(auth::matches_sha256(&second, &hash));
    assert!(!auth::matches_sha256(&first, &hash));
    let a = e
        .call(
            Method::GET,
            "/api/universities/bfsu/interpreters/bfsu-pt-01",
            Some("bfsu"),
            None,
        )
        .await;
    assert!(!a.text.contains(&second[11..]));
}

#[tokio::test]
async fn removing_is_refused_while_on_a_call_and_then_works() {
    let e = env().await;
    e.create("bfsu", ana("bfsu-pt-01")).await;
    let id = InterpreterId::parse("bfsu-pt-01").expect("id");
    let pool = &e.app.state.pool;
    let now = 1_000_000;
    pool.set_availability(&id, Availability::Available, now)
        .await
        .expect("available");

    let list = e
        .call(
            Method::GET,
            "/api/universities/bfsu/interpreters",
            Some("bfsu"),
            None,
        )
        .await;
    assert_eq!(list.body["interpreters"][0]["status"], "available");

    let offer = pool
        .claim(&ClaimRequest {
            offer_id: OfferId::random(),
            node: NodeId::new(1),
            call_id: CallId::random(),
            language: lang("pt"),
            candidates: vec![id.clone()],
            now,
            deadline: now + 15_000,
            presence_ttl_ms: 15_000,
        })
        .await
        .expect("claim")
        .expect("offered");
    let path = "/api/universities/bfsu/interpreters/bfsu-pt-01";
    let a = e.call(Method::DELETE, path, Some("bfsu"), None).await;
    assert_eq!(
        (a.status, &a.body["error"]["code"]),
        (StatusCode::CONFLICT, &json!("conflict"))
    );
    let a = e.call(Method::GET, path, Some("bfsu"), None).await;
    assert_eq!(a.body["status"], "offered");

    pool.cancel(&offer.id, now + 1).await.expect("cancel");
    let a = e.call(Method::DELETE, path, Some("bfsu"), None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text);
    assert!(pool.profile(&id).await.expect("pool").is_none());
    assert_eq!(
        e.call(Method::GET, path, Some("bfsu"), None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        e.call(Method::DELETE, path, Some("bfsu"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_lifecycle_works_on_the_redis_pool_too() {
    let redis = TestRedis::start();
    let e = env_on(Some(redis.url())).await;
    assert_eq!(e.app.state.pool_kind, hotline_bridge::pool::PoolKind::Redis);
    let created = e.create("bfsu", ana("bfsu-pt-01")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let token = created.body["token"].as_str().expect("token").to_owned();
    let id = InterpreterId::parse("bfsu-pt-01").expect("id");
    let stored = e
        .app
        .state
        .pool
        .profile(&id)
        .await
        .expect("pool")
        .expect("in redis");
    assert!(auth::matches_sha256(
        &token,
        stored.token_sha256.as_deref().expect("hash")
    ));

    let path = "/api/universities/bfsu/interpreters/bfsu-pt-01";
    let mut edit = ana("bfsu-pt-01");
    edit["name"] = json!("Ana Beatriz Lima");
    let a = e.call(Method::PUT, path, Some("bfsu"), Some(edit)).await;
    assert_eq!(
        (a.status, &a.body["name"]),
        (StatusCode::OK, &json!("Ana Beatriz Lima"))
    );
    let kept = e
        .app
        .state
        .pool
        .profile(&id)
        .await
        .expect("pool")
        .expect("in redis");
    assert_eq!(kept.token_sha256, stored.token_sha256);
    let a = e
        .call(
            Method::GET,
            "/api/universities/sisu/interpreters/bfsu-pt-01",
            Some("sisu"),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = e.call(Method::DELETE, path, Some("bfsu"), None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert!(e.app.state.pool.profile(&id).await.expect("pool").is_none());
}
