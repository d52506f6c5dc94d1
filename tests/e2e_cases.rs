//! A case filled during a call, in real headless Chromium with a SQLite record: a caller whose
//! browser speaks Brazilian Portuguese calls from /call; the operator (console in Chinese)
//! answers; the case panel shows the new case, and the caller's page shows its number in
//! Portuguese. The operator fills notes in Chinese, a category and a department and passes it
//! on, adds a follow-up, hangs up, and resolves it after the call; the record holds exactly what
//! was typed, and the caller's page still shows the number after the call. Screenshots go to
//! target/e2e/cases-*.png.
use crate::common;

use common::browser::{speech_wav, Browser};
use common::spawn_app;
use common::ws::settings_with_operator;
use hotline_bridge::app::build_state;
use hotline_bridge::domain::{CaseNumber, CaseStatus};
use std::time::Duration;

const STEP: Duration = Duration::from_secs(20);
const NOTES: &str = "旅客在首都机场T3丢失黑色行李箱，有红色标签。";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_fills_the_case_during_the_call_and_the_caller_sees_its_number_in_portuguese()
{
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = settings_with_operator();
    settings.records.database = format!("sqlite://{}", dir.path().join("hotline.db").display());
    let app = spawn_app(build_state(settings).await.expect("state")).await;
    let operator = Browser::operator_console(
        &app.url(""),
        &speech_wav("cases-operator", "cmn", "您好，这里是市民热线。"),
        STEP,
    )
    .await;
    let caller = Browser::launch(
        "pt-BR,pt",
        Some(&speech_wav(
            "cases-caller",
            "pt-br",
            "Eu perdi a minha mala no aeroporto.",
        )),
    )
    .await;

    caller.client.goto(&app.url("/call")).await.expect("goto");
    caller
        .wait_for(
            "caller page in Portuguese",
            "document.documentElement.lang === 'pt'",
            STEP,
        )
        .await;
    caller.click("#call").await;
    caller
        .wait_for("caller waits", "window.hotline.state === 'waiting'", STEP)
        .await;
    // No case before an operator has the call.
    assert_eq!(
        caller
            .eval("return document.getElementById('case').hidden;")
            .await,
        true
    );

    operator
        .wait_for(
            "a caller in the queue",
            "document.querySelector('#queue tbody tr')",
            STEP,
        )
        .await;
    operator.click("#queue tbody tr button.primary").await;
    operator
        .wait_for(
            "the case panel shows the new case",
            "!document.getElementById('case-form').hidden",
            STEP,
        )
        .await;
    let title = operator
        .eval("return document.getElementById('case-title').textContent;")
        .await;
    let title = title.as_str().expect("title");
    let number = title
        .strip_prefix("案件 ")
        .unwrap_or_else(|| panic!("the case title is in Chinese: {title}"));
    let number = CaseNumber::parse(number).expect("a case number in the title");

    // The caller's page: the number, in Portuguese.
    let expected = format!("O número do seu caso: {number}");
    caller
        .wait_for(
            "the caller sees the case number",
            &format!(
                "document.getElementById('case-number').textContent === {:?} && \
                 !document.getElementById('case').hidden",
                expected
            ),
            STEP,
        )
        .await;
    let hint = caller
        .eval("return document.querySelector('#case [data-i18n=case_hint]').textContent;")
        .await;
    assert!(
        hint.as_str().is_some_and(|h| h.starts_with("Anote-o")),
        "the hint is Portuguese: {hint}"
    );
    caller.screenshot("cases-caller-number-pt").await;

    // The operator fills the case during the call and passes it on.
    operator.type_into("#case-notes", NOTES).await;
    operator.type_into("#case-category", "失物招领").await;
    operator.type_into("#case-department", "首都机场").await;
    operator.select("#case-status", "passed_on").await;
    operator.click("#case-save").await;
    operator
        .wait_for(
            "the case is saved",
            "document.getElementById('case-msg').textContent === '已保存。'",
            STEP,
        )
        .await;
    operator
        .type_into("#case-follow-up-text", "已告知来电者：机场将回电")
        .await;
    operator
        .click("#case-follow-up-form button[type=submit]")
        .await;
    operator
        .wait_for(
            "the follow-up is listed",
            "document.querySelectorAll('#case-follow-ups li').length === 1",
            STEP,
        )
        .await;
    assert_eq!(
        caller.eval("return window.hotline.state;").await,
        "connected",
        "the call went on while the case was filled"
    );
    operator.screenshot("cases-operator-filled").await;
    // The caller sees the number on the page: nothing to read out to them
    // (tests/sip_case_number.rs reads it to a phone caller).
    assert_eq!(
        operator
            .eval("return document.getElementById('case-read-out').hidden;")
            .await,
        serde_json::json!(true),
        "no read-out for a web caller"
    );

    let store = app.state.records.as_ref().expect("records").store().clone();
    let file = store.case(&number).await.expect("read").expect("the case");
    assert_eq!(file.case.notes, NOTES);
    assert_eq!(
        (file.case.category.as_str(), file.case.department.as_str()),
        ("失物招领", "首都机场")
    );
    assert_eq!(file.case.status, CaseStatus::PassedOn);
    assert_eq!(file.case.language.map(|l| l.to_string()), Some("pt".into()));
    assert_eq!(file.follow_ups.len(), 1);

    // After the call: the case stays in the panel and is resolved; the caller keeps the number.
    operator.click("#hang-up").await;
    caller
        .wait_for(
            "the caller's call ended",
            "window.hotline.state === 'ended'",
            STEP,
        )
        .await;
    assert_eq!(
        caller
            .eval("return document.getElementById('case-after').textContent;")
            .await,
        expected.as_str()
    );
    operator
        .wait_for(
            "the console is out of the call",
            "document.getElementById('call').hidden",
            STEP,
        )
        .await;
    assert_eq!(
        operator
            .eval("return document.getElementById('case-form').hidden;")
            .await,
        false,
        "the case stays to be finished"
    );
    operator.select("#case-status", "resolved").await;
    operator.click("#case-save").await;
    operator
        .wait_for(
            "the case is resolved",
            "window.hotline.casePanel.file?.status === 'resolved'",
            STEP,
        )
        .await;
    let file = store.case(&number).await.expect("read").expect("the case");
    assert_eq!(file.case.status, CaseStatus::Resolved);
    assert_eq!(file.case.notes, NOTES, "the notes stay as typed");
    caller.screenshot("cases-caller-after").await;
    operator.screenshot("cases-operator-after").await;
    caller.close().await;
    operator.close().await;
}
