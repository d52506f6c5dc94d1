//! One signalling session (one WebSocket), generic over a `Sink`/`Stream` of frames so it is
//! unit-tested with channels. It authenticates the first message (the token decides the role),
//! checks what each role may send, and relays between the client and its call's task. Bad input
//! gets an `error` message (or a close frame with a reason); nothing a client sends ends the
//! service. The call's decisions are its task's (`drivers::call`), never made here.

use super::session_limits::SessionLimits;
use crate::api::state::AppState;
use crate::domain::{CallId, EndedBy, InterpreterId, ParticipantId, Role};
use crate::drivers::call::{CallHandle, CallUpdate, Control};
use crate::drivers::call_registry::Queue;
use crate::protocol::{parse_client, CallView, ClientMessage, ErrorCode, ServerMessage};
use axum::extract::ws::{CloseFrame, Message};
use futures::{Sink, SinkExt, Stream, StreamExt};
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// Largest text message accepted; larger ones close the session with 1009 (an SDP offer with four
/// audio transceivers is a few kB).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// After the server's close frame, how long the client's close is awaited.
pub const CLOSE_LINGER: Duration = Duration::from_secs(2);
/// Clients ping this often …
pub const HEARTBEAT_S: u64 = 15;
/// … and a session silent for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Consecutive refused messages before the session is closed (a client stuck in a loop).
pub const MAX_CONSECUTIVE_ERRORS: u32 = 20;

/// WebSocket close codes (RFC 6455 §7.4.1).
mod close {
    pub const NORMAL: u16 = 1000;
    /// The node is shutting down (after its drain); the client reconnects, to another node.
    pub const GOING_AWAY: u16 = 1001;
    pub const UNSUPPORTED: u16 = 1003;
    pub const POLICY: u16 = 1008;
    pub const TOO_BIG: u16 = 1009;
}

#[derive(Debug, Clone)]
enum Who {
    Caller(CallId),
    Operator(String),
    Interpreter(InterpreterId),
    /// A supervisor's session (account name): listens in, whispers, barges in.
    Supervisor(String),
}

impl Who {
    fn role(&self) -> Role {
        match self {
            Who::Caller(_) => Role::Caller,
            Who::Operator(_) => Role::Operator,
            Who::Interpreter(_) => Role::Interpreter,
            Who::Supervisor(_) => Role::Supervisor,
        }
    }
}

struct Attached {
    call: CallHandle,
    me: ParticipantId,
    updates: broadcast::Receiver<CallUpdate>,
    last: Option<CallView>,
}

/// What to do after a message.
enum Next {
    Continue,
    Close(u16, &'static str),
}

/// Runs one session until the client goes, the session is closed for cause, or the caller's call
/// ends.
pub async fn run<W, R>(state: AppState, write: W, mut read: R)
where
    W: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let limits = SessionLimits::new(
        &state.settings.limits,
        Duration::from_secs(state.settings.limits.hello_timeout_s),
    );
    let mut s = Session {
        limits,
        state,
        write,
        who: None,
        attached: None,
        queue: None,
        errors: 0,
        dispatch: dispatch::Feeds::default(),
        call_only: false,
        signed_out: None,
    };
    let close = s.serve(&mut read).await;
    if let Some((code, reason)) = close {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        if s.write.send(Message::Close(Some(frame))).await.is_ok() {
            // The closing handshake: read (and ignore) what the client still sends until its
            // own close, for a bounded time, so the socket is not reset under the client
            // before it has read the close frame and the errors before it.
            let _ = tokio::time::timeout(CLOSE_LINGER, async {
                while let Some(Ok(m)) = read.next().await {
                    if matches!(m, Message::Close(_)) {
                        break;
                    }
                }
            })
            .await;
        }
    }
    s.dispatch_close();
    if let Some(a) = s.attached.take() {
        a.call.detach(a.me).await;
    }
}

struct Session<W> {
    state: AppState,
    write: W,
    who: Option<Who>,
    attached: Option<Attached>,
    queue: Option<watch::Receiver<Queue>>,
    errors: u32,
    dispatch: dispatch::Feeds,
    /// An interpreter's session for one call living on this node while their console (rings,
    /// presence) is connected to another node.
    call_only: bool,
    /// An operator's login: cancelled when they log out, which ends this session too.
    signed_out: Option<tokio_util::sync::CancellationToken>,
    limits: SessionLimits,
}

