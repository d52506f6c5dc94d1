//! A headless interpreter over the real signalling WebSocket: signs in with a personal token, goes
//! available, keeps presence with pings, answers rings (accept, decline or let ring) after a
//! delay, joins the call it is invited to and sends marked audio with a `TestPeer`. Everything it
//! sees is reported as `BotEvent`s. Used by `examples/interpreter_bot.rs`, the bench and tests.
//!
//! A call living on another node (`invited` with a `ws_url`) is entered over a second WebSocket
//! to that node, as the interpreter console does: `hello` with the call, `join_call` after its
//! `welcome`, every call message over it; the service closes it once the bot is out of the call.

use super::{TestPeer, TestPeerOffer, TestPeerOptions};
use crate::sfu::peer::PeerConfig;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Mutex};
use tokio_tungstenite::tungstenite::Message;

/// How long a bot waits for the server's answer to its media offer.
pub const ANSWER_WAIT: Duration = Duration::from_secs(10);

/// How the bot answers a ring.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Answer {
    Accept,
    Decline,
    /// Let it ring out.
    Ignore,
    /// Accept with this probability, decline otherwise.
    Random(f64),
}

#[derive(Debug, Clone)]
pub struct BotOptions {
    pub addr: SocketAddr,
    pub token: String,
    pub answer: Answer,
    /// Delay before answering a ring.
    pub delay: Duration,
    /// Ping (presence heartbeat) interval.
    pub heartbeat: Duration,
    /// Join the call's audio when invited.
    pub join_media: bool,
    /// Tag marking the bot's audio packets.
    pub tag: u32,
}

/// What the bot saw; `at` is when it arrived.
#[derive(Debug, Clone)]
pub struct BotEvent {
    pub at: Instant,
    /// The server message (`type` …), or `{"type":"closed"}` when the socket ended.
    pub msg: Value,
    /// It came over the session for a call on another node, not over the console's session.
    pub call_socket: bool,
}

impl BotEvent {
    pub fn kind(&self) -> &str {
        self.msg["type"].as_str().unwrap_or("")
    }
}

/// Commands a driver of the bot (a test) may give.
#[derive(Debug)]
pub enum BotCommand {
    /// Send this JSON as is.
    Send(Value),
    /// Change how later rings are answered.
    SetAnswer(Answer),
    /// Drop the socket without a close frame (and stop the media), as a crashed console would.
    Vanish,
    /// Drop the session for a call on another node without a close frame (and stop the media);
    /// the console's own session stays.
    DropCall,
}

/// A running bot: its events and a command sender.
pub struct InterpreterBot {
    pub events: mpsc::UnboundedReceiver<BotEvent>,
    pub commands: mpsc::UnboundedSender<BotCommand>,
    /// The media peer once joined.
    pub peer: Arc<Mutex<Option<TestPeer>>>,
}

#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error("websocket: {0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("sign-in refused: {0}")]
    Refused(String),
}

impl InterpreterBot {
    /// Connects, signs in and goes available; returns once the server has welcomed the bot.
    pub async fn start(opts: BotOptions) -> Result<Self, BotError> {
        let (mut ws, _) =
            tokio_tungstenite::connect_async(format!("ws://{}/ws", opts.addr)).await?;
        ws.send(text(&json!({"type": "hello", "token": opts.token})))
            .await?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
                    match v["type"].as_str() {
                        Some("welcome") => break,
                        Some("error") => return Err(BotError::Refused(v.to_string())),
                        _ => continue,
                    }
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
                None => return Err(BotError::Refused("socket closed".into())),
            }
        }
        ws.send(text(
            &json!({"type": "set_availability", "availability": "available"}),
        ))
        .await?;
        let (ev_tx, events) = mpsc::unbounded_channel();
        let (commands, cmd_rx) = mpsc::unbounded_channel();
        let peer = Arc::new(Mutex::new(None));
        tokio::spawn(run(opts, ws, ev_tx, cmd_rx, peer.clone()));
        Ok(Self {
            events,
            commands,
            peer,
        })
    }

    pub fn send(&self, v: Value) {
        let _ = self.commands.send(BotCommand::Send(v));
    }

    /// The next event satisfying `pred` within `timeout` (others are dropped); `None` on timeout
    /// or when the bot has stopped.
    pub async fn wait(
        &mut self,
        timeout: Duration,
        mut pred: impl FnMut(&BotEvent) -> bool,
    ) -> Option<BotEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(e)) if pred(&e) => return Some(e),
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// The next event of type `kind`.
    pub async fn wait_kind(&mut self, kind: &str, timeout: Duration) -> Option<BotEvent> {
        self.wait(timeout, |e| e.kind() == kind).await
    }
}

