//! How a phone leg's dialog goes on after the INVITE: answered with our SDP once the stack says
//! it is calling, confirmed by the ACK, ended by the phone (BYE, CANCEL, no ACK: the caller leaves
//! as a web caller's hang-up does) or by the bridge (BYE to the phone). Key presses sent as SIP
//! INFO become the same `MediaEvent::Digit` as RFC 4733 ones.

use super::Edge;
use crate::drivers::call::CallHandle;
use crate::sip::dtmf::digit_from_info;
use crate::sip::request;
use crate::sip::sdp::{self, Direction};
use rsipstack::dialog::dialog::{Dialog, DialogState, TerminatedReason, TransactionHandle};
use rsipstack::sip::{Header, Method, Request, StatusCode};

impl Edge {
    pub(super) fn dialog_state(&mut self, state: DialogState) {
        match state {
            DialogState::Calling(id) => {
                let key = id.to_string();
                let (Some(leg), Some(Dialog::Invite(d))) =
                    (self.legs.get(&key), self.dialogs.get_dialog(&id))
                else {
                    return;
                };
                let ct = Header::ContentType("application/sdp".into());
                if let Err(e) = d.accept(Some(vec![ct]), Some(leg.answer.clone())) {
                    tracing::warn!(sip_call_id = %leg.sip_call_id, call_id = %leg.call.id(), error = %e, "answering failed");
                }
            }
            DialogState::Confirmed(id, _) => {
                // Also re-entered after every in-dialog request (INFO): logged once.
                let key = id.to_string();
                let mut bye_now = false;
                if let Some(leg) = self.legs.get_mut(&key) {
                    if !leg.answered {
                        leg.answered = true;
                        tracing::info!(sip_call_id = %leg.sip_call_id, call_id = %leg.call.id(), "phone leg answered");
                        // The call ended on the bridge while our 200 waited for its ACK.
                        bye_now = leg.ended_here;
                    }
                }
                if bye_now {
                    self.bye(&key);
                }
            }
            DialogState::Info(id, req, handle) => self.info(&id.to_string(), &req, handle),
            DialogState::Updated(id, req, handle) => self.refreshed(&id.to_string(), &req, handle),
            DialogState::Terminated(id, reason) => {
                self.dialogs.remove_dialog(&id);
                let Some(leg) = self.legs.remove(&id.to_string()) else {
                    return;
                };
                leg.stop_watch.cancel();
                let why = match reason {
                    TerminatedReason::UacBye => "the phone hung up",
                    TerminatedReason::UacCancel => "the phone cancelled before the answer",
                    TerminatedReason::Timeout => "no ACK from the phone",
                    _ => "the dialog ended",
                };
                tracing::info!(sip_call_id = %leg.sip_call_id, call_id = %leg.call.id(), why, "phone leg over");
                if !leg.ended_here {
                    // As a web caller's hang-up: the caller leaves, so the call ends.
                    let call = leg.call;
                    tokio::spawn(async move {
                        let _ = call.leave(CallHandle::caller()).await;
                    });
                }
            }
            _ => {}
        }
    }

    /// An INFO in a phone leg's dialog: a key press is reported like an RFC 4733 one; an empty
    /// INFO (a keep-alive) is answered 200; any other body 415.
    fn info(&self, key: &str, req: &Request, handle: TransactionHandle) {
        let content_type = request::content_type(req);
        let status = match (self.legs.get(key), digit_from_info(content_type, &req.body)) {
            (None, _) => StatusCode::CallTransactionDoesNotExist,
            (Some(leg), Some(digit)) => {
                tracing::info!(sip_call_id = %leg.sip_call_id, call_id = %leg.call.id(), %digit, "key pressed (SIP INFO)");
                self.media
                    .digit(leg.call.id().clone(), CallHandle::caller(), digit);
                StatusCode::OK
            }
            (Some(_), None) if req.body.is_empty() => StatusCode::OK,
            (Some(leg), None) => {
                tracing::info!(sip_call_id = %leg.sip_call_id, content_type, "INFO we do not read");
                StatusCode::UnsupportedMediaType
            }
        };
        tokio::spawn(async move {
            if let Err(e) = handle.reply(status).await {
                tracing::debug!(error = %e, "INFO reply not sent");
            }
        });
    }

