//! `GET /api/reports/…` and a university's `GET /api/universities/{uid}/minutes` on an app with a
//! SQLite record holding the hand-built history of tests/store_reports.rs: a supervisor reads
//! each report as JSON and as CSV (`?format=csv` or `Accept: text/csv`, a header row, an
//! attachment), with the figures worked out by hand; a university reads only its own
//! interpreters' minutes; every door refuses without the right session or key (401/403 JSON), and
//! bad dates, ranges, groupings and formats are 400 JSON naming the field.
use crate::common;
use crate::store_reports::history;

use common::fixtures::interpreter;
use common::supervisors::{supervisor_login, with_supervisor};
use common::universities::with_keys;
use common::ws::{operator_login, settings_with_operator};
use common::{spawn_app, TestApp};
use hotline_bridge::app::build_state;
use hotline_bridge::domain::{Day, Level};
use reqwest::header::{HeaderMap, ACCEPT, CONTENT_DISPOSITION, CONTENT_TYPE};
use reqwest::{Client, StatusCode};
use serde_json::Value;
use std::collections::BTreeMap;

/// The history's range: Monday 2026-11-02 to the end of December, Beijing.
pub(crate) const RANGE: &str = "from=2026-11-02&to=2026-12-31";

/// An app with the history in its record and li and wang on its roster (tests/e2e_reports.rs
/// uses it too).
pub(crate) struct Env {
    pub(crate) app: TestApp,
    pub(crate) keys: BTreeMap<String, String>,
    _dir: tempfile::TempDir,
}

pub(crate) async fn env() -> Env {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut s = with_supervisor(settings_with_operator());
    s.records.database = format!("sqlite://{}", dir.path().join("hotline.db").display());
    s.dashboard.time_zone = "Asia/Shanghai".into();
    s.limits.login_burst = 20;
    let keys = with_keys(&mut s, &["bfsu", "sisu"]);
    let app = spawn_app(build_state(s).await.expect("state")).await;
    // The roster: li of bfsu (Portuguese, never on shift), wang of sisu (Arabic, on shift
    // Mondays 19:00-20:00 UTC = Tuesdays 03:00-04:00 in Beijing, hour 27 of the report's week).
    for p in [
        interpreter("bfsu-li")
            .university("bfsu")
            .speaks("pt", Level::Professional)
            .build(),
        interpreter("sisu-wang")
            .university("sisu")
            .speaks("ar", Level::Native)
            .shift(Day::Mon, "19:00", "20:00")
            .build(),
    ] {
        app.state.pool.upsert(&p).await.expect("upsert");
    }
    let records = app.state.records.as_ref().expect("record");
    let mut progress = records.progress();
    progress
        .wait_for(|p| p.migrated)
        .await
        .expect("record migrated");
    history(records.store()).await;
    Env {
        app,
        keys,
        _dir: dir,
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

async fn get(app: &TestApp, path: &str, token: Option<&str>, accept: Option<&str>) -> Answer {
    let mut r = Client::new().get(app.url(path));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if let Some(a) = accept {
        r = r.header(ACCEPT, a);
    }
    let r = r.send().await.expect("get");
    Answer {
        status: r.status(),
        headers: r.headers().clone(),
        text: r.text().await.expect("body"),
    }
}

fn row<'a>(v: &'a Value, list: &str, field: &str, key: &str) -> &'a Value {
    v[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list}: {v}"))
        .iter()
        .find(|r| r[field] == key)
        .unwrap_or_else(|| panic!("no {field}={key} in {list}: {v}"))
}

