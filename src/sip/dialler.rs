//! The dialler: rings interpreters' phones for the dispatcher's offers, through the outbound
//! trunk only. One loop takes the dispatcher's commands (`drivers::dispatch::PhoneCmd`) and runs
//! one task per rung phone (`ring`), which follows `engine::phone_ring::PhoneOffer`.
//!
//! Toll-fraud rule: the only number ever dialled is the one `PhoneOffer::new` takes from the
//! registered profile the dispatcher sent with its offer; nothing a SIP request says reaches here.

use crate::config::sip::{Outbound, SipSettings};
use crate::domain::{OfferId, PhoneNumber};
use crate::drivers::call_registry::CallRegistry;
use crate::drivers::dispatch::{DispatchHandle, PhoneCmd};
use crate::drivers::lifecycle::Lifecycle;
use crate::drivers::media::MediaHandle;
use crate::engine::phone_ring::PhoneInput;
use crate::prompts::Prompts;
use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invitation::InviteOption;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

mod ring;

/// News of one offer queued to its ring task (a handful at most: invited, ended).
const NEWS_CAPACITY: usize = 8;

/// What every ring task shares.
pub(super) struct Dialler {
    pub dialogs: Arc<DialogLayer>,
    pub outbound: Outbound,
    /// Our Contact (and From) URI.
    pub contact: rsipstack::sip::Uri,
    pub public_ip: IpAddr,
    pub rtp_ip: IpAddr,
    pub rtp_ports: (u16, u16),
    pub rtp_timeout: Duration,
    pub calls: CallRegistry,
    pub media: MediaHandle,
    pub prompts: Prompts,
    pub dispatch: DispatchHandle,
    pub lifecycle: Lifecycle,
}

impl Dialler {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        settings: &SipSettings,
        outbound: Outbound,
        dialogs: Arc<DialogLayer>,
        contact: rsipstack::sip::Uri,
        calls: CallRegistry,
        media: MediaHandle,
        prompts: Prompts,
        dispatch: DispatchHandle,
        lifecycle: &Lifecycle,
    ) -> Self {
        Self {
            dialogs,
            outbound,
            contact,
            public_ip: settings.public_ip,
            rtp_ip: settings.listen_udp.ip(),
            rtp_ports: (settings.rtp_port_min, settings.rtp_port_max),
            rtp_timeout: Duration::from_secs(settings.rtp_timeout_s),
            calls,
            media,
            prompts,
            dispatch,
            lifecycle: lifecycle.clone(),
        }
    }

    /// The INVITE to `number` through the trunk at `trunk` with our SDP `offer`: the trunk's
    /// digest credentials when it has a username, a Call-ID of ours. `None` when the number
    /// makes no SIP URI (a registered E.164 number always does).
    pub fn invite(
        &self,
        number: &PhoneNumber,
        trunk: SocketAddr,
        offer: String,
    ) -> Option<InviteOption> {
        let callee = format!("sip:{}@{}", number.as_str(), trunk);
        let callee = rsipstack::sip::Uri::try_from(callee.as_str()).ok()?;
        let o = &self.outbound;
        let credential = (!o.username.is_empty()).then(|| Credential {
            username: o.username.clone(),
            password: o.password.clone(),
            ..Default::default()
        });
        Some(InviteOption {
            caller: self.contact.clone(),
            callee,
            destination: Some(trunk.into()),
            content_type: Some("application/sdp".into()),
            offer: Some(offer.into_bytes()),
            contact: self.contact.clone(),
            credential,
            // Ours, not the stack's default domain.
            call_id: Some(format!(
                "{:032x}@{}",
                rand::random::<u128>(),
                self.public_ip
            )),
            ..Default::default()
        })
    }

    /// Where INVITEs go: the trunk's `dial` address, looked up now (it may be a host name).
    pub async fn trunk_addr(&self) -> Option<SocketAddr> {
        match tokio::net::lookup_host(self.outbound.dial.as_str()).await {
            Ok(mut addrs) => addrs.next(),
            Err(e) => {
                tracing::warn!(trunk = %self.outbound.trunk, error = %e, "outbound trunk address not found");
                None
            }
        }
    }
}

/// Takes the dispatcher's commands until `stop`: a ring starts a task, news of an offer goes to
/// its task (and is dropped when the task has ended).
pub(super) async fn run(
    dialler: Arc<Dialler>,
    mut commands: mpsc::Receiver<PhoneCmd>,
    stop: CancellationToken,
) {
    let mut rings: HashMap<OfferId, mpsc::Sender<PhoneInput>> = HashMap::new();
    loop {
        let cmd = tokio::select! {
            _ = stop.cancelled() => return,
            c = commands.recv() => match c {
                Some(c) => c,
                None => return,
            },
        };
        rings.retain(|_, news| !news.is_closed());
        let (offer, input) = match cmd {
            PhoneCmd::Ring {
                offer,
                profile,
                operator,
            } => {
                let (tx, rx) = mpsc::channel(NEWS_CAPACITY);
                rings.insert(offer.id.clone(), tx);
                let task = ring::Ring::new(dialler.clone(), offer, *profile, operator);
                dialler.lifecycle.spawn(task.run(rx, stop.child_token()));
                continue;
            }
            PhoneCmd::Invited { offer } => (offer, PhoneInput::Invited),
            PhoneCmd::Ended { offer } => (offer, PhoneInput::OfferGone),
        };
        if let Some(news) = rings.get(&offer) {
            if news.try_send(input).is_err() {
                tracing::warn!(offer_id = %offer, "a rung phone's news dropped");
            }
        }
    }
}
