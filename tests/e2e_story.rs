//! The whole story in three real headless Chromium browsers, on a real redis-server: a caller whose
//! browser speaks Brazilian Portuguese, an operator, and an interpreter whom a university registers
//! on /university during the test and who signs in with the token the page showed once.
//!
//! Each browser has its own fake microphone playing distinct speech (espeak-ng: Portuguese,
//! Mandarin, English). At every step each page's `RTCPeerConnection.getStats()` says which remote
//! streams flow (packets arriving and audio energy rising) and which do not, and that is compared
//! with who should hear whom. A failure names the step and the route ("consult: caller still hears
//! operator"). Step timings are printed at the end; screenshots go to target/e2e/story-*.png.
//!
//! The scenes live in tests/e2e_story/: `scenes.rs` (the story and the caller's and operator's
//! scenes), `interpreter.rs` (the interpreter's), `routes.rs` (who hears whom), `page.rs` (the
//! three pages) and `report.rs` (target/e2e/story-report.txt).
use crate::common;
// The story's modules, in tests/e2e_story/.
pub mod interpreter;
pub mod page;
pub mod report;
pub mod routes;
pub mod scenes;

use common::dispatch::app_on;
use common::redis::TestRedis;
use common::universities;
use common::ws::settings_with_operator;
use scenes::Story;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_operator_and_interpreter_talk_in_one_call_through_real_browsers() {
    let _heavy = common::one_heavy_at_a_time().await;
    let redis = TestRedis::start();
    let mut settings = settings_with_operator();
    let keys = universities::with_keys(&mut settings, &["bfsu"]);
    // The operator adds the interpreter in this story (pre-dispatch has its own tests); a ring
    // long enough for a slow machine; a short wrap-up to see the interpreter come back.
    settings.dispatch.predispatch = false;
    settings.dispatch.ring_timeout_s = 60;
    settings.dispatch.wrap_up_s = 4;
    let app = app_on(&redis, settings).await;
    let mut story = Story::begin(&app).await;

    // A university registers a Portuguese interpreter, who signs in and goes available.
    let token = story
        .university_registers_the_interpreter(&keys["bfsu"])
        .await;
    story.interpreter_signs_in(&token).await;

    // A caller with a pt-BR browser calls from /call; the operator answers on /operator and
    // adds an interpreter, whose console rings; she accepts.
    story.operator_logs_in().await;
    story.caller_calls().await;
    story.operator_answers().await;
    story.operator_adds_an_interpreter().await;
    story.interpreter_accepts().await;

    // Consult, hold, resume; the caller mutes and unmutes; the interpreter leaves.
    story.consult().await;
    story.hold_and_resume().await;
    story.caller_mutes_and_unmutes().await;
    story.interpreter_leaves().await;

    // The caller hangs up and rates the call; the interpreter is available again after wrap-up.
    story.caller_hangs_up_and_rates().await;
    story.audit_tells_the_story().await;
    story.interpreter_is_back_after_wrap_up().await;

    // The Arabic caller page reads right to left, before and during a call.
    let story = story.arabic_caller_page().await;
    story.end().await;
}
