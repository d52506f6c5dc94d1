//! Bad input to the university API never gets a 5xx: invalid fields are 422 naming the field
//! (`error.field`; names with control or bidirectional formatting characters too) and store
//! nothing; malformed, mistyped, unknown-field and oversize bodies and odd paths get clean 4xx
//! JSON.
use crate::common;

use common::universities::{ana, answer, env};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn invalid_fields_are_422_naming_the_field_and_nothing_is_stored() {
    let e = env().await;
    type Spoil = fn(&mut Value);
    let cases: Vec<(&str, Spoil)> = vec![
        ("languages", |b| b["languages"][0]["language"] = json!("xx")),
        ("languages", |b| b["languages"][0]["language"] = json!("zh")),
        ("languages", |b| {
            b["languages"][0]["language"] = json!("portuguese")
        }),
        ("languages", |b| {
            b["languages"][0]["level"] = json!("fluent")
        }),
        ("languages", |b| b["languages"] = json!([])),
        ("languages", |b| b["languages"][1]["language"] = json!("pt")),
        ("name", |b| b["name"] = json!("   ")),
        ("name", |b| {
            b.as_object_mut().expect("object").remove("name");
        }),
        ("name", |b| b["name"] = json!("x".repeat(101))),
        // Control and bidirectional formatting characters could disguise a name on a console.
        ("name", |b| b["name"] = json!("Ana\u{202E}amiL")),
        ("name", |b| b["name"] = json!("Ana\u{2066}Lima\u{2069}")),
        ("name", |b| b["name"] = json!("Ana\nLima")),
        ("name", |b| b["name"] = json!("Ana\u{0}Lima")),
        ("timezone", |b| b["timezone"] = json!("Mars/Olympus_Mons")),
        ("timezone", |b| b["timezone"] = json!("")),
        ("shifts", |b| b["shifts"][0]["end"] = json!("09:00")),
        ("shifts", |b| {
            b["shifts"][1] = json!({ "day": "mon", "start": "16:00", "end": "20:00" })
        }),
        ("shifts", |b| b["shifts"][0]["day"] = json!("monday")),
        ("shifts", |b| b["shifts"][0]["start"] = json!("9:00")),
        ("shifts", |b| b["shifts"][0]["end"] = json!("24:30")),
        ("shifts", |b| {
            b["shifts"] = json!((0..65)
                .map(|i| json!({ "day": "mon", "start": format!("{:02}:00", i % 24), "end": format!("{:02}:30", i % 24) }))
                .collect::<Vec<_>>())
        }),
        ("id", |b| b["id"] = json!("sisu-pt-01")),
        ("id", |b| b["id"] = json!("bfsu")),
        ("id", |b| b["id"] = json!("BFSU PT")),
    ];
    for (field, spoil) in cases {
        let mut body = ana("bfsu-pt-01");
        spoil(&mut body);
        let a = e.create("bfsu", body.clone()).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            a.text
        );
        assert_eq!(a.body["error"]["code"], "invalid", "{body}");
        assert_eq!(a.body["error"]["field"], field, "{body}: {}", a.text);
        assert!(!a.body["error"]["message"]
            .as_str()
            .expect("message")
            .is_empty());
    }
    let list = e
        .call(
            Method::GET,
            "/api/universities/bfsu/interpreters",
            Some("bfsu"),
            None,
        )
        .await;
    assert_eq!(list.body["interpreters"], json!([]));
}

#[tokio::test]
async fn malformed_mistyped_and_oversize_bodies_get_clean_4xx_json() {
    let e = env().await;
    let url = e.app.url("/api/universities/bfsu/interpreters");
    let send = |body: String, content_type: Option<&'static str>| {
        let mut req = e.http.post(&url).bearer_auth(&e.keys["bfsu"]).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        req.send()
    };
    let cases = [
        ("{\"name\": ", Some("application/json"), 400, "bad_request"),
        (
            "not json at all",
            Some("application/json"),
            400,
            "bad_request",
        ),
        ("{}", None, 415, "unsupported_media_type"),
        ("{\"name\": 5}", Some("application/json"), 422, "invalid"),
        (
            "{\"languages\": \"en\"}",
            Some("application/json"),
            422,
            "invalid",
        ),
        (
            "{\"name\": \"x\", \"token_sha256\": \"00\"}",
            Some("application/json"),
            422,
            "invalid",
        ),
        ("[1, 2]", Some("application/json"), 422, "invalid"),
    ];
    for (body, ct, status, code) in cases {
        let a = answer(send(body.into(), ct).await.expect("request")).await;
        assert_eq!(a.status.as_u16(), status, "{body}: {}", a.text);
        assert_eq!(a.body["error"]["code"], code, "{body}");
    }
    // Larger than server.max_body_bytes (64 KiB by default): refused before the handler runs.
    let mut big = ana("bfsu-pt-01");
    big["name"] = json!("x".repeat(70_000));
    let a = answer(
        send(big.to_string(), Some("application/json"))
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(a.body["error"]["code"], "too_large");
}

#[tokio::test]
async fn odd_paths_are_404_not_errors() {
    let e = env().await;
    for path in [
        "/api/universities/bfsu/interpreters/NOT%20AN%20ID",
        "/api/universities/bfsu/interpreters/%FF",
        "/api/universities/bfsu/interpreters/bfsu-pt-01/token/extra",
    ] {
        let a = e.call(Method::GET, path, Some("bfsu"), None).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}: {}", a.text);
    }
}