fn text(v: &Value) -> Message {
    Message::Text(v.to_string().into())
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Messages that belong to the call, sent over the call's own session when it has one.
const CALL_MESSAGES: &[&str] = &["join_call", "offer", "ice_candidate", "leave_call", "mute"];

/// The session for a call living on another node.
struct CallSocket {
    write: SplitSink<Ws, Message>,
    read: SplitStream<Ws>,
    call_id: Value,
}

impl CallSocket {
    /// Connects to `url` and says `hello` for `call_id` (`join_call` follows its `welcome`).
    async fn open(url: &str, token: &str, call_id: Value) -> Result<Self, BotError> {
        let (ws, _) = tokio_tungstenite::connect_async(url).await?;
        let (mut write, read) = ws.split();
        write
            .send(text(
                &json!({"type": "hello", "token": token, "call_id": call_id}),
            ))
            .await?;
        Ok(Self {
            write,
            read,
            call_id,
        })
    }
}

/// The next frame of the call's session; never resolves without one.
async fn call_frame(
    call: &mut Option<CallSocket>,
) -> Option<Result<Message, tokio_tungstenite::tungstenite::Error>> {
    match call.as_mut() {
        Some(c) => c.read.next().await,
        None => std::future::pending().await,
    }
}

fn event(msg: Value, call_socket: bool) -> BotEvent {
    BotEvent {
        at: Instant::now(),
        msg,
        call_socket,
    }
}

async fn run(
    opts: BotOptions,
    ws: Ws,
    events: mpsc::UnboundedSender<BotEvent>,
    mut commands: mpsc::UnboundedReceiver<BotCommand>,
    peer: Arc<Mutex<Option<TestPeer>>>,
) {
    let (mut write, mut read) = ws.split();
    let (answer_tx, mut answers) = mpsc::unbounded_channel::<Value>();
    let mut heartbeat = tokio::time::interval(opts.heartbeat);
    let mut answer = opts.answer;
    let mut pending_media: Option<TestPeerOffer> = None;
    let config = PeerConfig::new().ok();
    let mut nonce = 0u64;
    let mut call: Option<CallSocket> = None;
    loop {
        // What to send, and whether it goes over the call's session.
        let (out, to_call): (Option<Value>, bool) = tokio::select! {
            _ = heartbeat.tick() => {
                nonce += 1;
                let ping = json!({"type": "ping", "nonce": nonce});
                if let Some(c) = call.as_mut() {
                    let _ = c.write.send(text(&ping)).await;
                }
                (Some(ping), false)
            }
            a = answers.recv() => (a, false),
            cmd = commands.recv() => match cmd {
                Some(BotCommand::Send(v)) => {
                    let kind = v["type"].as_str().unwrap_or("");
                    let to_call = call.is_some() && CALL_MESSAGES.contains(&kind);
                    (Some(v), to_call)
                }
                Some(BotCommand::SetAnswer(a)) => { answer = a; (None, false) }
                Some(BotCommand::DropCall) => {
                    if let Some(p) = peer.lock().await.take() { p.close(); }
                    call = None;
                    (None, false)
                }
                Some(BotCommand::Vanish) | None => {
                    if let Some(p) = peer.lock().await.take() { p.close(); }
                    return;
                }
            },
            frame = call_frame(&mut call) => {
                let v = match frame {
                    Some(Ok(Message::Text(t))) => serde_json::from_str::<Value>(&t).unwrap_or(Value::Null),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                        // The call's session ended: closed by the service once the bot was out
                        // of the call, or under the bot (its node went).
                        call = None;
                        let _ = events.send(event(json!({"type": "closed"}), true));
                        continue;
                    }
                    Some(Ok(_)) => continue,
                };
                let reply = match v["type"].as_str() {
                    Some("welcome") => call
                        .as_ref()
                        .map(|c| json!({"type": "join_call", "call_id": c.call_id})),
                    _ => react(&v, answer, &opts, &answer_tx, &mut pending_media, config.as_ref(), &peer).await,
                };
                // After `left` the service closes the call's session; its close is reported.
                let _ = events.send(event(v, true));
                (reply, true)
            }
            frame = read.next() => {
                let v = match frame {
                    Some(Ok(Message::Text(t))) => serde_json::from_str::<Value>(&t).unwrap_or(Value::Null),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                        let _ = events.send(event(json!({"type": "closed"}), false));
                        return;
                    }
                    Some(Ok(_)) => continue,
                };
                let reply = match (v["type"].as_str(), v["ws_url"].as_str()) {
                    // Invited again (the console reconnected) into the call it is already in.
                    (Some("invited"), Some(_)) if call.as_ref().is_some_and(|c| c.call_id == v["call_id"]) => None,
                    (Some("invited"), Some(url)) => {
                        match CallSocket::open(url, &opts.token, v["call_id"].clone()).await {
                            Ok(c) => call = Some(c),
                            Err(e) => tracing::warn!(error = %e, "bot could not reach the call's node"),
                        }
                        None
                    }
                    _ => react(&v, answer, &opts, &answer_tx, &mut pending_media, config.as_ref(), &peer).await,
                };
                let _ = events.send(event(v, false));
                (reply, false)
            }
        };
        let Some(v) = out else {
            continue;
        };
        let sent = match call.as_mut() {
            Some(c) if to_call => c.write.send(text(&v)).await,
            _ => write.send(text(&v)).await,
        };
        if sent.is_err() {
            let _ = events.send(event(json!({"type": "closed"}), to_call));
            if !to_call {
                return;
            }
            call = None;
        }
    }
}

