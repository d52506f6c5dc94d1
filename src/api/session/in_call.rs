//! Entering a call (the operator answers or takes over, an interpreter joins), attaching the
//! session to it, and the controls sent from inside it.

use super::refusals::refusal;
use super::{Attached, Next, Session, Who};
use crate::domain::{CallId, ParticipantId};
use crate::drivers::call::{operator_participant, CallHandle, Control};
use crate::drivers::clock::now_ms;
use crate::engine::{ice_servers, IceTransportPolicy};
use crate::protocol::{ErrorCode, ServerMessage};
use axum::extract::ws::Message;
use futures::Sink;

impl<W: Sink<Message> + Unpin> Session<W> {
    /// Operator answers / takes over, interpreter joins; then the session is attached.
    pub(super) async fn enter(
        &mut self,
        who: &Who,
        call_id: CallId,
    ) -> Result<Next, (ErrorCode, String)> {
        let call = self
            .state
            .calls
            .get(&call_id)
            .ok_or((ErrorCode::NotFound, format!("no live call {call_id}")))?;
        let me = match who {
            Who::Operator(name) => {
                let me = operator_participant(name);
                call.answer(me.clone(), name.clone())
                    .await
                    .map_err(refusal)?;
                // The call's case opens (or links) beside the answer, never delaying it.
                if let Some(desk) = crate::api::cases::desk(&self.state) {
                    desk.answered(call.clone(), name.clone(), &self.state.lifecycle);
                }
                me
            }
            Who::Interpreter(iid) => call.join_interpreter(iid.clone()).await.map_err(refusal)?,
            Who::Supervisor(name) => call.join_supervisor(name.clone()).await.map_err(refusal)?,
            Who::Caller(_) => {
                return Err((ErrorCode::Forbidden, "callers are in their own call".into()))
            }
        };
        if let Some(old) = self.attached.take() {
            old.call.detach(old.me).await;
        }
        self.attach(call, me).await?;
        Ok(Next::Continue)
    }

    pub(super) async fn attach(
        &mut self,
        call: CallHandle,
        me: ParticipantId,
    ) -> Result<(), (ErrorCode, String)> {
        let updates = call.subscribe();
        let view = call.attach(me.clone()).await.map_err(refusal)?;
        let m = &self.state.settings.media;
        // Named after the participant, so the TURN server's logs say whose relay it is.
        let ice_servers = ice_servers(
            &m.turn_urls,
            &m.turn_secret,
            m.turn_ttl_s,
            me.as_str(),
            now_ms() / 1000,
        );
        self.send(ServerMessage::Joined {
            call_id: call.id().clone(),
            participant: me.clone(),
            ice_servers,
            ice_transport_policy: IceTransportPolicy::relay_only(m.turn_relay_only),
        })
        .await;
        self.attached = Some(Attached {
            call,
            me,
            updates,
            last: None,
        });
        self.call_state(view).await;
        Ok(())
    }

    pub(super) async fn control(&mut self, c: Control) -> Result<Next, (ErrorCode, String)> {
        let (call, _) = self.in_call()?;
        call.control(c).await.map_err(refusal)?;
        Ok(Next::Continue)
    }

    pub(super) fn in_call(&self) -> Result<(CallHandle, ParticipantId), (ErrorCode, String)> {
        self.attached
            .as_ref()
            .map(|a| (a.call.clone(), a.me.clone()))
            .ok_or((
                ErrorCode::NotInCall,
                "join or answer a call first".to_owned(),
            ))
    }
}
