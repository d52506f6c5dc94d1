//! A shard's batched send: the datagrams of a turn are queued and handed to the kernel together,
//! up to `SEND_BATCH` to any mix of destinations per system call (`sendmmsg` on Linux, one
//! `send_to` each elsewhere). The shard sends what is queued at each of its flush points and at
//! the end of every turn, so nothing waits past the turn that produced it. A datagram the kernel
//! refuses (send buffer full, unreachable) is dropped and counted, as a lone send would be.

use std::io;
use std::net::SocketAddr;
use std::ops::Range;
use tokio::net::UdpSocket;

/// Datagrams per system call at most; a fuller queue is sent at once (forwarding one read
/// batch to two listeners each stays within one or two calls).
pub(super) const SEND_BATCH: usize = 64;

/// Datagrams waiting for the turn's next send.
#[derive(Default)]
pub(super) struct Outbox {
    /// Payloads back to back.
    data: Vec<u8>,
    queued: Vec<(SocketAddr, Range<usize>)>,
    /// Datagrams the socket refused since start.
    pub(super) send_errors: u64,
}

impl Outbox {
    /// Queues one datagram; a full queue is sent now.
    pub(super) fn queue(&mut self, socket: &UdpSocket, dst: SocketAddr, payload: &[u8]) {
        let start = self.data.len();
        self.data.extend_from_slice(payload);
        self.queued.push((dst, start..self.data.len()));
        if self.queued.len() >= SEND_BATCH {
            self.send(socket);
        }
    }

    /// Sends everything queued, `SEND_BATCH` per system call; each datagram refused is counted
    /// in `send_errors` and the rest still go.
    pub(super) fn send(&mut self, socket: &UdpSocket) {
        let mut next = 0;
        while next < self.queued.len() {
            let end = self.queued.len().min(next + SEND_BATCH);
            match send_batch(socket, &self.queued[next..end], &self.data) {
                Ok(sent) if sent > 0 => next += sent,
                // The first of the batch was refused: count it and go on after it.
                _ => {
                    self.send_errors += 1;
                    next += 1;
                }
            }
        }
        self.queued.clear();
        self.data.clear();
    }

    /// Datagrams waiting.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.queued.len()
    }
}

/// Sends a leading part of `batch` in one system call; how many went.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn send_batch(
    socket: &UdpSocket,
    batch: &[(SocketAddr, Range<usize>)],
    data: &[u8],
) -> io::Result<usize> {
    use rustix::net::{sendmmsg, MMsgHdr, SendAncillaryBuffer, SendFlags, SocketAddrAny};
    use std::io::IoSlice;
    let addrs: Vec<SocketAddrAny> = batch.iter().map(|(a, _)| (*a).into()).collect();
    let iovs: Vec<[IoSlice<'_>; 1]> = batch
        .iter()
        .map(|(_, r)| [IoSlice::new(&data[r.clone()])])
        .collect();
    let mut controls: Vec<SendAncillaryBuffer<'_, '_, '_>> = batch
        .iter()
        .map(|_| SendAncillaryBuffer::default())
        .collect();
    let mut msgs: Vec<MMsgHdr<'_>> = addrs
        .iter()
        .zip(&iovs)
        .zip(controls.iter_mut())
        .map(|((addr, iov), control)| MMsgHdr::new_with_addr(addr, iov, control))
        .collect();
    // Straight to the kernel, not through tokio's readiness: nothing here waits for the socket to
    // be writable (a full send buffer drops datagrams), and tokio's idea of writability lags
    // while a busy loop keeps its driver from running, which would refuse sends the kernel takes.
    sendmmsg(socket, &mut msgs, SendFlags::empty()).map_err(io::Error::from)
}

/// Sends one datagram straight to the kernel (not through tokio's write readiness, as above);
/// whether the kernel took it. For sockets that send one datagram at a time (phone legs).
#[cfg_attr(
    all(
        not(feature = "phone-audio"),
        any(target_os = "linux", target_os = "android")
    ),
    allow(dead_code)
)]
pub(super) fn send_now(socket: &UdpSocket, dst: SocketAddr, payload: &[u8]) -> bool {
    socket2::SockRef::from(socket)
        .send_to(payload, &dst.into())
        .is_ok()
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn send_batch(
    socket: &UdpSocket,
    batch: &[(SocketAddr, Range<usize>)],
    data: &[u8],
) -> io::Result<usize> {
    let (dst, r) = &batch[0];
    match send_now(socket, *dst, &data[r.clone()]) {
        true => Ok(1),
        false => Err(io::Error::other("refused")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receivers(n: usize) -> Vec<std::net::UdpSocket> {
        (0..n)
            .map(|_| std::net::UdpSocket::bind("127.0.0.1:0").expect("bind"))
            .collect()
    }

    /// The next `n` datagrams at `socket` (blocking; a missing one fails after a while).
    fn recv_n(socket: &std::net::UdpSocket, n: usize) -> Vec<Vec<u8>> {
        socket
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .expect("timeout");
        let mut buf = [0u8; 64];
        (0..n)
            .map(|i| {
                let len = socket
                    .recv(&mut buf)
                    .unwrap_or_else(|e| panic!("datagram {i} of {n}: {e}"));
                buf[..len].to_vec()
            })
            .collect()
    }

    #[tokio::test]
    async fn queued_datagrams_reach_each_destination_in_order_once_sent() {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let dsts = receivers(3);
        let mut out = Outbox::default();
        // More than one batch, spread over three destinations.
        let count = SEND_BATCH * 2 + 3;
        for i in 0..count {
            let dst = dsts[i % 3].local_addr().expect("addr");
            out.queue(&socket, dst, &(i as u32).to_be_bytes());
        }
        assert!(out.len() < SEND_BATCH, "a full queue goes at once");
        out.send(&socket);
        assert_eq!(out.len(), 0);
        assert_eq!(out.send_errors, 0);
        for (d, dst) in dsts.iter().enumerate() {
            let want: Vec<Vec<u8>> = (0..count)
                .filter(|i| i % 3 == d)
                .map(|i| (i as u32).to_be_bytes().to_vec())
                .collect();
            assert_eq!(recv_n(dst, want.len()), want, "destination {d}");
        }
    }

    #[tokio::test]
    async fn a_refused_datagram_is_counted_and_the_rest_still_go() {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let dst = receivers(1).remove(0);
        let mut out = Outbox::default();
        out.queue(&socket, dst.local_addr().expect("addr"), b"first");
        // IPv6 from an IPv4 socket: the kernel refuses this one datagram.
        out.queue(&socket, "[::1]:9".parse().expect("addr"), b"refused");
        out.queue(&socket, dst.local_addr().expect("addr"), b"last");
        out.send(&socket);
        assert_eq!(out.send_errors, 1);
        assert_eq!(recv_n(&dst, 2), vec![b"first".to_vec(), b"last".to_vec()]);
    }
}
