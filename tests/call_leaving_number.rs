//! A caller leaving a number to be called back, in the call's own terms (its task, no
//! signalling): while the store writes the number no operator can answer the call and a second
//! request is refused; a number the store did not keep frees the call to be answered; a caller
//! who hangs up meanwhile has left the call by callback, not abandoned it.
use crate::common;

use common::fixtures::{chosen, final_state};
use common::spawn_app;
use common::ws::settings_with_operator;
use hotline_bridge::api::messages::CallState;
use hotline_bridge::app::AppState;
use hotline_bridge::domain::EndedBy;
use hotline_bridge::drivers::call::{operator_participant, Asker, CallHandle, CallTaskError};
use std::time::Duration;

const STEP: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_operator_answers_while_the_number_is_kept_and_one_not_kept_frees_the_call() {
    let app = spawn_app(AppState::in_memory(settings_with_operator())).await;
    let (call, _token) = app.state.calls.create(chosen("pt"));
    let wang = operator_participant("wang");

    let language = call.keeping_number(Asker::Phone).await.expect("keeping");
    assert_eq!(language.map(|l| l.to_string()), Some("pt".to_owned()));
    let refused = call
        .answer(wang.clone(), "wang".into())
        .await
        .expect_err("no answer while the number is being kept");
    assert!(
        matches!(refused, CallTaskError::LeavingNumber),
        "{refused:?}"
    );
    let again = call.keeping_number(Asker::Phone).await;
    assert!(
        matches!(again, Err(CallTaskError::LeavingNumber)),
        "one request at a time: {again:?}"
    );

    // The store could not keep it: the caller waits on, and the operator takes the call.
    call.not_kept().await;
    call.answer(wang, "wang".into())
        .await
        .expect("answered once the number was not kept");
    let phone = call.keeping_number(Asker::Phone).await;
    assert!(
        matches!(phone, Err(CallTaskError::NotWaiting)),
        "with an operator there a phone caller leaves no number: {phone:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_who_hangs_up_while_the_number_is_kept_leaves_the_call_by_callback() {
    let app = spawn_app(AppState::in_memory(settings_with_operator())).await;
    let (call, _token) = app.state.calls.create(chosen("pt"));
    let mut updates = call.subscribe();
    call.keeping_number(Asker::Phone).await.expect("keeping");
    call.leave(CallHandle::caller())
        .await
        .expect("the caller hangs up");
    let ended = final_state(&mut updates, STEP).await;
    assert_eq!(ended.state, CallState::Abandoned);
    assert_eq!(ended.ended_by, Some(EndedBy::Callback), "{ended:?}");
}
