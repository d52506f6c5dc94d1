//! Dispatch test world: apps on a real redis-server, interpreters with personal tokens, headless
//! interpreter bots over the real WebSocket, and an answered call with caller and operator
//! sessions.

use super::fixtures::{chosen, interpreter};
use super::redis::TestRedis;
use super::ws::{
    answer, caller_in_call, operator_session, settings_with_operator, WsClient, OPERATOR,
};
use super::{spawn_app_on, TestApp};
use hotline_bridge::app::AppState;
use hotline_bridge::config::Settings;
use hotline_bridge::domain::Level;
use hotline_bridge::drivers::media;
use hotline_bridge::pool::RedisPool;
use hotline_bridge::testkit::interpreter_bot::{Answer, BotOptions, InterpreterBot};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub const WAIT: Duration = Duration::from_secs(10);

/// Test settings for dispatch: a short ring, presence kept by fast bot pings.
pub fn dispatch_settings() -> Settings {
    let mut s = settings_with_operator();
    s.dispatch.ring_timeout_s = 1;
    s.dispatch.wrap_up_s = 1;
    s.dispatch.escalate_after_s = 60;
    s
}

/// As `dispatch_settings`, without pre-dispatch: an interpreter is rung only when the operator
/// asks for one (pre-dispatch has its own tests).
pub fn on_request_settings() -> Settings {
    let mut s = dispatch_settings();
    s.dispatch.predispatch = false;
    s
}

/// An app over `redis` with these settings (media on an ephemeral loopback port), its public URL
/// its own address, so consoles on other nodes of the same Redis can enter its calls.
pub async fn app_on(redis: &TestRedis, settings: Settings) -> TestApp {
    app_on_listener(redis, settings, super::bind().await).await
}

/// As `app_on`, served on `listener` (bound first, so other nodes' settings can name it).
pub async fn app_on_listener(
    redis: &TestRedis,
    mut settings: Settings,
    listener: tokio::net::TcpListener,
) -> TestApp {
    settings.redis.url = redis.url();
    app_with_listener(settings, listener).await
}

/// As `app_on`, on the Redis the settings name (e.g. through sentinels).
pub async fn app_with(settings: Settings) -> TestApp {
    app_with_listener(settings, super::bind().await).await
}

async fn app_with_listener(mut settings: Settings, listener: tokio::net::TcpListener) -> TestApp {
    let addr = listener.local_addr().expect("addr");
    let scheme = if settings.server.tls() {
        "https"
    } else {
        "http"
    };
    settings.server.public_url = format!("{scheme}://{addr}");
    settings.media.udp_port = 0;
    settings.media.public_ip = "127.0.0.1".parse().expect("ip");
    let pool = RedisPool::open(&settings.redis).expect("redis pool");
    let m = media::start(&settings.media, CancellationToken::new()).expect("media loop");
    spawn_app_on(
        listener,
        AppState::new(
            settings,
            Arc::new(pool),
            hotline_bridge::pool::PoolKind::Redis,
            m,
        ),
    )
    .await
}

/// Registers an on-shift interpreter of `languages` at `level`; returns their personal token.
pub async fn add_interpreter(app: &TestApp, id: &str, languages: &[&str], level: Level) -> String {
    add_interpreter_with(app, id, languages, level, true).await
}

pub async fn add_interpreter_with(
    app: &TestApp,
    id: &str,
    languages: &[&str],
    level: Level,
    on_shift: bool,
) -> String {
    let token = format!("{id}.secret-of-{id}");
    let mut profile = interpreter(id).name(&format!("Bot {id}")).token(&token);
    for l in languages {
        profile = profile.speaks(l, level);
    }
    if on_shift {
        profile = profile.always_on_shift();
    }
    app.state
        .pool
        .upsert(&profile.build())
        .await
        .expect("upsert");
    token
}

/// A bot signed in on `app`, available, answering as `answer`; returns once it is available.
pub async fn bot(app: &TestApp, token: &str, answer: Answer, tag: u32) -> InterpreterBot {
    bot_with(app, token, answer, tag, false).await
}

pub async fn bot_with(
    app: &TestApp,
    token: &str,
    answer: Answer,
    tag: u32,
    join_media: bool,
) -> InterpreterBot {
    available_bot(bot_options(app.addr, token, answer, tag, join_media), WAIT).await
}

/// A bot's options: signing in at `addr` with `token`, answering at once as `answer`, pinging
/// every 200 ms, with its media (test peer `tag`) when `join_media`.
pub fn bot_options(
    addr: std::net::SocketAddr,
    token: &str,
    answer: Answer,
    tag: u32,
    join_media: bool,
) -> BotOptions {
    BotOptions {
        addr,
        token: token.to_owned(),
        answer,
        delay: Duration::ZERO,
        heartbeat: Duration::from_millis(200),
        join_media,
        tag,
    }
}

/// A bot started with `options`, once it is signed in and available (panics after `within`).
pub async fn available_bot(options: BotOptions, within: Duration) -> InterpreterBot {
    let mut b = InterpreterBot::start(options).await.expect("bot signs in");
    status_within(&mut b, "available", within, "bot becomes available").await;
    b
}

