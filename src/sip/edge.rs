//! The loop that owns the SIP endpoint: one task reads new transactions, dialog state changes and
//! calls that ended on the bridge's side, and owns the map of phone legs (no locks). An INVITE from
//! a trunk becomes a queued call and is answered; anything else is refused (403) and never
//! answered; OPTIONS is answered for health checks; BYE and CANCEL end the call as a web caller's
//! hang-up does, and a call ended from the console is ended on the phone with BYE.

use super::leg::{bind_rtp, bridge_audio, watch_call};
use super::number::{language_for, mask};
use super::request;
use super::sdp::{self, SdpError};
use super::trunk::{Admission, Trunks};
use crate::config::sip::SipSettings;
use crate::domain::Language;
use crate::drivers::call::CallHandle;
use crate::drivers::call_registry::CallRegistry;
use crate::drivers::lifecycle::Lifecycle;
use crate::drivers::media::MediaHandle;
use crate::drivers::records::Recorder;
use crate::engine::caller_wait::WaitCaps;
use crate::prompts::Prompts;
use crate::protocol::{LanguageSource, LanguageView};
use governor::DefaultKeyedRateLimiter;
use rsipstack::dialog::dialog::{Dialog, DialogStateSender};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::sip::{Header, Method, StatusCode};
use rsipstack::transaction::transaction::Transaction;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Calls ended on the bridge's side, queued to the loop; a full queue makes watchers wait.
const ENDED_CAPACITY: usize = 64;
/// Seconds a refused-for-load trunk is asked to wait before trying again (Retry-After).
const RETRY_AFTER_S: u32 = 5;
const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO";
/// Sources the INVITE rate limiter remembers before it forgets those that are back to full
/// allowance (spoofed UDP sources must not grow the map without bound).
const MAX_RATE_SOURCES: usize = 10_000;

/// Where the edge listens (the ports actually bound, for port 0).
#[derive(Debug, Clone)]
pub struct SipEdge {
    pub udp: SocketAddr,
    pub tcp: Option<SocketAddr>,
}

struct Leg {
    call: CallHandle,
    sip_call_id: String,
    answer: Vec<u8>,
    stop_watch: CancellationToken,
    /// The bridge ended the call and sent BYE: the phone's side needs no telling.
    ended_here: bool,
    /// The ACK came (logged once).
    answered: bool,
    /// The direction and origin version of the description we last sent (re-INVITEs).
    sent: (sdp::Direction, u64),
}

struct Edge {
    settings: SipSettings,
    calls: CallRegistry,
    media: MediaHandle,
    caps: WaitCaps,
    lifecycle: Lifecycle,
    trunks: Trunks,
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    dialogs: Arc<DialogLayer>,
    states: DialogStateSender,
    contact: rsipstack::sip::Uri,
    legs: HashMap<String, Leg>,
    ended: mpsc::Sender<String>,
    /// The caller languages in configured order (the menu's keys).
    languages: Vec<Language>,
    prompts: Prompts,
    /// What waiting phone callers are told and offered.
    offers: CallerOffers,
}

/// What a waiting phone caller is told and offered besides their place in the queue.
#[derive(Clone, Default)]
pub struct CallerOffers {
    /// Calls are recorded (`records.recording`): callers are told as their wait starts.
    pub recorded: bool,
    /// The record (kept when `records.database` is set) and how long a caller waits before
    /// being offered a call-back at their number (`calls.max_queue_wait_s`); `None`: no offer.
    pub callback: Option<(Recorder, std::time::Duration)>,
}

mod dialogs;
mod greet;
mod start;

pub use start::start;

