//! One phone leg: the RTP socket bound for it from the configured range, handed to the media
//! loop (which reads and writes it on its own thread: the mix, symmetric RTP, the RTP timeout),
//! and a watch on its call that tells the edge when the call ended from the bridge's side (the
//! operator hung up, the node drained, the phone's RTP stopped), so the edge sends BYE.

use super::sdp::Offer;
use crate::drivers::call::{CallHandle, CallUpdate};
use crate::drivers::media::{MediaError, MediaHandle};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::net::UdpSocket;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

/// Binds one UDP socket on `ip` with an even port from `min..=max` (RTP's convention; RTCP would
/// take the odd one above), starting after the last port given so ports are not reused at once.
pub async fn bind_rtp(ip: IpAddr, min: u16, max: u16) -> std::io::Result<UdpSocket> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let first = min + (min % 2);
    let slots = u32::from(max.saturating_sub(first) / 2 + 1);
    let start = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut last = std::io::Error::new(std::io::ErrorKind::AddrInUse, "no RTP port in range");
    for i in 0..slots {
        let port = first + (((start + i) % slots) * 2) as u16;
        if port > max {
            continue;
        }
        match UdpSocket::bind(SocketAddr::new(ip, port)).await {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Hands the leg's RTP socket to the media loop, which bridges it into `call` as `participant`:
/// the codec the offer chose, SRTP with the offer's key and `local_key` when it asked for it,
/// symmetric RTP starting at the offer's address. `rtp_lost` is cancelled if the phone's RTP
/// stops for `rtp_timeout`.
#[cfg(feature = "phone-audio")]
#[allow(clippy::too_many_arguments)]
pub async fn bridge_audio(
    media: &MediaHandle,
    call: &CallHandle,
    participant: crate::domain::ParticipantId,
    offer: &Offer,
    local_key: [u8; super::sdp::KEY_SALT_LEN],
    rtp: UdpSocket,
    rtp_timeout: std::time::Duration,
    rtp_lost: CancellationToken,
) -> Result<(), MediaError> {
    use super::sdp::{AudioCodec, Suite};
    use crate::sfu::mix::{Codec, G711};
    use crate::sfu::phone::{SrtpKeys, SrtpSuite};
    let codec = match offer.codec {
        AudioCodec::Pcmu => Codec::G711(G711::Pcmu),
        AudioCodec::Pcma => Codec::G711(G711::Pcma),
        AudioCodec::Opus { .. } => Codec::Opus,
    };
    let srtp = offer.crypto.as_ref().map(|c| SrtpKeys {
        suite: match c.suite {
            Suite::AesCm128HmacSha1_80 => SrtpSuite::AesCm128HmacSha1_80,
            Suite::AesCm128HmacSha1_32 => SrtpSuite::AesCm128HmacSha1_32,
        },
        remote: c.key_salt,
        local: local_key,
    });
    let socket = rtp
        .into_std()
        .map_err(|e| MediaError::Phone(format!("RTP socket: {e}")))?;
    let leg = crate::drivers::media::PhoneLeg {
        call: call.id().clone(),
        participant,
        codec,
        payload_type: offer.codec.payload_type(),
        srtp,
        telephone_event: offer.telephone_event,
        remote: offer.rtp,
        rtp_timeout,
    };
    media.join_phone(leg, socket, rtp_lost).await
}

/// Without phone audio the SIP edge is refused at start (config check); this keeps it building.
#[cfg(not(feature = "phone-audio"))]
#[allow(clippy::too_many_arguments)]
pub async fn bridge_audio(
    _: &MediaHandle,
    _: &CallHandle,
    _: crate::domain::ParticipantId,
    _: &Offer,
    _: [u8; super::sdp::KEY_SALT_LEN],
    _: UdpSocket,
    _: std::time::Duration,
    _: CancellationToken,
) -> Result<(), MediaError> {
    Err(MediaError::Phone(
        "built without the phone-audio feature".into(),
    ))
}

/// Until `stop`: waits for `call` to end or to lose its caller, then sends `key` on `ended`.
/// `rtp_lost` cancelled (the phone's RTP timed out) makes the caller leave, as a web caller who
/// disconnects. Subscribe (`call.subscribe()`) before the caller is attached so nothing is missed.
pub async fn watch_call(
    key: String,
    mut updates: broadcast::Receiver<CallUpdate>,
    call: CallHandle,
    ended: mpsc::Sender<String>,
    rtp_lost: CancellationToken,
    stop: CancellationToken,
) {
    let caller = CallHandle::caller();
    let mut left = false;
    loop {
        let update = tokio::select! {
            _ = stop.cancelled() => return,
            _ = rtp_lost.cancelled(), if !left => {
                left = true;
                tracing::info!(call_id = %call.id(), "phone RTP timed out; the caller leaves");
                if let Err(e) = call.leave(caller.clone()).await {
                    tracing::debug!(call_id = %call.id(), error = %e, "caller already gone");
                }
                continue;
            }
            u = updates.recv() => u,
        };
        let over = match update {
            Ok(CallUpdate::State(view)) => view.state.is_final(),
            Ok(CallUpdate::Removed { participant, .. }) => participant == caller,
            Ok(_) => false,
            // Fell behind: ask the call how it is now.
            Err(broadcast::error::RecvError::Lagged(_)) => {
                call.view().await.map_or(true, |v| v.state.is_final())
            }
            Err(broadcast::error::RecvError::Closed) => true,
        };
        if over {
            let _ = ended.send(key).await;
            return;
        }
    }
}