/// The bot's next `interpreter_status` message whose status is `status` (panics with `what`
/// after `WAIT`).
pub async fn status(bot: &mut InterpreterBot, status: &str, what: &str) -> Value {
    status_within(bot, status, WAIT, what).await
}

/// As `status`, waiting up to `within`.
pub async fn status_within(
    bot: &mut InterpreterBot,
    status: &str,
    within: Duration,
    what: &str,
) -> Value {
    bot.wait(within, |e| {
        e.kind() == "interpreter_status" && e.msg["status"] == status
    })
    .await
    .unwrap_or_else(|| panic!("{what}: no {status} status within {within:?}"))
    .msg
}

/// A live call in `language` with its caller's session and an operator who answered it.
pub struct AnsweredCall {
    pub call_id: String,
    pub caller: WsClient,
    pub operator: WsClient,
}

pub async fn answered_call(app: &TestApp, language: &str) -> AnsweredCall {
    let (call, token) = app.state.calls.create(chosen(language));
    let call_id = call.id().to_string();
    let caller = caller_in_call(app.addr, &call_id, &token).await;
    let operator = operator_answers(app, &call_id).await;
    AnsweredCall {
        call_id,
        caller,
        operator,
    }
}

/// An operator session (account `wang`) that has answered `call_id`.
pub async fn operator_answers(app: &TestApp, call_id: &str) -> WsClient {
    let (op_token, _) = app
        .state
        .operators
        .open(OPERATOR, hotline_bridge::drivers::clock::now_ms());
    let mut operator = operator_session(app.addr, &op_token).await;
    answer(&mut operator, call_id).await;
    operator
}

/// The next `dispatch` progress message whose event is `event`; panics after `WAIT` (other
/// messages, e.g. audio levels, keep coming meanwhile).
pub async fn progress(ws: &mut WsClient, event: &str) -> Value {
    let next = async {
        loop {
            match ws.next().await {
                super::ws::Got::Json(v) if v["type"] == "error" => {
                    panic!("waiting for {event}: {v}")
                }
                super::ws::Got::Json(v)
                    if v["type"] == "dispatch" && v["progress"]["event"] == event =>
                {
                    return v
                }
                super::ws::Got::Json(_) => continue,
                other => panic!("waiting for {event}: {other:?}"),
            }
        }
    };
    tokio::time::timeout(WAIT, next)
        .await
        .unwrap_or_else(|_| panic!("no {event} progress within {WAIT:?}"))
}

/// Waits for the bot's next event of `kind` (panics with `what` on timeout).
pub async fn expect(bot: &mut InterpreterBot, kind: &str, what: &str) -> Value {
    bot.wait_kind(kind, WAIT)
        .await
        .unwrap_or_else(|| panic!("{what}: no {kind} within {WAIT:?}"))
        .msg
}

/// Packets (of 50 per second) that prove a stream flows, not a stray one.
pub const FLOWING: u64 = 25;

/// Offers media over `ws` (a session already in its call), applies the answer and waits until the
/// test peer is connected.
pub async fn join_media(
    ws: &mut WsClient,
    config: &hotline_bridge::sfu::peer::PeerConfig,
    tag: u32,
) -> hotline_bridge::testkit::TestPeer {
    use hotline_bridge::testkit::{TestPeerOffer, TestPeerOptions};
    let (offer, sdp) =
        TestPeerOffer::new(config, tag, TestPeerOptions::default()).expect("test peer offer");
    ws.send(json!({"type": "offer", "sdp": sdp})).await;
    let answer = ws.wait_for("answer").await;
    let peer = offer
        .start(answer["sdp"].as_str().expect("sdp"))
        .expect("start peer");
    assert!(peer.wait_connected(WAIT).await, "peer {tag} connects");
    peer
}

/// Waits until `listener` has received `FLOWING` more packets from each of `tags` than it had
/// when called (counters only grow; polled, as packets are not events a test can await).
pub async fn hears_more(listener: &hotline_bridge::testkit::TestPeer, tags: &[u32], who: &str) {
    let base: Vec<u64> = tags.iter().map(|t| listener.packets_from(*t)).collect();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let got: Vec<u64> = tags.iter().map(|t| listener.packets_from(*t)).collect();
        if got.iter().zip(&base).all(|(g, b)| g - b >= FLOWING) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{who} should hear {tags:?}: {base:?} → {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Events the bot has already received, without waiting.
pub fn drain(bot: &mut InterpreterBot) -> Vec<Value> {
    let mut out = Vec::new();
    while let Ok(e) = bot.events.try_recv() {
        out.push(e.msg);
    }
    out
}

/// The kinds of the latest `n` events in `app`'s audit stream.
pub async fn event_kinds(app: &TestApp, n: usize) -> Vec<hotline_bridge::domain::EventKind> {
    let events = app.state.pool.recent_events(n).await.expect("events");
    events.into_iter().map(|e| e.kind).collect()
}

/// The call as its task sees it now (straight from the registry, not a session's stream).
pub async fn call_view(app: &TestApp, call_id: &str) -> hotline_bridge::api::messages::CallView {
    let id = hotline_bridge::domain::CallId::parse(call_id).expect("call id");
    app.state
        .calls
        .get(&id)
        .expect("the call is still live")
        .view()
        .await
        .expect("call view")
}
