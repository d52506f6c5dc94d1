//! Parallel offers (`parallel_offers = 2`, real redis-server, bots on real WebSockets): both top
//! candidates ring at once, the first accept wins and the other console is told the offer was
//! taken by another interpreter; accepting it afterwards is refused.
use crate::common;

use common::dispatch::{
    add_interpreter, answered_call, app_on, bot, expect, on_request_settings, progress, WAIT,
};
use common::redis::TestRedis;
use hotline_bridge::domain::Level;
use hotline_bridge::testkit::interpreter_bot::Answer;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_accept_wins_and_the_other_offer_is_withdrawn_on_the_other_console() {
    let redis = TestRedis::start();
    let mut settings = on_request_settings();
    settings.dispatch.parallel_offers = 2;
    settings.dispatch.ring_timeout_s = 10;
    let app = app_on(&redis, settings).await;
    let t1 = add_interpreter(&app, "quick", &["de"], Level::Native).await;
    let t2 = add_interpreter(&app, "slow", &["de"], Level::Native).await;
    let mut quick = bot(&app, &t1, Answer::Ignore, 3).await;
    let mut slow = bot(&app, &t2, Answer::Ignore, 4).await;
    let mut call = answered_call(&app, "de").await;

    call.operator
        .send(json!({"type": "request_interpreter"}))
        .await;
    let ring_quick = expect(&mut quick, "ring", "quick rings").await;
    let ring_slow = expect(&mut slow, "ring", "slow rings at the same time").await;
    assert_ne!(ring_quick["offer_id"], ring_slow["offer_id"]);

    quick.send(json!({"type": "accept_offer", "offer_id": ring_quick["offer_id"]}));
    let accepted = progress(&mut call.operator, "accepted").await;
    assert_eq!(accepted["progress"]["interpreter"], "quick");
    let withdrawn = expect(&mut slow, "offer_ended", "slow's ring is taken back").await;
    assert_eq!(withdrawn["reason"], "taken");
    assert_eq!(withdrawn["message"], "taken by another interpreter");
    expect(&mut quick, "joined", "quick joins").await;

    slow.send(json!({"type": "accept_offer", "offer_id": ring_slow["offer_id"]}));
    let err = slow.wait_kind("error", WAIT).await.expect("refused").msg;
    assert_eq!(err["code"], "conflict");
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.contains("taken by another")),
        "{err}"
    );
}