impl Edge {
    async fn run(
        mut self,
        mut incoming: rsipstack::transaction::TransactionReceiver,
        mut states: rsipstack::dialog::dialog::DialogStateReceiver,
        mut ended: mpsc::Receiver<String>,
        stop: CancellationToken,
    ) {
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                tx = incoming.recv() => match tx {
                    Some(tx) => self.request(tx).await,
                    None => break,
                },
                Some(state) = states.recv() => self.dialog_state(state),
                Some(key) = ended.recv() => self.ended_here(&key),
            }
        }
        for leg in self.legs.values() {
            leg.stop_watch.cancel();
        }
    }

    async fn request(&mut self, mut tx: Transaction) {
        // In-dialog requests (ACK, BYE, CANCEL, re-INVITE) go to their dialog.
        if let Some(Dialog::Invite(mut d)) = self.dialogs.match_dialog(&tx) {
            tokio::spawn(async move {
                if let Err(e) = d.handle(&mut tx).await {
                    tracing::debug!(error = %e, "in-dialog request");
                }
            });
            return;
        }
        let sip_call_id = request::sip_call_id(&tx.original);
        let Some(source) = request::source_ip(&tx.original) else {
            reply(&mut tx, StatusCode::BadRequest, &sip_call_id).await;
            return;
        };
        let span = tracing::info_span!("sip", sip_call_id = %sip_call_id, source = %source);
        let _enter = span.enter();
        match tx.original.method {
            Method::Invite => self.invite(tx, source, sip_call_id).await,
            Method::Options => {
                let status = match self.admission(&tx, source) {
                    Admission::Refuse(why) => {
                        tracing::info!(why, "OPTIONS refused");
                        StatusCode::Forbidden
                    }
                    _ => StatusCode::OK,
                };
                let allow = Header::Other("Allow".into(), ALLOW.into());
                let _ = tx.reply_with(status, vec![allow], None).await;
            }
            Method::Ack => {}
            Method::Bye | Method::Cancel => {
                reply(
                    &mut tx,
                    StatusCode::CallTransactionDoesNotExist,
                    &sip_call_id,
                )
                .await
            }
            _ => {
                let allow = Header::Other("Allow".into(), ALLOW.into());
                let _ = tx
                    .reply_with(StatusCode::MethodNotAllowed, vec![allow], None)
                    .await;
            }
        }
    }

    fn admission(&self, tx: &Transaction, source: IpAddr) -> Admission {
        let authorization = request::authorization(&tx.original);
        self.trunks.admit(
            source,
            &tx.original.method,
            authorization.as_deref(),
            crate::drivers::clock::now_ms() / 1000,
        )
    }

    async fn invite(&mut self, mut tx: Transaction, source: IpAddr, sip_call_id: String) {
        if self.limiter.len() >= MAX_RATE_SOURCES {
            self.limiter.retain_recent();
        }
        if self.limiter.check_key(&source).is_err() {
            crate::metrics::limited("sip_invites_per_minute");
            tracing::warn!("INVITE rate limit reached; refused");
            return busy(&mut tx).await;
        }
        let trunk = match self.admission(&tx, source) {
            Admission::Admit(t) => t,
            Admission::Challenge(c) => {
                let h = Header::Other("WWW-Authenticate".into(), c);
                let _ = tx.reply_with(StatusCode::Unauthorized, vec![h], None).await;
                return;
            }
            Admission::Refuse(why) => {
                tracing::warn!(why, "INVITE refused");
                return reply(&mut tx, StatusCode::Forbidden, &sip_call_id).await;
            }
        };
        if self.lifecycle.draining().is_some() {
            tracing::info!("INVITE while draining; refused");
            return busy(&mut tx).await;
        }
        let Some(numbers) = request::numbers(&tx.original) else {
            return reply(&mut tx, StatusCode::BadRequest, &sip_call_id).await;
        };
        let offer = if tx.original.body.is_empty() {
            None
        } else {
            match sdp::parse_offer(&tx.original.body) {
                Ok(o) => Some(o),
                Err(e) => {
                    tracing::info!(error = %e, "INVITE with an SDP we cannot take");
                    let status = match e {
                        SdpError::NoAudio | SdpError::NoCommonCodec | SdpError::NoCrypto => {
                            StatusCode::NotAcceptableHere
                        }
                        _ => StatusCode::BadRequest,
                    };
                    return reply(&mut tx, status, &sip_call_id).await;
                }
            }
        };
        let language = language_view(language_for(&self.settings.dids, numbers.called.as_deref()));
        let s = &self.settings;
        let rtp = match bind_rtp(s.listen_udp.ip(), s.rtp_port_min, s.rtp_port_max).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "no RTP port free for a phone leg");
                return busy(&mut tx).await;
            }
        };
        let rtp_port = rtp.local_addr().map(|a| a.port()).unwrap_or_default();
        let call = match self.calls.create_phone(
            language.clone(),
            source,
            self.caps,
            mask(numbers.caller.as_deref()),
        ) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "phone call refused by the queue caps");
                return busy(&mut tx).await;
            }
        };
        let dialog = match self.dialogs.get_or_create_server_invite(
            &tx,
            self.states.clone(),
            None,
            Some(self.contact.clone()),
        ) {
            Ok(d) => d,
            Err(e) => {
                tracing::info!(error = %e, "INVITE without a usable dialog");
                let _ = call.leave(CallHandle::caller()).await;
                return reply(&mut tx, StatusCode::BadRequest, &sip_call_id).await;
            }
        };
        let key = dialog.id().to_string();
        let updates = call.subscribe();
        if let Err(e) = call.attach(CallHandle::caller()).await {
            tracing::warn!(error = %e, "phone call ended before its leg attached");
        }
        let stop_watch = self.lifecycle.child();
        let rtp_lost = CancellationToken::new();
        // Our SRTP key, used only if the offer asked for SRTP.
        let srtp_key: [u8; sdp::KEY_SALT_LEN] = rand::random();
        match &offer {
            Some(o) => {
                let timeout = std::time::Duration::from_secs(s.rtp_timeout_s);
                let lost = rtp_lost.clone();
                match bridge_audio(
                    &self.media,
                    &call,
                    CallHandle::caller(),
                    o,
                    srtp_key,
                    rtp,
                    timeout,
                    lost,
                )
                .await
                {
                    Ok(()) => {
                        self.greet(&call, language.code, numbers.caller.as_deref(), &stop_watch)
                    }
                    Err(e) => {
                        tracing::error!(call_id = %call.id(), error = %e, "phone audio not bridged")
                    }
                }
            }
            None => tracing::warn!(call_id = %call.id(), "INVITE without SDP: no audio"),
        }
        self.lifecycle.spawn(watch_call(
            key.clone(),
            updates,
            call.clone(),
            self.ended.clone(),
            rtp_lost,
            stop_watch.clone(),
        ));
        let answer = sdp::answer(
            offer.as_ref(),
            s.public_ip,
            rtp_port,
            rand::random::<u32>().into(),
            Some(&srtp_key),
        )
        .unwrap_or_default();
        tracing::info!(
            call_id = %call.id(),
            trunk = %trunk,
            language = ?language.code,
            rtp_port,
            "phone call queued"
        );
        self.legs.insert(
            key,
            Leg {
                call,
                sip_call_id,
                answer: answer.into_bytes(),
                sent: (sdp::Direction::SendRecv, 1),
                stop_watch,
                ended_here: false,
                answered: false,
            },
        );
        let mut d = dialog;
        tokio::spawn(async move {
            if let Err(e) = d.handle(&mut tx).await {
                tracing::debug!(error = %e, "INVITE transaction");
            }
        });
    }
}

fn language_view(code: Option<Language>) -> LanguageView {
    match code {
        // The caller chose it by the number they dialled.
        Some(code) => LanguageView {
            code: Some(code),
            source: LanguageSource::Chosen,
            confidence: 1.0,
        },
        None => LanguageView {
            code: None,
            source: LanguageSource::Unknown,
            confidence: 0.0,
        },
    }
}

async fn reply(tx: &mut Transaction, status: StatusCode, sip_call_id: &str) {
    if let Err(e) = tx.reply(status).await {
        tracing::debug!(sip_call_id, error = %e, "reply not sent");
    }
}

async fn busy(tx: &mut Transaction) {
    let h = Header::Other("Retry-After".into(), RETRY_AFTER_S.to_string());
    let _ = tx
        .reply_with(StatusCode::ServiceUnavailable, vec![h], None)
        .await;
}