    /// A re-INVITE or UPDATE in a phone leg's dialog: a session refresh, or the PBX holding the
    /// call (sendonly/inactive) and taking it back. Answered 200 with our description in the
    /// mirrored direction (a re-INVITE always gets one; an UPDATE only when it made an offer), the
    /// origin's version moving on when the description changed. While the phone says it sends
    /// nothing (inactive, recvonly) its RTP timeout waits; the leg keeps its address latching.
    fn refreshed(&mut self, key: &str, req: &Request, handle: TransactionHandle) {
        let Some(leg) = self.legs.get_mut(key) else {
            tokio::spawn(async move {
                let _ = handle.reply(StatusCode::CallTransactionDoesNotExist).await;
            });
            return;
        };
        let offered = !req.body.is_empty();
        if offered && !keeps_session(&leg.answer, &req.body) {
            // The leg's codec and SRTP key are set at the start: a re-offer that drops them is
            // refused (the call goes on as it was), not answered with a codec it did not offer.
            tracing::info!(sip_call_id = %leg.sip_call_id, call_id = %leg.call.id(), "re-offer without the leg's codec or profile: 488");
            tokio::spawn(async move {
                let _ = handle.reply(StatusCode::NotAcceptableHere).await;
            });
            return;
        }
        let body = if offered || req.method == Method::Invite {
            let theirs = Direction::of(&req.body);
            let direction = match offered {
                true => theirs.answer(),
                false => leg.sent.0,
            };
            if offered {
                // Held with inactive (or recvonly) the phone sends nothing: not a dropped leg.
                let sends = matches!(theirs, Direction::SendRecv | Direction::SendOnly);
                // A new address for our RTP (a PBX moving the media) is followed.
                let remote = sdp::parse_offer(&req.body).ok().map(|o| o.rtp);
                let (media, call) = (self.media.clone(), leg.call.id().clone());
                tokio::spawn(async move {
                    let caller = CallHandle::caller();
                    let moved = media.phone_renegotiated(call, caller, sends, remote);
                    if let Err(e) = moved.await {
                        tracing::debug!(error = %e, "phone leg's direction not passed on");
                    }
                });
            }
            if direction != leg.sent.0 {
                leg.sent = (direction, leg.sent.1 + 1);
            }
            tracing::info!(sip_call_id = %leg.sip_call_id, call_id = %leg.call.id(), method = %req.method, ?direction, "phone leg's session refreshed");
            Some(sdp::reanswer(&leg.answer, leg.sent.0, leg.sent.1))
        } else {
            tracing::debug!(sip_call_id = %leg.sip_call_id, "session refresh without a description");
            None
        };
        let headers = body
            .is_some()
            .then(|| vec![Header::ContentType("application/sdp".into())]);
        tokio::spawn(async move {
            if let Err(e) = handle.respond(StatusCode::OK, headers, body).await {
                tracing::debug!(error = %e, "refresh reply not sent");
            }
        });
    }

    /// The call ended on the bridge's side: BYE to the phone (or a final refusal before the
    /// answer).
    pub(super) fn ended_here(&mut self, key: &str) {
        let Some(leg) = self.legs.get_mut(key) else {
            return;
        };
        leg.ended_here = true;
        if !leg.answered {
            // RFC 3261 §15: no BYE before the ACK of our 200 (or the transaction's timeout);
            // it goes when the ACK confirms the dialog.
            tracing::info!(sip_call_id = %leg.sip_call_id, call_id = %leg.call.id(), "call ended on the bridge before the phone's ACK; BYE once it comes");
            return;
        }
        self.bye(key);
    }

    fn bye(&self, key: &str) {
        let Some(leg) = self.legs.get(key) else {
            return;
        };
        let Some(Dialog::Invite(d)) = self.dialogs.get_dialog_with(&key.to_owned()) else {
            return;
        };
        tracing::info!(sip_call_id = %leg.sip_call_id, call_id = %leg.call.id(), "call ended on the bridge; BYE to the phone");
        tokio::spawn(async move {
            if let Err(e) = d.bye().await {
                tracing::info!(error = %e, "BYE to the phone failed");
            }
        });
    }
}

/// Whether a re-offer `theirs` still carries what the leg was set up with in `ours` (our first
/// answer): its codec (Opus with the same payload type) and the same profile (SRTP or not).
fn keeps_session(ours: &[u8], theirs: &[u8]) -> bool {
    match (sdp::parse_offer(ours), sdp::parse_offer(theirs)) {
        (Ok(ours), Ok(theirs)) => {
            theirs.codecs.contains(&ours.codec) && theirs.crypto.is_some() == ours.crypto.is_some()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::keeps_session;
    use crate::sip::sdp;

    fn offer(m: &str) -> String {
        format!(
            "v=0\r\no=pbx 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n{m}\r\n\
             a=rtpmap:101 telephone-event/8000\r\n"
        )
    }

    #[test]
    fn a_re_offer_must_keep_the_legs_codec_and_profile() {
        let first = sdp::parse_offer(offer("m=audio 4000 RTP/AVP 0 8 101").as_bytes())
            .expect("first offer");
        let ours = sdp::answer(
            Some(&first),
            "192.0.2.30".parse().expect("ip"),
            20000,
            1,
            None,
        )
        .expect("answer");
        let keeps = |m: &str| keeps_session(ours.as_bytes(), offer(m).as_bytes());
        assert!(
            keeps("m=audio 4002 RTP/AVP 8 0 101"),
            "PCMU still offered, later"
        );
        assert!(
            !keeps("m=audio 4002 RTP/AVP 8 101"),
            "PCMA only: not our codec"
        );
        assert!(
            !keeps("m=audio 4002 RTP/SAVP 0 101"),
            "SRTP now (and no key)"
        );
        assert!(!keeps_session(ours.as_bytes(), b"not sdp"), "garbage");
    }
}
