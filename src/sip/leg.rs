//! One phone leg: the RTP socket bound for it from the configured range, and a watch on its call
//! that tells the edge when the call ended from the bridge's side (the operator hung up, the node
//! drained), so the edge sends BYE. The socket is only held in this slice: audio bridging to the
//! call's mix comes with the SFU's mixer.

use crate::drivers::call::{CallHandle, CallUpdate};
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

/// Until `stop`: waits for `call` to end or to lose its caller, then sends `key` on `ended`.
/// Subscribe (`call.subscribe()`) before the caller is attached so nothing is missed.
pub async fn watch_call(
    key: String,
    mut updates: broadcast::Receiver<CallUpdate>,
    call: CallHandle,
    ended: mpsc::Sender<String>,
    stop: CancellationToken,
) {
    let caller = CallHandle::caller();
    loop {
        let update = tokio::select! {
            _ = stop.cancelled() => return,
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
