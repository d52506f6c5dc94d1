//! The reports page in real headless Chromium: /reports first shows a login; a supervisor logs in
//! (the page opened with the history's dates in its address) and sees the reports of the
//! hand-built history of tests/store_reports.rs in English: Portuguese calls' median time to an
//! interpreter of 15.0 s and 50 % within 20 s, bfsu's 12 minutes in November, the hour where one
//! more interpreter would have helped most; each report has a CSV file to download; switched to
//! Chinese, the page speaks Chinese; axe-core finds no serious violation at the login or on the
//! reports. A university sees its own interpreters' minutes on /university, and no one else's.
use crate::common;
use crate::reports_api::{env, RANGE};

use common::browser::Browser;
use common::supervisors::{SUPERVISOR, SUPERVISOR_PASSWORD};
use std::time::Duration;

const STEP: Duration = Duration::from_secs(20);

/// The text of row `row` (0-based) of table `id`, cells joined by `|`.
fn row_is(id: &str, row: usize, text: &str) -> String {
    format!(
        "(() => {{ const r = document.querySelectorAll('#{id} tbody tr')[{row}]; \
         return !!r && [...r.cells].map((c) => c.textContent.trim()).join('|') === '{text}'; }})()"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_sees_the_reports_of_a_known_history() {
    let env = env().await;
    let b = Browser::launch("en", None).await;
    b.client
        .goto(&env.app.url(&format!("/reports?{RANGE}")))
        .await
        .expect("goto");
    b.wait_for(
        "login shown",
        "!document.getElementById('login').hidden && document.getElementById('reports').hidden",
        STEP,
    )
    .await;
    b.axe("/reports at its login").await;
    b.type_into("#name", SUPERVISOR).await;
    b.type_into("#password", SUPERVISOR_PASSWORD).await;
    b.click("#login-form button[type=submit]").await;
    b.wait_for("reports loaded", "window.hotline.loads >= 1", STEP)
        .await;

    // Per language (sorted by code: none, ar, pt): pt's 5 calls, 4 asked, waits 12, 15, 25,
    // 40 s; 2 and 3 of 4 within 20 s and 30 s; 1 of 5 hung up before an operator answered.
    b.wait_for(
        "Portuguese waiting",
        &row_is(
            "waiting",
            2,
            "Portuguese|5|4|15.0|40.0|50.0 %|75.0 %|20.0 %|0.0 %",
        ),
        STEP,
    )
    .await;
    // pt ratings 5, 4, 2, 5.
    b.wait_for(
        "Portuguese ratings",
        &row_is("satisfaction", 1, "Portuguese|0|1|0|1|2|4|4.00|75.0 %"),
        STEP,
    )
    .await;
    // November: x-ghost (no university) first, then bfsu's li, 600 + 120 s, and bfsu's total.
    b.wait_for(
        "bfsu's November",
        &format!(
            "{} && {}",
            row_is("minutes", 2, "2026-11|bfsu|bfsu-li|2|12.00"),
            row_is("minutes", 3, "2026-11|bfsu total||2|12.00")
        ),
        STEP,
    )
    .await;
    // Mon 10:00, Portuguese: 77 s waited, nobody on shift.
    b.wait_for(
        "the hour to staff first",
        &row_is("demand", 0, "Portuguese|Mon 10:00|3|0|1.3|1.3"),
        STEP,
    )
    .await;
    let link = b
        .eval(
            "const a = document.getElementById('waiting-csv'); \
             return [a.hidden, a.href.startsWith('blob:'), a.download];",
        )
        .await;
    assert_eq!(
        link,
        serde_json::json!([false, true, "waiting-language-2026-11-02-2026-12-31.csv"])
    );
    let csv = b.eval("return window.hotline.csv.minutes;").await;
    assert!(
        csv.as_str().is_some_and(|t| t
            .starts_with("month,university,university_name,interpreter,calls,minutes\r\n")
            && t.contains("2026-11,bfsu,bfsu,bfsu-li,2,12.00\r\n")),
        "{csv}"
    );
    b.axe("/reports with the history's reports").await;

    b.select("#ui-language", "zh").await;
    b.wait_for(
        "in Chinese",
        "document.getElementById('waiting-h').textContent === '等待口译员' \
         && document.querySelector('#waiting tbody tr:nth-child(3) td').textContent === '葡萄牙语'",
        STEP,
    )
    .await;
    b.close().await;
}

/// A university signs in on /university and sees its own interpreters' minutes of the history's
/// period, with a CSV to download; another university's interpreters are not there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_university_sees_its_own_minutes_on_its_page() {
    let env = env().await;
    let b = Browser::launch("en", None).await;
    b.client
        .goto(&env.app.url("/university"))
        .await
        .expect("goto");
    b.wait_for(
        "sign-in shown",
        "!document.getElementById('signin').hidden",
        STEP,
    )
    .await;
    b.type_into("#api-key", &env.keys["bfsu"]).await;
    b.click("#signin-form button[type=submit]").await;
    b.wait_for(
        "signed in",
        "!document.getElementById('app').hidden && window.hotlineMinutes !== undefined",
        STEP,
    )
    .await;
    b.eval(
        "document.getElementById('minutes-from').value = '2026-11-02'; \
         document.getElementById('minutes-to').value = '2026-12-31'; \
         document.getElementById('minutes-form').requestSubmit(); return null;",
    )
    .await;
    // li: 600 + 120 s in November, 60 s in December; each month's total after it.
    b.wait_for(
        "bfsu's statement",
        &format!(
            "{} && {} && {} && {}",
            row_is("minutes", 0, "2026-11|bfsu-li|2|12.00"),
            row_is("minutes", 1, "2026-11|Total|2|12.00"),
            row_is("minutes", 2, "2026-12|bfsu-li|1|1.00"),
            row_is("minutes", 3, "2026-12|Total|1|1.00"),
        ),
        STEP,
    )
    .await;
    let table = b
        .eval("return document.getElementById('minutes').textContent;")
        .await;
    assert!(!table.as_str().unwrap_or("").contains("sisu"), "{table}");
    b.wait_for(
        "CSV offered",
        "!document.getElementById('minutes-csv').hidden \
         && document.getElementById('minutes-csv').download \
            === 'interpreter-minutes-bfsu-2026-11-02-2026-12-31.csv'",
        STEP,
    )
    .await;
    b.close().await;
}