#[tokio::test]
async fn a_supervisor_reads_waiting_per_language_as_json_and_csv() {
    let env = env().await;
    let token = supervisor_login(&env.app.url("")).await;
    let a = get(
        &env.app,
        &format!("/api/reports/waiting?{RANGE}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let v = a.json();
    assert_eq!(
        (&v["by"], &v["from"], &v["to"], &v["time_zone"]),
        (
            &"language".into(),
            &"2026-11-02".into(),
            &"2026-12-31".into(),
            &"Asia/Shanghai".into()
        )
    );
    // pt: 5 calls, 1 abandoned before an operator; 4 asked, waits 12, 15, 25, 40 s.
    let pt = row(&v, "rows", "key", "pt");
    assert_eq!(pt["calls"], 5);
    assert_eq!(pt["abandoned_waiting_for_operator_rate"], 0.2);
    assert_eq!(pt["service_level_20s"], 0.5);
    assert_eq!(pt["service_level_30s"], 0.75);
    assert_eq!(pt["time_to_interpreter_median_ms"], 15_000);
    assert_eq!(pt["time_to_interpreter_p90_ms"], 40_000);
    // ar: c5 rung, nobody came, the caller gave up: 1 of 2 asked.
    let ar = row(&v, "rows", "key", "ar");
    assert_eq!(ar["abandoned_waiting_for_interpreter_rate"], 0.5);

    for (query, accept) in [("&format=csv", None), ("", Some("text/csv"))] {
        let path = format!("/api/reports/waiting?{RANGE}{query}");
        let a = get(&env.app, &path, Some(&token), accept).await;
        assert_eq!(a.status, 200, "{}", a.text);
        assert_eq!(a.headers[CONTENT_TYPE], "text/csv; charset=utf-8");
        assert_eq!(
            a.headers[CONTENT_DISPOSITION],
            "attachment; filename=\"waiting-language-2026-11-02-2026-12-31.csv\""
        );
        let lines: Vec<&str> = a.text.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "language,label,calls,abandoned_waiting_for_operator,\
             abandoned_waiting_for_operator_rate,asked_for_interpreter,interpreter_joined,\
             within_20s,service_level_20s,within_30s,service_level_30s,\
             abandoned_waiting_for_interpreter,abandoned_waiting_for_interpreter_rate,\
             time_to_interpreter_median_ms,time_to_interpreter_p90_ms"
        );
        assert!(
            lines.contains(&"pt,pt,5,1,0.2000,4,4,2,0.5000,3,0.7500,0,0.0000,15000,40000"),
            "{}",
            a.text
        );
        assert!(
            lines.contains(&"ar,ar,2,0,0.0000,2,1,1,0.5000,1,0.5000,1,0.5000,8000,8000"),
            "{}",
            a.text
        );
    }
}

#[tokio::test]
async fn hours_of_the_week_universities_satisfaction_and_demand() {
    let env = env().await;
    let token = supervisor_login(&env.app.url("")).await;
    let report = |path: String| {
        let (app, token) = (&env.app, token.clone());
        async move {
            let a = get(app, &path, Some(&token), None).await;
            assert_eq!(a.status, 200, "{path}: {}", a.text);
            a.json()
        }
    };
    let hours = report(format!("/api/reports/waiting?{RANGE}&by=hour_of_week")).await;
    let mon10 = row(&hours, "rows", "key", "10");
    assert_eq!(
        (&mon10["label"], &mon10["calls"]),
        (&"Mon 10:00".into(), &4.into())
    );
    let unis = report(format!("/api/reports/waiting?{RANGE}&by=university")).await;
    // li's calls: waits 12, 15, 40 s.
    assert_eq!(
        row(&unis, "rows", "key", "bfsu")["time_to_interpreter_median_ms"],
        15_000
    );

    let stars = report(format!("/api/reports/satisfaction?{RANGE}")).await;
    // pt: 5, 4, 2, 5 stars: mean 4, three of four satisfied.
    let pt = row(&stars, "rows", "language", "pt");
    assert_eq!(
        (&pt["stars_2"], &pt["stars_5"], &pt["ratings"]),
        (&1.into(), &2.into(), &4.into())
    );
    assert_eq!(
        (&pt["mean_stars"], &pt["satisfied"]),
        (&4.0.into(), &0.75.into())
    );

    let demand = report(format!("/api/reports/demand?{RANGE}")).await;
    // ar on Tue 03:00 waited 98 s with wang on shift: one more would share it, 49 s; pt on Mon
    // 10:00 waited 77 s with nobody on shift: 77 s; pt on Tue 00:00, 15 s.
    let named: Vec<(String, u64, u64, u64)> = demand["shortfalls"]
        .as_array()
        .expect("shortfalls")
        .iter()
        .map(|s| {
            (
                format!(
                    "{} {}",
                    s["language"].as_str().unwrap_or(""),
                    s["label"].as_str().unwrap_or("")
                ),
                s["on_shift"].as_u64().unwrap_or(99),
                s["waited_ms"].as_u64().unwrap_or(0),
                s["cut_ms"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            ("pt Mon 10:00".to_owned(), 0, 77_000, 77_000),
            ("ar Tue 03:00".to_owned(), 1, 98_000, 49_000),
            ("pt Tue 00:00".to_owned(), 0, 15_000, 15_000),
        ]
    );
    let ar = demand["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["language"] == "ar" && r["hour_of_week"] == 27)
        .expect("ar Tue 03:00");
    assert_eq!((&ar["calls"], &ar["on_shift"]), (&2.into(), &1.into()));
}

#[tokio::test]
async fn a_university_sees_only_its_own_interpreters_minutes() {
    let env = env().await;
    let token = supervisor_login(&env.app.url("")).await;
    let all = get(
        &env.app,
        &format!("/api/reports/minutes?{RANGE}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(all.status, 200, "{}", all.text);
    let v = all.json();
    // November: li 600 + 120 s = 12 min, wang 300 + 120 s = 7 min, x-ghost 50 s.
    let minutes: Vec<(String, String, f64)> = v["universities"]
        .as_array()
        .expect("universities")
        .iter()
        .map(|r| {
            (
                r["month"].as_str().unwrap_or("").to_owned(),
                r["university"].as_str().unwrap_or("").to_owned(),
                r["minutes"].as_f64().unwrap_or(-1.0),
            )
        })
        .collect();
    assert_eq!(
        minutes,
        [
            ("2026-11".into(), "".into(), 0.83),
            ("2026-11".into(), "bfsu".into(), 12.0),
            ("2026-11".into(), "sisu".into(), 7.0),
            ("2026-12".into(), "bfsu".into(), 1.0),
        ]
    );

    let bfsu = env.keys["bfsu"].as_str();
    let own = get(
        &env.app,
        &format!("/api/universities/bfsu/minutes?{RANGE}"),
        Some(bfsu),
        None,
    )
    .await;
    assert_eq!(own.status, 200, "{}", own.text);
    let v = own.json();
    assert_eq!(v["university"], "bfsu");
    let who: Vec<(&str, &str, f64)> = v["interpreters"]
        .as_array()
        .expect("interpreters")
        .iter()
        .map(|r| {
            (
                r["month"].as_str().unwrap_or(""),
                r["interpreter"].as_str().unwrap_or(""),
                r["minutes"].as_f64().unwrap_or(-1.0),
            )
        })
        .collect();
    assert_eq!(
        who,
        [("2026-11", "bfsu-li", 12.0), ("2026-12", "bfsu-li", 1.0)]
    );
    assert!(!own.text.contains("sisu"), "{}", own.text);
    let csv = get(
        &env.app,
        &format!("/api/universities/bfsu/minutes?{RANGE}&format=csv"),
        Some(bfsu),
        None,
    )
    .await;
    assert_eq!(
        csv.text,
        "month,university,university_name,interpreter,calls,minutes\r\n\
         2026-11,bfsu,bfsu,bfsu-li,2,12.00\r\n2026-12,bfsu,bfsu,bfsu-li,1,1.00\r\n"
    );

    // Another university's key, no key, a supervisor's session: refused.
    let path = format!("/api/universities/bfsu/minutes?{RANGE}");
    for (token, status) in [
        (Some(env.keys["sisu"].as_str()), 403),
        (None, 401),
        (Some(token.as_str()), 401),
    ] {
        let a = get(&env.app, &path, token, None).await;
        assert_eq!(a.status, status, "{}", a.text);
        assert!(a.json()["error"]["code"].is_string(), "{}", a.text);
    }
}

#[tokio::test]
async fn every_report_is_refused_without_a_supervisor_and_bad_input_is_named() {
    let env = env().await;
    let operator = operator_login(&env.app.url("")).await;
    let bfsu = env.keys["bfsu"].clone();
    for report in ["waiting", "satisfaction", "minutes", "demand"] {
        let path = format!("/api/reports/{report}?{RANGE}");
        for (token, status, code) in [
            (None, 401, "unauthorized"),
            (Some("not-a-session"), 401, "unauthorized"),
            (Some(operator.as_str()), 403, "forbidden"),
            (Some(bfsu.as_str()), 401, "unauthorized"),
        ] {
            let a = get(&env.app, &path, token, None).await;
            assert_eq!(a.status, status, "{path} {token:?}: {}", a.text);
            assert_eq!(a.json()["error"]["code"], code, "{}", a.text);
        }
    }
    let token = supervisor_login(&env.app.url("")).await;
    for (query, field) in [
        ("to=2026-12-31", "from"),
        ("from=2026-13-01&to=2026-12-31", "from"),
        ("from=yesterday&to=2026-12-31", "from"),
        ("from=2026-11-02", "to"),
        ("from=2026-11-02&to=2026-11-01", "to"),
        ("from=2025-01-01&to=2026-12-31", "to"),
        ("from=2026-11-02&to=2026-11-03&by=weekday", "by"),
        ("from=2026-11-02&to=2026-11-03&format=xml", "format"),
    ] {
        let a = get(
            &env.app,
            &format!("/api/reports/waiting?{query}"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(a.status, 400, "{query}: {}", a.text);
        let v = a.json();
        assert_eq!(v["error"]["code"], "bad_request", "{query}: {v}");
        assert_eq!(v["error"]["field"], field, "{query}: {v}");
    }
    let a = get(
        &env.app,
        "/api/reports/waiting?from=2026-11-02&to=2026-11-03&colour=red",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(a.status, 400, "{}", a.text);
    assert_eq!(a.json()["error"]["code"], "bad_request");
}
