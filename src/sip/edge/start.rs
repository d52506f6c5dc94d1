//! Starting the edge: the SIP listeners bound, the endpoint and its dialog layer built, the
//! dialler started when an outbound trunk is configured, and the edge's loop spawned.

use super::CallerOffers;
use super::{Edge, SipEdge, ENDED_CAPACITY};
use crate::config::sip::SipSettings;
use crate::domain::Language;
use crate::drivers::call_registry::CallRegistry;
use crate::drivers::dispatch::DispatchHandle;
use crate::drivers::lifecycle::Lifecycle;
use crate::drivers::media::MediaHandle;
use crate::engine::caller_wait::WaitCaps;
use crate::prompts::Prompts;
use crate::sip::dialler::{self, Dialler};
use crate::sip::request::SourceStamp;
use crate::sip::trunk::Trunks;
use crate::sip::SipError;
use governor::{DefaultKeyedRateLimiter, Quota};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::transport::{udp::UdpConnection, TcpListenerConnection, TransportLayer};
use rsipstack::EndpointBuilder;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Binds the SIP listeners of `settings` and runs the edge on `lifecycle` until its root token
/// is cancelled. `languages` are the caller languages in configured order (the menu's keys 1-9,
/// then 0); `prompts` what waiting callers and rung interpreters hear. With an outbound trunk the
/// dialler runs too, taking `dispatch`'s phone rings. `offers`: what waiting callers are told
/// (the call is recorded) and offered (a call-back at their number after a long wait).
#[allow(clippy::too_many_arguments)]
pub async fn start(
    settings: &SipSettings,
    calls: CallRegistry,
    media: MediaHandle,
    caps: WaitCaps,
    lifecycle: &Lifecycle,
    languages: Vec<Language>,
    prompts: Prompts,
    dispatch: DispatchHandle,
    offers: CallerOffers,
) -> Result<SipEdge, SipError> {
    let stop = lifecycle.child();
    let transport = TransportLayer::new(stop.clone());
    let bind_err = |transport, addr, e: rsipstack::Error| SipError::Bind {
        transport,
        addr,
        reason: e.to_string(),
    };
    let udp = UdpConnection::create_connection(settings.listen_udp, None, Some(stop.child_token()))
        .await
        .map_err(|e| bind_err("UDP", settings.listen_udp, e))?;
    let udp_addr = udp
        .get_addr()
        .get_socketaddr()
        .unwrap_or(settings.listen_udp);
    transport.add_transport(udp.into());
    let mut tcp_addr = None;
    if settings.listen_tcp.port() != 0 {
        let tcp = TcpListenerConnection::new(settings.listen_tcp, None)
            .await
            .map_err(|e| bind_err("TCP", settings.listen_tcp, e))?;
        tcp_addr = Some(settings.listen_tcp);
        transport.add_transport(tcp.into());
    }
    let endpoint = EndpointBuilder::new()
        .with_cancel_token(stop.clone())
        .with_transport_layer(transport)
        .with_user_agent("hotline-bridge")
        .with_inspector(Box::new(SourceStamp))
        .build();
    let incoming = endpoint
        .incoming_transactions()
        .map_err(|e| bind_err("UDP", settings.listen_udp, e))?;
    let dialogs = Arc::new(DialogLayer::new(endpoint.inner.clone()));
    let (states, state_rx) = dialogs.new_dialog_state_channel();
    let (ended, ended_rx) = mpsc::channel(ENDED_CAPACITY);
    let contact = rsipstack::sip::Uri::try_from(
        format!(
            "sip:hotline@{}",
            SocketAddr::new(settings.public_ip, udp_addr.port())
        )
        .as_str(),
    )
    .map_err(|e| SipError::Bind {
        transport: "UDP",
        addr: udp_addr,
        reason: format!("contact: {e}"),
    })?;
    if let Some(outbound) = settings.outbound() {
        match dispatch.phones().connect() {
            Some(rings) => {
                let dialler = Dialler::new(
                    settings,
                    outbound,
                    dialogs.clone(),
                    contact.clone(),
                    calls.clone(),
                    media.clone(),
                    prompts.clone(),
                    dispatch,
                    lifecycle,
                );
                lifecycle.spawn(dialler::run(Arc::new(dialler), rings, stop.child_token()));
            }
            None => tracing::warn!("a dialler already runs; this edge dials nothing"),
        }
    }
    let rate = NonZeroU32::new(settings.invites_per_minute).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(settings.invite_burst).unwrap_or(NonZeroU32::MIN);
    let edge = Edge {
        settings: settings.clone(),
        calls,
        media,
        caps,
        lifecycle: lifecycle.clone(),
        trunks: Trunks::new(settings),
        limiter: DefaultKeyedRateLimiter::keyed(Quota::per_minute(rate).allow_burst(burst)),
        dialogs,
        states,
        contact,
        legs: HashMap::new(),
        ended,
        languages,
        prompts,
        offers,
    };
    let serving = endpoint.inner.clone();
    lifecycle.spawn(async move {
        if let Err(e) = serving.serve().await {
            tracing::error!(error = %e, "SIP endpoint stopped");
        }
    });
    lifecycle.spawn(edge.run(incoming, state_rx, ended_rx, stop));
    tracing::info!(udp = %udp_addr, tcp = ?tcp_addr, "SIP edge listening");
    Ok(SipEdge {
        udp: udp_addr,
        tcp: tcp_addr,
    })
}
