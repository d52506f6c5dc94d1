//! The dispatch side of a signalling session: an interpreter's availability, heartbeat (pool
//! presence), rings and answers; an operator's interpreter requests and the progress lines of the
//! call they are in. It checks who asks and relays; what happens is `drivers::dispatch`'s.

use super::{Next, Session, Who};
use crate::domain::{CallId, InterpreterId, OfferId};
use crate::drivers::clock::now_ms;
use crate::drivers::dispatch::DispatchRefused;
use crate::engine::dispatch::Progress;
use crate::pool::{Availability, InterpreterState, OfferState, PoolError, Status};
use crate::protocol::{ClientMessage, ErrorCode, InterpreterStage, OfferEndReason, ServerMessage};
use axum::extract::ws::Message;
use futures::Sink;
use std::collections::HashMap;
use tokio::sync::{broadcast, mpsc};

type Refusal = (ErrorCode, String);

/// What a session receives from the dispatcher.
#[derive(Default)]
pub(super) struct Feeds {
    console: Option<(InterpreterId, u64, mpsc::Receiver<ServerMessage>)>,
    progress: Option<broadcast::Receiver<Progress>>,
    /// Rings seen by this console: offer → call.
    rings: HashMap<OfferId, CallId>,
    last_status: Option<(Status, Option<u64>)>,
}

pub(super) enum Feed {
    Console(ServerMessage),
    Progress(Progress),
    /// The dispatcher's channel ended (or this session lagged on progress).
    Nothing,
}