/// The bot's reaction to one server message: an immediate reply, or a delayed one via `later`.
async fn react(
    v: &Value,
    answer: Answer,
    opts: &BotOptions,
    later: &mpsc::UnboundedSender<Value>,
    pending_media: &mut Option<TestPeerOffer>,
    config: Option<&PeerConfig>,
    peer: &Arc<Mutex<Option<TestPeer>>>,
) -> Option<Value> {
    match v["type"].as_str()? {
        "ring" => {
            let offer = v["offer_id"].clone();
            let accept = match answer {
                Answer::Accept => true,
                Answer::Decline => false,
                Answer::Ignore => return None,
                Answer::Random(p) => rand::random::<f64>() < p,
            };
            let kind = if accept {
                "accept_offer"
            } else {
                "decline_offer"
            };
            let msg = json!({"type": kind, "offer_id": offer});
            if opts.delay.is_zero() {
                return Some(msg);
            }
            let later = later.clone();
            let delay = opts.delay;
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _ = later.send(msg);
            });
            None
        }
        "invited" => Some(json!({"type": "join_call", "call_id": v["call_id"]})),
        // Joined again (a resumed session, then `join_call`): the media already started goes on.
        "joined" if opts.join_media && pending_media.is_none() && peer.lock().await.is_none() => {
            let (offer, sdp) =
                TestPeerOffer::new(config?, opts.tag, TestPeerOptions::default()).ok()?;
            *pending_media = Some(offer);
            Some(json!({"type": "offer", "sdp": sdp}))
        }
        "answer" => {
            let offer = pending_media.take()?;
            match offer.start(v["sdp"].as_str()?) {
                Ok(p) => *peer.lock().await = Some(p),
                Err(e) => tracing::warn!(error = %e, "bot media did not start"),
            }
            None
        }
        "left" => {
            if let Some(p) = peer.lock().await.take() {
                p.close();
            }
            None
        }
        _ => None,
    }
}
