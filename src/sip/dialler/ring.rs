//! One rung phone, from INVITE to the end of the interpreter's part in the call, as
//! `PhoneOffer` decides: the INVITE through the outbound trunk (CANCEL when the offer ends
//! first), the offer prompt played to the leg alone, keys 1/2 answered through the dispatcher as
//! a console's, the leg joined to the call once invited, BYE when it is over.

use super::Dialler;
use crate::domain::{InterpreterId, InterpreterProfile, Language, ParticipantId};
use crate::drivers::call::{interpreter_participant, CallHandle, CallUpdate};
use crate::drivers::clock::now_ms;
use crate::drivers::media::{MediaEvent, Playout};
use crate::engine::phone_ring::{PhoneAction, PhoneInput, PhoneOffer, PhoneStage};
use crate::pool::{Offer, OfferState};
use crate::prompts::Prompt;
use crate::sip::dtmf::digit_from_info;
use crate::sip::leg::{bind_rtp, bridge_audio};
use crate::sip::{request, sdp};
use rsipstack::dialog::dialog::DialogState;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::dialog::DialogId;
use rsipstack::sip::{StatusCode, StatusCodeKind};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

pub(in crate::sip) struct Ring {
    d: Arc<Dialler>,
    offer: Offer,
    profile: InterpreterProfile,
    /// The operators' language, in which the prompt is said first.
    operator: Language,
    iid: InterpreterId,
    me: ParticipantId,
    masked: String,
}

/// The phone leg once answered.
struct Answered {
    dialog: InviteDialog,
    id: DialogId,
    call: CallHandle,
    rtp_lost: CancellationToken,
}

impl Ring {
    pub fn new(
        d: Arc<Dialler>,
        offer: Offer,
        profile: InterpreterProfile,
        operator: Language,
    ) -> Self {
        let iid = offer.interpreter.clone();
        let masked = profile
            .phone
            .as_ref()
            .map_or_else(String::new, |n| crate::domain::mask_number(n.as_str()));
        Self {
            d,
            me: interpreter_participant(&iid),
            iid,
            offer,
            profile,
            operator,
            masked,
        }
    }

    pub async fn run(self, mut news: mpsc::Receiver<PhoneInput>, stop: CancellationToken) {
        let span = tracing::info_span!("dial", call_id = %self.offer.call_id,
            interpreter_id = %self.iid, phone = %self.masked);
        let _ = tracing::Instrument::instrument(self.ring(&mut news, stop), span).await;
    }