/// The next message from the dispatcher; never resolves without a subscription.
pub(super) async fn next(feeds: &mut Feeds) -> Feed {
    let console = async {
        match feeds.console.as_mut() {
            Some((_, _, rx)) => rx.recv().await,
            None => std::future::pending().await,
        }
    };
    let progress = async {
        match feeds.progress.as_mut() {
            Some(rx) => rx.recv().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        m = console => m.map_or(Feed::Nothing, Feed::Console),
        p = progress => p.map_or(Feed::Nothing, Feed::Progress),
    }
}

impl<W: Sink<Message> + Unpin> Session<W> {
    /// After `welcome`: an interpreter's console is registered and told its status; an operator
    /// follows dispatch progress.
    pub(super) async fn dispatch_hello(&mut self, who: &Who) {
        match who {
            Who::Interpreter(iid) => {
                let (ticket, rx) = self.state.dispatch.consoles().register(iid);
                self.dispatch.console = Some((iid.clone(), ticket, rx));
                if let Some(s) = self.heartbeat(iid).await {
                    // Back while holding a call: it may live on another node.
                    if let (Status::Busy, Some(offer)) = (s.status, &s.offer) {
                        self.state.dispatch.invite_again(iid, offer);
                    }
                }
            }
            // Callers follow it too, told only the stage (no names).
            Who::Operator(_) | Who::Caller(_) => {
                self.dispatch.progress = Some(self.state.dispatch.progress())
            }
            Who::Supervisor(_) => {}
        }
    }

    pub(super) fn dispatch_close(&mut self) {
        if let Some((iid, ticket, _)) = self.dispatch.console.take() {
            self.state.dispatch.consoles().unregister(&iid, ticket);
        }
    }

    /// Presence in the pool; the status is sent when it changed.
    pub(super) async fn heartbeat(&mut self, iid: &InterpreterId) -> Option<InterpreterState> {
        match self.state.pool.heartbeat(iid, now_ms()).await {
            Ok(s) => {
                self.status(&s).await;
                Some(s)
            }
            Err(e) => {
                tracing::warn!(interpreter_id = %iid, error = %e, "heartbeat not stored");
                None
            }
        }
    }

    async fn status(&mut self, s: &InterpreterState) {
        let now = now_ms();
        let until = (s.status == Status::WrapUp).then_some(s.idle_since);
        if self.dispatch.last_status == Some((s.status, until)) {
            return;
        }
        self.dispatch.last_status = Some((s.status, until));
        self.send(ServerMessage::InterpreterStatus {
            status: s.status,
            until,
            now,
        })
        .await;
    }

    pub(super) async fn dispatch_feed(&mut self, feed: Feed) {
        match feed {
            Feed::Console(m) => {
                match &m {
                    ServerMessage::Ring {
                        offer_id, call_id, ..
                    } => {
                        self.dispatch
                            .rings
                            .insert(offer_id.clone(), call_id.clone());
                    }
                    ServerMessage::OfferEnded { offer_id, .. } => {
                        self.dispatch.rings.remove(offer_id);
                    }
                    ServerMessage::InterpreterStatus { status, until, .. } => {
                        // A heartbeat may have shown this status already (a release reported
                        // over the node bus can arrive after it): not repeated.
                        if self.dispatch.last_status == Some((*status, *until)) {
                            return;
                        }
                        self.dispatch.last_status = Some((*status, *until));
                    }
                    _ => {}
                }
                self.send(m).await;
            }
            Feed::Progress(p) => {
                let mine = self
                    .attached
                    .as_ref()
                    .is_some_and(|a| a.call.id() == &p.call);
                if !mine {
                    return;
                }
                if matches!(self.who, Some(Who::Caller(_))) {
                    if let Some(stage) = InterpreterStage::of(&p.event) {
                        self.send(ServerMessage::Interpreting { stage }).await;
                    }
                } else {
                    self.send(ServerMessage::Dispatch { progress: p }).await;
                }
            }
            Feed::Nothing => {}
        }
    }

    /// The dispatch messages (roles already checked by `allowed`).
    pub(super) async fn dispatch_message(
        &mut self,
        who: &Who,
        msg: ClientMessage,
    ) -> Result<Next, Refusal> {
        match (who, msg) {
            (Who::Interpreter(iid), ClientMessage::SetAvailability { availability }) => {
                if availability == Availability::Available
                    && self.state.lifecycle.draining().is_some()
                {
                    return Err((
                        ErrorCode::Draining,
                        "this server is shutting down: your console reconnects to another one, \
                         where you can be available again"
                            .into(),
                    ));
                }
                let s = self
                    .state
                    .pool
                    .set_availability(iid, availability, now_ms())
                    .await
                    .map_err(pool_refusal)?;
                self.status(&s).await;
                if s.status == Status::Available {
                    self.state.dispatch.available(iid.clone()).await;
                }
            }
            (Who::Interpreter(iid), ClientMessage::AcceptOffer { offer_id }) => {
                self.answer(iid, offer_id, true).await?
            }
            (Who::Interpreter(iid), ClientMessage::DeclineOffer { offer_id }) => {
                self.answer(iid, offer_id, false).await?
            }
            (Who::Operator(_), ClientMessage::RequestInterpreter { language, brief }) => {
                let (call, _) = self.in_call()?;
                if let Some(text) = brief {
                    let brief = crate::domain::check_brief(&text)
                        .map_err(|e| (ErrorCode::Invalid, e.to_string()))?;
                    call.set_brief(brief).await.map_err(super::refusal)?;
                }
                let known = self
                    .attached
                    .as_ref()
                    .and_then(|a| a.last.as_ref())
                    .and_then(|v| v.language.code);
                let language = language.or(known).ok_or((
                    ErrorCode::Invalid,
                    "the call's language is not known yet: name the language".to_owned(),
                ))?;
                self.state
                    .dispatch
                    .request(call.id().clone(), language)
                    .await
                    .map_err(dispatch_refusal)?;
            }
            (
                Who::Operator(_),
                ClientMessage::CancelInterpreter | ClientMessage::RemoveInterpreter,
            ) => {
                let (call, _) = self.in_call()?;
                self.state
                    .dispatch
                    .cancel(call.id().clone())
                    .await
                    .map_err(dispatch_refusal)?;
            }
            (Who::Operator(_), ClientMessage::ReplaceInterpreter) => {
                let (call, _) = self.in_call()?;
                self.state
                    .dispatch
                    .replace(call.id().clone())
                    .await
                    .map_err(dispatch_refusal)?;
            }
            (_, other) => {
                return Err((
                    ErrorCode::Forbidden,
                    format!("not allowed here: {:?}", other.kind()),
                ))
            }
        }
        Ok(Next::Continue)
    }

    async fn answer(
        &mut self,
        iid: &InterpreterId,
        offer: OfferId,
        accept: bool,
    ) -> Result<(), Refusal> {
        let now = now_ms();
        let result = self.state.dispatch.respond(&offer, iid, accept, now).await;
        let state = match result {
            Ok(state) => state,
            Err(PoolError::TooLate(_)) => {
                self.dispatch.rings.remove(&offer);
                return Err((
                    ErrorCode::Conflict,
                    "too late: the offer expired before your answer".into(),
                ));
            }
            Err(e) => return Err(pool_refusal(e)),
        };
        let call = self.dispatch.rings.remove(&offer);
        if state == OfferState::Declined {
            if let Some(call_id) = call {
                self.send(ServerMessage::OfferEnded {
                    offer_id: offer,
                    call_id,
                    reason: OfferEndReason::Declined,
                    message: "declined".into(),
                })
                .await;
            }
        }
        if let Ok(Some(s)) = self.state.pool.state(iid, now).await {
            self.status(&s).await;
        }
        Ok(())
    }
}

/// A pool refusal as an error message (mapped once, in `api::error`; a store failure's own
/// words name its host and port: logged, never sent).
fn pool_refusal(e: PoolError) -> Refusal {
    crate::api::ApiError::from(e).to_ws()
}

/// A dispatcher refusal as an error message (mapped once, in `api::error`).
fn dispatch_refusal(e: DispatchRefused) -> Refusal {
    crate::api::ApiError::from(e).to_ws()
}

#[cfg(test)]
mod refusal_tests {
    use super::*;

    #[test]
    fn a_store_failure_reaches_the_console_without_its_address() {
        for e in [
            PoolError::Unavailable("Connection refused (os error 111) to 10.20.30.40:6390".into()),
            PoolError::Corrupt("field status at {hb}:interp:x = 0x7ffd3a2c".into()),
        ] {
            let (code, message) = pool_refusal(e);
            assert_eq!(code, ErrorCode::Internal);
            assert!(!message.contains("10.20.30.40"), "{message}");
            assert!(!message.contains("6390"), "{message}");
            assert!(!message.contains("0x"), "{message}");
            assert!(!message.contains("{hb}"), "{message}");
        }
    }
}