impl<W: Sink<Message> + Unpin> Session<W> {
    /// The session loop; returns the close frame to send, if any.
    async fn serve<R>(&mut self, read: &mut R) -> Option<(u16, &'static str)>
    where
        R: Stream<Item = Result<Message, axum::Error>> + Unpin,
    {
        let stop = self.state.lifecycle.root().clone();
        let mut drain = self.state.lifecycle.watch_drain();
        loop {
            // The hello deadline is absolute: frames before it (pings, junk) do not extend it.
            let wait = if self.who.is_none() {
                self.limits
                    .hello_by()
                    .saturating_duration_since(tokio::time::Instant::now())
            } else {
                IDLE_TIMEOUT
            };
            tokio::select! {
                frame = tokio::time::timeout(wait, read.next()) => {
                    let frame = match frame {
                        Err(_) => {
                            let (why, code) = if self.who.is_none() {
                                ("no hello in time", ErrorCode::HelloFirst)
                            } else {
                                ("idle: no message or ping in time", ErrorCode::Idle)
                            };
                            self.error(code, why).await;
                            return Some((close::POLICY, why));
                        }
                        Ok(None) | Ok(Some(Err(_))) => return None,
                        Ok(Some(Ok(f))) => f,
                    };
                    match frame {
                        Message::Text(t) => {
                            if let Next::Close(code, why) = self.text(t.as_str()).await {
                                return Some((code, why));
                            }
                        }
                        Message::Binary(_) => {
                            self.error(ErrorCode::BadJson, "binary frames are not accepted; send JSON text").await;
                            return Some((close::UNSUPPORTED, "binary frames are not accepted"));
                        }
                        Message::Close(_) => return None,
                        Message::Ping(_) | Message::Pong(_) => {}
                    }
                }
                update = updates::next_update(&mut self.attached) => {
                    if let Next::Close(code, why) = self.update(update).await {
                        return Some((code, why));
                    }
                }
                Some(queue) = updates::queue_changed(&mut self.queue) => self.queue_update(queue).await,
                feed = dispatch::next(&mut self.dispatch) => self.dispatch_feed(feed).await,
                () = updates::signed_out(&self.signed_out) => {
                    self.error(ErrorCode::Unauthorized, "logged out: sign in again").await;
                    return Some((close::POLICY, "logged out"));
                }
                Ok(()) = drain.changed() => self.tell_draining().await,
                _ = stop.cancelled() => {
                    return Some((close::GOING_AWAY, "the server is shutting down; reconnect"));
                }
            }
        }
    }

    async fn text(&mut self, text: &str) -> Next {
        if text.len() > MAX_MESSAGE_BYTES {
            let m = format!(
                "message of {} bytes; at most {MAX_MESSAGE_BYTES} are accepted",
                text.len()
            );
            self.error(ErrorCode::TooLarge, &m).await;
            return Next::Close(close::TOO_BIG, "message too large");
        }
        if let Err((code, message)) = self.limits.message() {
            return self.refuse(code, &message).await;
        }
        let msg = match parse_client(text) {
            Ok(m) => m,
            Err((code, message)) => return self.refuse(code, &message).await,
        };
        match self.handle(msg).await {
            Ok(next) => {
                self.errors = 0;
                next
            }
            Err((code, message)) => {
                let fatal = code == ErrorCode::Unauthorized;
                let next = self.refuse(code, &message).await;
                if fatal {
                    Next::Close(close::POLICY, "unauthorized")
                } else {
                    next
                }
            }
        }
    }

    async fn refuse(&mut self, code: ErrorCode, message: &str) -> Next {
        self.error(code, message).await;
        self.errors += 1;
        if self.errors >= MAX_CONSECUTIVE_ERRORS {
            return Next::Close(close::POLICY, "too many refused messages");
        }
        Next::Continue
    }

    async fn handle(&mut self, msg: ClientMessage) -> Result<Next, (ErrorCode, String)> {
        let Some(who) = self.who.clone() else {
            return match msg {
                ClientMessage::Hello { token, call_id } => self.hello(&token, call_id).await,
                ClientMessage::Ping { nonce } => {
                    self.send(ServerMessage::Pong { nonce }).await;
                    Ok(Next::Continue)
                }
                other => Err((
                    ErrorCode::HelloFirst,
                    format!("send hello with your token before {:?}", other.kind()),
                )),
            };
        };
        allowed(who.role(), &msg)?;
        match msg {
            ClientMessage::Hello { .. } => {
                Err((ErrorCode::Invalid, "already authenticated".into()))
            }
            ClientMessage::Ping { nonce } => {
                if let (Who::Interpreter(iid), false) = (&who, self.call_only) {
                    self.heartbeat(iid).await;
                }
                self.send(ServerMessage::Pong { nonce }).await;
                Ok(Next::Continue)
            }
            ClientMessage::SetAvailability { .. }
            | ClientMessage::AcceptOffer { .. }
            | ClientMessage::DeclineOffer { .. }
                if self.call_only =>
            {
                Err((
                    ErrorCode::Forbidden,
                    "this session is for one call only; answer rings on your console's session"
                        .into(),
                ))
            }
            m @ (ClientMessage::SetAvailability { .. }
            | ClientMessage::AcceptOffer { .. }
            | ClientMessage::DeclineOffer { .. }
            | ClientMessage::RequestInterpreter { .. }
            | ClientMessage::CancelInterpreter
            | ClientMessage::RemoveInterpreter
            | ClientMessage::ReplaceInterpreter) => self.dispatch_message(&who, m).await,
            ClientMessage::AnswerCall { call_id } | ClientMessage::JoinCall { call_id } => {
                self.enter(&who, call_id).await
            }
            ClientMessage::Offer { sdp } => {
                let (call, me) = self.in_call()?;
                self.limits.offer(&sdp)?;
                let sdp = call.offer(me, sdp).await.map_err(refusal)?;
                self.send(ServerMessage::Answer { sdp }).await;
                Ok(Next::Continue)
            }
            ClientMessage::IceCandidate { candidate } => {
                let (call, me) = self.in_call()?;
                self.limits.candidate()?;
                call.candidate(me, candidate).await.map_err(refusal)?;
                Ok(Next::Continue)
            }
            ClientMessage::LeaveCall => {
                let (call, me) = self.in_call()?;
                call.leave(me).await.map_err(refusal)?;
                Ok(Next::Continue)
            }
            ClientMessage::Mute { participant, muted } => {
                let (call, me) = self.in_call()?;
                if who.role() != Role::Operator && participant != me {
                    return Err((
                        ErrorCode::Forbidden,
                        "only the operator may mute someone else".into(),
                    ));
                }
                let by = (participant != me).then(|| who.role());
                call.control(Control::Mute {
                    participant,
                    muted,
                    by,
                })
                .await
                .map_err(refusal)?;
                Ok(Next::Continue)
            }
            ClientMessage::Supervise { mode } => {
                let (_, me) = self.in_call()?;
                self.control(Control::Supervise {
                    participant: me,
                    mode,
                })
                .await
            }
            ClientMessage::Hold { on } => self.control(Control::Hold(on)).await,
            ClientMessage::Consult { on } => self.control(Control::Consult(on)).await,
            ClientMessage::SetLanguage { language } => {
                self.control(Control::Language(language)).await
            }
            ClientMessage::HangUp => {
                let (call, _) = self.in_call()?;
                let by = match who.role() {
                    Role::Caller => EndedBy::Caller,
                    Role::Operator => EndedBy::Operator,
                    _ => EndedBy::Hotline,
                };
                call.end(by).await.map_err(refusal)?;
                Ok(Next::Continue)
            }
            ClientMessage::KeepWaiting => {
                let (call, _) = self.in_call()?;
                call.keep_waiting().await.map_err(refusal)?;
                Ok(Next::Continue)
            }
            ClientMessage::RequestCallback {
                number,
                language,
                description,
            } => {
                self.request_callback(&number, language.as_deref(), &description)
                    .await
            }
            ClientMessage::ReadCaseNumber => {
                let (call, _) = self.in_call()?;
                call.read_case_number().await.map_err(refusal)?;
                Ok(Next::Continue)
            }
        }
    }

    async fn error(&mut self, code: ErrorCode, message: &str) {
        self.send(ServerMessage::Error {
            code,
            message: message.to_owned(),
        })
        .await;
    }

    async fn send(&mut self, msg: ServerMessage) {
        // A caller sees the people in the call by role only.
        let msg = match &self.who {
            Some(Who::Caller(call)) => super::caller_view::for_caller(msg, call),
            _ => msg,
        };
        match serde_json::to_string(&msg) {
            Ok(text) => {
                // A client that has gone is noticed by the read side.
                let _ = self.write.send(Message::Text(text.into())).await;
            }
            Err(e) => tracing::error!(error = %e, "server message not serialisable"),
        }
    }
}

mod callback;
mod dispatch;
mod hello;
mod in_call;
mod refusals;
mod updates;

use refusals::{allowed, refusal};

#[cfg(test)]
mod tests;
