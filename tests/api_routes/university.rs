//! A partner university's API: who the key belongs to, and its interpreters (list, register,
//! read, edit, remove, issue a token), each only with that university's key.

use super::support::{interpreter, Api, BFSU_KEY, SISU_KEY};
use axum::http::{header, Method, StatusCode};
use serde_json::json;

const ANA: &str = "/api/universities/bfsu/interpreters/bfsu-ana";

#[tokio::test]
async fn the_key_tells_which_university_it_is() {
    let api = Api::new();
    let v = api.get("/api/university").auth(BFSU_KEY).send().await;
    assert_eq!(v.ok(StatusCode::OK)["id"], "bfsu");
    let v = api.get("/api/university").send().await;
    v.error(StatusCode::UNAUTHORIZED, "unauthorized");
    let v = api.get("/api/university").auth("not-a-key").send().await;
    v.error(StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn interpreters_are_registered_listed_and_read_with_the_universitys_key() {
    let api = Api::new();
    let list = "/api/universities/bfsu/interpreters";
    let v = api
        .post(list)
        .auth(BFSU_KEY)
        .json(interpreter("bfsu-ana"))
        .send()
        .await;
    let body = v.ok(StatusCode::CREATED);
    assert!(body["token"]
        .as_str()
        .is_some_and(|t| t.starts_with("bfsu-ana.")));
    assert_eq!(body["interpreter"]["has_token"], true);
    let location = v.header(header::LOCATION).and_then(|l| l.to_str().ok());
    assert_eq!(location, Some(ANA));

    let v = api.get(list).auth(BFSU_KEY).send().await;
    let body = v.ok(StatusCode::OK);
    assert_eq!(body["interpreters"][0]["id"], "bfsu-ana", "{}", v.text);
    let v = api.get(ANA).auth(BFSU_KEY).send().await;
    assert_eq!(v.ok(StatusCode::OK)["name"], "Ana Lima");

    let other = "/api/universities/sisu/interpreters/bfsu-ana";
    let missing = "/api/universities/bfsu/interpreters/bfsu-nobody";
    for (path, key, status, code) in [
        (list, None, StatusCode::UNAUTHORIZED, "unauthorized"),
        (list, Some(SISU_KEY), StatusCode::FORBIDDEN, "forbidden"),
        (ANA, None, StatusCode::UNAUTHORIZED, "unauthorized"),
        (ANA, Some(SISU_KEY), StatusCode::FORBIDDEN, "forbidden"),
        (other, Some(SISU_KEY), StatusCode::NOT_FOUND, "not_found"),
        (missing, Some(BFSU_KEY), StatusCode::NOT_FOUND, "not_found"),
    ] {
        api.refused((Method::GET, path, key), status, code).await;
    }
}

#[tokio::test]
async fn a_registration_is_checked_field_by_field_and_an_id_is_taken_once() {
    let api = Api::new();
    let list = "/api/universities/bfsu/interpreters";
    let create = |body| api.post(list).auth(BFSU_KEY).json(body);
    create(interpreter("bfsu-ana"))
        .send()
        .await
        .ok(StatusCode::CREATED);
    let v = create(interpreter("bfsu-ana")).send().await;
    assert_eq!(v.error(StatusCode::CONFLICT, "conflict")["field"], "id");
    let v = create(interpreter("sisu-ana")).send().await;
    assert_eq!(
        v.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid")["field"],
        "id"
    );
    let mut no_languages = interpreter("bfsu-bia");
    no_languages["languages"] = json!([]);
    let v = create(no_languages).send().await;
    assert_eq!(
        v.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid")["field"],
        "languages"
    );
    let v = api
        .post(list)
        .auth(BFSU_KEY)
        .raw("application/json", "[")
        .send()
        .await;
    v.error(StatusCode::BAD_REQUEST, "bad_request");
    let v = api.post(list).json(interpreter("bfsu-bia")).send().await;
    v.error(StatusCode::UNAUTHORIZED, "unauthorized");
    let v = api
        .post(list)
        .auth(SISU_KEY)
        .json(interpreter("bfsu-bia"))
        .send()
        .await;
    v.error(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn an_interpreter_is_edited_but_keeps_their_id() {
    let api = Api::new();
    api.register("bfsu", BFSU_KEY, "bfsu-ana").await;
    let put = |body| api.request(Method::PUT, ANA).auth(BFSU_KEY).json(body);
    let mut renamed = interpreter("bfsu-ana");
    renamed["name"] = json!("Ana Souza");
    let v = put(renamed).send().await;
    assert_eq!(v.ok(StatusCode::OK)["name"], "Ana Souza");
    let v = put(interpreter("bfsu-bia")).send().await;
    assert_eq!(
        v.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid")["field"],
        "id"
    );
    let missing = "/api/universities/bfsu/interpreters/bfsu-nobody";
    let v = api.request(Method::PUT, missing).auth(BFSU_KEY);
    let v = v.json(interpreter("bfsu-nobody")).send().await;
    v.error(StatusCode::NOT_FOUND, "not_found");
    let v = api
        .request(Method::PUT, ANA)
        .auth(SISU_KEY)
        .json(interpreter("bfsu-ana"));
    v.send().await.error(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn a_new_token_replaces_the_old_one() {
    let api = Api::new();
    api.register("bfsu", BFSU_KEY, "bfsu-ana").await;
    let path = format!("{ANA}/token");
    let v = api.post(&path).auth(BFSU_KEY).send().await;
    let token = v.ok(StatusCode::OK)["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let v = api.post(&path).auth(BFSU_KEY).send().await;
    let again = v.ok(StatusCode::OK)["token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_ne!(token, again);
    let missing = "/api/universities/bfsu/interpreters/bfsu-nobody/token";
    for (path, key, status, code) in [
        (
            path.as_str(),
            None,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        (missing, Some(BFSU_KEY), StatusCode::NOT_FOUND, "not_found"),
    ] {
        api.refused((Method::POST, path, key), status, code).await;
    }
}

#[tokio::test]
async fn an_interpreter_is_removed_unless_on_a_call_or_an_offer() {
    let api = Api::new();
    api.register("bfsu", BFSU_KEY, "bfsu-ana").await;
    api.register("bfsu", BFSU_KEY, "bfsu-bia").await;
    api.engage("bfsu-bia").await;
    let delete = |path: &str| api.request(Method::DELETE, path);
    let bia = "/api/universities/bfsu/interpreters/bfsu-bia";
    delete(bia)
        .auth(BFSU_KEY)
        .send()
        .await
        .error(StatusCode::CONFLICT, "conflict");
    delete(ANA)
        .send()
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthorized");
    delete(ANA)
        .auth(SISU_KEY)
        .send()
        .await
        .error(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(
        delete(ANA).auth(BFSU_KEY).send().await.status,
        StatusCode::NO_CONTENT
    );
    delete(ANA)
        .auth(BFSU_KEY)
        .send()
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    api.get(ANA)
        .auth(BFSU_KEY)
        .send()
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn a_phone_number_and_ring_preference_are_kept_and_phones_need_an_outbound_trunk() {
    let list = "/api/universities/bfsu/interpreters";
    let mut ana = interpreter("bfsu-ana");
    ana["phone"] = json!("+55 11 91234-5678");
    ana["ring"] = json!("phone");

    // No outbound trunk (the default): ringing by phone is refused, naming the field and why.
    let api = Api::new();
    let v = api.post(list).auth(BFSU_KEY).json(ana.clone()).send().await;
    let e = v.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    assert_eq!(e["field"], "ring");
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("sip.outbound_trunk")),
        "{e}"
    );
    // A number alone is kept: the interpreter is still rung in the app.
    let mut number_only = ana.clone();
    number_only["ring"] = json!("app");
    let v = api.post(list).auth(BFSU_KEY).json(number_only).send().await;
    let body = v.ok(StatusCode::CREATED);
    assert_eq!(body["interpreter"]["phone"], "+5511912345678");
    assert_eq!(body["interpreter"]["ring"], "app");

    let mut s = super::support::settings();
    s.sip.enabled = true;
    s.sip.outbound_trunk = "carrier".into();
    s.sip.trunks.insert(
        "carrier".into(),
        hotline_bridge::config::sip::TrunkSettings {
            sources: vec!["192.0.2.10".into()],
            username: String::new(),
            password: String::new(),
            dial: "192.0.2.10:5060".into(),
        },
    );
    let api = Api::with(s);
    let v = api.post(list).auth(BFSU_KEY).json(ana.clone()).send().await;
    assert_eq!(v.ok(StatusCode::CREATED)["interpreter"]["ring"], "phone");
    let v = api.get(ANA).auth(BFSU_KEY).send().await;
    let body = v.ok(StatusCode::OK);
    assert_eq!(
        (&body["phone"], &body["ring"]),
        (&json!("+5511912345678"), &json!("phone"))
    );

    let put = |body| api.request(Method::PUT, ANA).auth(BFSU_KEY).json(body);
    let mut bad = ana.clone();
    bad["phone"] = json!("0139 1234");
    let v = put(bad).send().await;
    assert_eq!(
        v.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid")["field"],
        "phone"
    );
    let mut no_number = ana.clone();
    no_number["phone"] = json!("");
    no_number["ring"] = json!("app_then_phone");
    let v = put(no_number).send().await;
    assert_eq!(
        v.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid")["field"],
        "phone"
    );
    let mut pager = ana;
    pager["ring"] = json!("pager");
    let v = put(pager).send().await;
    assert_eq!(
        v.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid")["field"],
        "ring"
    );
}
