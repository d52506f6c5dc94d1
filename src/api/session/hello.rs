//! Who a signalling session is: the `hello` that authenticates it (operator session, an
//! interpreter's personal token, a caller's call token, or an interpreter's call-only session on
//! the call's node), the welcome, the call a reconnecting console gets back, and the notice that
//! this node is draining for shutdown.

use super::{Next, Session, Who, HEARTBEAT_S, IDLE_TIMEOUT, MAX_MESSAGE_BYTES};
use crate::domain::{CallId, InterpreterId, ParticipantId};
use crate::drivers::call::{interpreter_participant, operator_participant, supervisor_participant};
use crate::drivers::clock::now_ms;
use crate::protocol::{ErrorCode, ServerMessage};
use axum::extract::ws::Message;
use futures::Sink;

impl<W: Sink<Message> + Unpin> Session<W> {
    /// Authenticates: operator session, interpreter personal token, or a call's caller token.
    pub(super) async fn hello(
        &mut self,
        token: &str,
        call_id: Option<CallId>,
    ) -> Result<Next, (ErrorCode, String)> {
        let unauthorized = || (ErrorCode::Unauthorized, "wrong or expired token".to_owned());
        let mut interpreter_name = None;
        let who = if let Some((name, _)) = self.state.operators.check(token, now_ms()) {
            self.signed_out = self.state.operators.ended(token);
            Who::Operator(name)
        } else if let Some((name, _)) = self.state.supervisors.check(token, now_ms()) {
            self.signed_out = self.state.supervisors.ended(token);
            Who::Supervisor(name)
        } else if let Some(call_id) = &call_id {
            match self.state.calls.caller_token_matches(call_id, token) {
                Some(true) => Who::Caller(call_id.clone()),
                Some(false) => match self.interpreter(token).await {
                    Some((iid, name)) => {
                        interpreter_name = Some(name);
                        self.call_only = true;
                        Who::Interpreter(iid)
                    }
                    None => {
                        return Err((
                            ErrorCode::Unauthorized,
                            "this token is not the caller token of this call".into(),
                        ))
                    }
                },
                None => return Err(self.not_here(call_id, token).await),
            }
        } else if let Some((iid, name)) = self.interpreter(token).await {
            interpreter_name = Some(name);
            Who::Interpreter(iid)
        } else {
            return Err(unauthorized());
        };
        let name = match &who {
            Who::Caller(_) => None,
            Who::Operator(n) | Who::Supervisor(n) => Some(n.clone()),
            Who::Interpreter(_) => interpreter_name,
        };
        tracing::info!(role = ?who.role(), name = ?name, "signalling session authenticated");
        self.who = Some(who.clone());
        let call_id = match &who {
            Who::Caller(id) => Some(id.clone()),
            _ => call_id.filter(|_| self.call_only),
        };
        self.send(ServerMessage::Welcome {
            role: who.role(),
            name,
            call_id: call_id.clone(),
            // Interpreters' pings keep their presence in the pool: they ping more often.
            heartbeat_s: match who {
                Who::Interpreter(_) => self.state.settings.dispatch.heartbeat_s.max(1),
                _ => HEARTBEAT_S,
            },
            idle_timeout_s: IDLE_TIMEOUT.as_secs(),
            max_message_bytes: MAX_MESSAGE_BYTES,
        })
        .await;
        if !self.call_only {
            self.dispatch_hello(&who).await;
        }
        match who {
            Who::Caller(id) => {
                self.queue = Some(self.state.calls.queue());
                let call = self
                    .state
                    .calls
                    .get(&id)
                    .ok_or((ErrorCode::NotFound, "the call is over".to_owned()))?;
                self.attach(call, crate::drivers::call::CallHandle::caller())
                    .await?;
            }
            Who::Operator(ref name) => {
                let mut rx = self.state.calls.queue();
                let now = rx.borrow_and_update().clone();
                self.queue = Some(rx);
                self.queue_update(now).await;
                self.resume(operator_participant(name)).await;
            }
            Who::Interpreter(ref iid) => self.resume(interpreter_participant(iid)).await,
            Who::Supervisor(ref name) => self.resume(supervisor_participant(name)).await,
        }
        self.tell_draining().await;
        Ok(Next::Continue)
    }

    /// The refusal of a caller whose call this node does not hold: a call its node's loss ended
    /// (the pool's record says so) is reported ended, so the page offers to call again.
    async fn not_here(&self, call_id: &CallId, token: &str) -> (ErrorCode, String) {
        let record = self.state.pool.call_record(call_id).await.ok().flatten();
        match record {
            Some(r) if r.ended.is_some() && crate::auth::matches_sha256(token, &r.token_sha256) => {
                tracing::info!(call_id = %call_id, why = %r.why, "caller of an ended call came back here");
                (
                    ErrorCode::NotFound,
                    "the call has ended; please call again".to_owned(),
                )
            }
            _ => (ErrorCode::Unauthorized, format!("no call {call_id}")),
        }
    }

    /// A console that reconnects (page reload, network change) gets back the call it is in.
    async fn resume(&mut self, me: ParticipantId) {
        for call in self.state.calls.live() {
            let Ok(view) = call.view().await else {
                continue;
            };
            if view.participants.iter().any(|p| p.id == me) {
                if let Err((code, message)) = self.attach(call, me.clone()).await {
                    self.error(code, &message).await;
                }
                return;
            }
        }
    }

    /// Tells an authenticated client that this node drains, and until when its call may go on.
    pub(super) async fn tell_draining(&mut self) {
        let (Some(d), Some(_)) = (self.state.lifecycle.draining(), &self.who) else {
            return;
        };
        let now = now_ms();
        let message = if d.deadline <= now {
            "This server is shutting down: calls still in progress are being ended now.".to_owned()
        } else {
            format!(
                "This server is shutting down: it takes no new calls; a call in progress may go \
                 on for {} s more.",
                d.deadline.saturating_sub(now).div_ceil(1000)
            )
        };
        self.send(ServerMessage::Draining {
            deadline: d.deadline,
            now,
            message,
        })
        .await;
    }

    /// The interpreter whose personal token this is, with their name: `<interpreter id>.<secret>`,
    /// checked against the profile's SHA-256 of the whole token (as the university API issues
    /// it), compared in constant time.
    async fn interpreter(&self, token: &str) -> Option<(InterpreterId, String)> {
        let (id, _secret) = token.split_once('.')?;
        let iid = InterpreterId::parse(id).ok()?;
        let profile = self.state.pool.profile(&iid).await.ok()??;
        let hash = profile.token_sha256?;
        crate::auth::matches_sha256(token, &hash).then_some((iid, profile.name))
    }
}