    async fn ring(&self, news: &mut mpsc::Receiver<PhoneInput>, stop: CancellationToken) {
        let Some((mut phone, PhoneAction::Dial(number))) = PhoneOffer::new(&self.profile, now_ms())
        else {
            return self.decline().await;
        };
        let Some(call) = self.d.calls.get(&self.offer.call_id) else {
            tracing::info!("the call is gone; the offer is declined");
            return self.decline().await;
        };
        let (min, max) = self.d.rtp_ports;
        let (Some(trunk), Ok(rtp)) = (
            self.d.trunk_addr().await,
            bind_rtp(self.d.rtp_ip, min, max).await,
        ) else {
            tracing::error!("phone not dialled: no trunk address or no RTP port");
            return self.decline().await;
        };
        let port = rtp.local_addr().map(|a| a.port()).unwrap_or_default();
        let ours = sdp::answer(
            None,
            self.d.public_ip,
            port,
            rand::random::<u32>().into(),
            None,
        )
        .unwrap_or_default();
        let Some(opt) = self.d.invite(&number, trunk, ours) else {
            tracing::error!("phone not dialled: no SIP URI for the number");
            return self.decline().await;
        };
        let o = &self.d.outbound;
        let (states_tx, mut states) = self.d.dialogs.new_dialog_state_channel();
        let (dialog, mut invite) = match self.d.dialogs.do_invite_async(opt, states_tx) {
            Ok(x) => x,
            Err(e) => {
                tracing::error!(error = %e, "INVITE not sent");
                return self.decline().await;
            }
        };
        let sip_call_id = dialog.id().call_id.clone();
        let span = tracing::info_span!("sip", sip_call_id = %sip_call_id);
        let _enter = span.enter();
        tracing::info!(trunk = %o.trunk, "ringing the interpreter's phone");
        // Until the final response: the offer may end first (CANCEL).
        let result = loop {
            tokio::select! {
                r = &mut invite => break r,
                Some(input) = news.recv() => {
                    if self.carry_out(&mut phone, input, None).await {
                        tracing::info!("offer over before the answer: CANCEL");
                        if let Err(e) = dialog.cancel().await {
                            tracing::info!(error = %e, "CANCEL not sent");
                        }
                    }
                }
                _ = stop.cancelled() => {
                    let _ = dialog.cancel().await;
                    return;
                }
            }
        };
        let (id, answer) = match result {
            Ok(Ok((id, Some(resp)))) if resp.status_code.kind() == StatusCodeKind::Successful => {
                (id, resp.body)
            }
            Ok(Ok((_, resp))) => {
                let status = resp.map(|r| r.status_code.to_string());
                tracing::info!(?status, "phone not answered");
                self.carry_out(&mut phone, PhoneInput::HungUp, None).await;
                return;
            }
            other => {
                tracing::warn!(error = ?other.err().map(|e| e.to_string()), "INVITE failed");
                self.carry_out(&mut phone, PhoneInput::HungUp, None).await;
                return;
            }
        };
        let leg = Answered {
            dialog,
            id,
            call,
            rtp_lost: CancellationToken::new(),
        };
        if phone.stage() == PhoneStage::Over {
            // Answered as the CANCEL crossed it: the stack ends that answer with a BYE.
            self.d.dialogs.remove_dialog(&leg.id);
            return;
        }
        tracing::info!("phone answered");
        let mut media = self.d.media.subscribe();
        let mut updates = leg.call.subscribe();
        let bridged = match sdp::parse_offer(&answer) {
            Ok(theirs) => bridge_audio(
                &self.d.media,
                &leg.call,
                self.me.clone(),
                &theirs,
                [0; sdp::KEY_SALT_LEN],
                rtp,
                self.d.rtp_timeout,
                leg.rtp_lost.clone(),
            )
            .await
            .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = bridged {
            tracing::warn!(error = %e, "the phone's audio not bridged: declined");
            self.carry_out(&mut phone, PhoneInput::HungUp, Some(&leg))
                .await;
            self.bye(&leg).await;
            return;
        }
        self.carry_out(&mut phone, PhoneInput::Answered, Some(&leg))
            .await;
        while phone.stage() != PhoneStage::Over {
            let input = tokio::select! {
                _ = stop.cancelled() => PhoneInput::CallOver,
                _ = leg.rtp_lost.cancelled() => {
                    tracing::info!("the phone's RTP stopped");
                    self.bye(&leg).await;
                    PhoneInput::HungUp
                }
                Some(input) = news.recv() => input,
                Some(state) = states.recv() => match self.dialog_state(state) {
                    Some(input) => input,
                    None => continue,
                },
                ev = media.recv() => match ev {
                    Ok(MediaEvent::Digit { call, participant, digit })
                        if &call == leg.call.id() && participant == self.me => PhoneInput::Digit(digit),
                    Ok(MediaEvent::PlayoutDone { call, participant })
                        if &call == leg.call.id() && participant == self.me
                            && phone.stage() == PhoneStage::Prompting => {
                        // Said again until they answer or the offer ends.
                        self.play_offer(&leg).await;
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => PhoneInput::CallOver,
                    _ => continue,
                },
                u = updates.recv() => match u {
                    Ok(CallUpdate::State(v)) if v.state.is_final() => PhoneInput::CallOver,
                    Ok(CallUpdate::Removed { participant, .. })
                        if participant == self.me => PhoneInput::CallOver,
                    Err(broadcast::error::RecvError::Closed) => PhoneInput::CallOver,
                    _ => continue,
                },
            };
            self.carry_out(&mut phone, input, Some(&leg)).await;
        }
        let _ = self
            .d
            .media
            .leave(leg.call.id().clone(), self.me.clone())
            .await;
        self.d.dialogs.remove_dialog(&leg.id);
    }

    /// A state of the answered dialog as the offer's input: BYE from the phone is a hang-up, an
    /// INFO key press a digit (answered here).
    fn dialog_state(&self, state: DialogState) -> Option<PhoneInput> {
        match state {
            DialogState::Terminated(_, reason) => {
                tracing::info!(?reason, "the phone's dialog ended");
                Some(PhoneInput::HungUp)
            }
            DialogState::Info(_, req, handle) => {
                let digit = digit_from_info(request::content_type(&req), &req.body);
                let status = if digit.is_some() || req.body.is_empty() {
                    StatusCode::OK
                } else {
                    StatusCode::UnsupportedMediaType
                };
                tokio::spawn(async move {
                    let _ = handle.reply(status).await;
                });
                digit.map(PhoneInput::Digit)
            }
            _ => None,
        }
    }

    /// Feeds `input` to the offer and carries out what it says; true when the phone is to be
    /// hung up and `leg` is `None` (not answered: the caller cancels).
    async fn carry_out(
        &self,
        phone: &mut PhoneOffer,
        input: PhoneInput,
        leg: Option<&Answered>,
    ) -> bool {
        let mut hang_up = false;
        let before = phone.stage();
        let mut queue: std::collections::VecDeque<PhoneAction> = phone.handle(input).into();
        while let Some(action) = queue.pop_front() {
            match action {
                PhoneAction::Dial(_) => {}
                PhoneAction::PlayOffer => {
                    if let Some(leg) = leg {
                        self.play_offer(leg).await;
                    }
                }
                PhoneAction::Accept => {
                    tracing::info!("the interpreter pressed 1: accepted");
                    if self.respond(true).await {
                        if let Some(leg) = leg {
                            let audio = self.d.prompts.get(Prompt::OfferAccepted, self.operator);
                            let _ = self
                                .d
                                .media
                                .play(
                                    leg.call.id().clone(),
                                    self.me.clone(),
                                    audio,
                                    Playout::Comfort,
                                )
                                .await;
                        }
                    } else {
                        queue.extend(phone.handle(PhoneInput::OfferGone));
                    }
                }
                PhoneAction::Decline => {
                    tracing::info!("the interpreter declined");
                    self.respond(false).await;
                }
                PhoneAction::Join => {
                    let Some(leg) = leg else { continue };
                    let _ = self
                        .d
                        .media
                        .stop_playing(leg.call.id().clone(), self.me.clone())
                        .await;
                    let joined = match leg.call.join_interpreter(self.iid.clone()).await {
                        Ok(p) => leg.call.attach(p).await.map(|_| ()),
                        Err(e) => Err(e),
                    };
                    match joined {
                        Ok(()) => tracing::info!("the interpreter joined the call by phone"),
                        Err(e) => {
                            tracing::warn!(error = %e, "the phone could not join the call");
                            queue.extend(phone.handle(PhoneInput::CallOver));
                        }
                    }
                }
                PhoneAction::Leave => {
                    tracing::info!("the interpreter hung up after accepting");
                    let Some(leg) = leg else { continue };
                    if before == PhoneStage::Accepted {
                        // Booked but not in the call yet: the dispatcher finds another.
                        let call = self.offer.call_id.clone();
                        if let Err(e) = self.d.dispatch.replace(call).await {
                            tracing::info!(error = %e, "no replacement asked");
                        }
                    } else if let Err(e) = leg.call.lost(self.me.clone()).await {
                        tracing::debug!(error = %e, "interpreter already out of the call");
                    }
                }
                PhoneAction::HangUp => match leg {
                    Some(leg) => self.bye(leg).await,
                    None => hang_up = true,
                },
            }
        }
        hang_up
    }

    async fn play_offer(&self, leg: &Answered) {
        let said = Prompt::InterpreterOffer {
            call_language: self.offer.language,
        };
        let audio = self
            .d
            .prompts
            .concat(&[(said, self.operator), (said, self.offer.language)]);
        if let Err(e) = self
            .d
            .media
            .play(
                leg.call.id().clone(),
                self.me.clone(),
                audio,
                Playout::Silence,
            )
            .await
        {
            tracing::warn!(error = %e, "offer prompt not played");
        }
    }

    async fn bye(&self, leg: &Answered) {
        tracing::info!("BYE to the interpreter's phone");
        if let Err(e) = leg.dialog.bye().await {
            tracing::info!(error = %e, "BYE not sent");
        }
    }

    /// The phone cannot be rung: the offer is declined, so the next candidate is rung now.
    async fn decline(&self) {
        self.respond(false).await;
    }

    /// Answers the offer as the console would; true when it is now accepted.
    async fn respond(&self, accept: bool) -> bool {
        match self
            .d
            .dispatch
            .respond(&self.offer.id, &self.iid, accept, now_ms())
            .await
        {
            Ok(state) => state == OfferState::Accepted,
            Err(e) => {
                tracing::info!(error = %e, "the offer's answer was refused");
                false
            }
        }
    }
}
