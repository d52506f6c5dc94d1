//! Auto-pause (real redis-server, a bot on a real WebSocket that never answers): after
//! `max_missed_offers` rings in a row run out, the interpreter is paused, told so on the console,
//! and not rung again until they set themselves available (then a waiting request rings them).
use crate::common;

use common::dispatch::{
    add_interpreter, answered_call, app_on, bot, expect, on_request_settings, progress, status,
};
use common::redis::TestRedis;
use hotline_bridge::domain::Level;
use hotline_bridge::testkit::interpreter_bot::{Answer, BotCommand};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missed_rings_pause_the_interpreter_until_they_come_back() {
    let redis = TestRedis::start();
    let mut settings = on_request_settings();
    settings.dispatch.max_missed_offers = 2;
    let app = app_on(&redis, settings).await;
    let token = add_interpreter(&app, "absent", &["ru"], Level::Native).await;
    let mut absent = bot(&app, &token, Answer::Ignore, 3).await;

    // First miss: still available afterwards.
    let mut one = answered_call(&app, "ru").await;
    one.operator
        .send(json!({"type": "request_interpreter"}))
        .await;
    let t = progress(&mut one.operator, "timed_out").await;
    assert_eq!(t["progress"]["paused"], false);
    let ended = expect(&mut absent, "offer_ended", "first miss").await;
    assert_eq!(ended["reason"], "expired");
    one.operator
        .send(json!({"type": "cancel_interpreter"}))
        .await;
    progress(&mut one.operator, "cancelled").await;

    // Second miss in a row: paused.
    let mut two = answered_call(&app, "ru").await;
    two.operator
        .send(json!({"type": "request_interpreter"}))
        .await;
    let t = progress(&mut two.operator, "timed_out").await;
    assert_eq!(t["progress"]["paused"], true);
    assert_eq!(t["progress"]["interpreter"], "absent");
    status(&mut absent, "paused", "the console learns it is paused").await;
    progress(&mut two.operator, "waiting").await;
    two.operator
        .send(json!({"type": "cancel_interpreter"}))
        .await;
    progress(&mut two.operator, "cancelled").await;

    // Paused: a new request finds nobody and waits.
    let mut three = answered_call(&app, "ru").await;
    three
        .operator
        .send(json!({"type": "request_interpreter"}))
        .await;
    progress(&mut three.operator, "waiting").await;

    // Back: available again, the waiting request rings them, and this time they answer.
    let _ = absent.commands.send(BotCommand::SetAnswer(Answer::Accept));
    absent.send(json!({"type": "set_availability", "availability": "available"}));
    let ring = expect(&mut absent, "ring", "rung again once available").await;
    assert_eq!(ring["call_id"], three.call_id.as_str());
    progress(&mut three.operator, "accepted").await;
}
