//! A shard's batched receive: up to `quinn_udp::BATCH_SIZE` datagrams per system call
//! (`recvmmsg` on Linux) through quinn-udp, with UDP GRO where the kernel has it (one buffer then
//! holds several datagrams of one source, split here by their stride). It only reads: what a
//! datagram means is the forwarder's business.

use quinn_udp::{RecvMeta, UdpSocketState, BATCH_SIZE};
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Room for one datagram (WebRTC keeps under ~1200 bytes; anything longer is cut and dropped).
const MAX_DATAGRAM: usize = 2048;

pub(super) struct Inbox {
    state: UdpSocketState,
    /// `BATCH_SIZE` buffers of `slot` bytes, back to back (allocated zeroed: the pages a GRO
    /// buffer never fills are never touched).
    bufs: Vec<u8>,
    slot: usize,
    meta: [RecvMeta; BATCH_SIZE],
    /// Buffers the last `recv` filled.
    filled: usize,
}

impl Inbox {
    /// Sets the socket up for batched reads (GRO on where the kernel has it).
    pub(super) fn new(socket: &UdpSocket) -> io::Result<Self> {
        let state = UdpSocketState::new(socket.into())?;
        // With GRO one buffer takes up to `gro_segments` datagrams of one source.
        let slot = MAX_DATAGRAM * state.gro_segments().max(1);
        Ok(Self {
            state,
            bufs: vec![0; slot * BATCH_SIZE],
            slot,
            meta: [RecvMeta::default(); BATCH_SIZE],
            filled: 0,
        })
    }

    /// Reads what is waiting, into at most `max` buffers (1 ..= `BATCH_SIZE`; each holds one
    /// datagram, or with GRO several of one source) in one system call; `WouldBlock` when
    /// nothing is. The datagrams are then in `datagrams`.
    pub(super) fn recv(&mut self, socket: &UdpSocket, max: usize) -> io::Result<usize> {
        self.filled = 0;
        let n = max.clamp(1, BATCH_SIZE);
        let mut chunks = self.bufs.chunks_mut(self.slot);
        let mut bufs: [IoSliceMut<'_>; BATCH_SIZE] =
            std::array::from_fn(|_| IoSliceMut::new(chunks.next().unwrap_or_default()));
        let (state, meta) = (&self.state, &mut self.meta);
        let got = socket.try_io(Interest::READABLE, || {
            state.recv(socket.into(), &mut bufs[..n], &mut meta[..n])
        })?;
        self.filled = got.min(n);
        Ok(self.filled)
    }

    /// The datagrams the last `recv` read, in order, each with its source.
    pub(super) fn datagrams(&self) -> impl Iterator<Item = (SocketAddr, &[u8])> + '_ {
        self.meta[..self.filled]
            .iter()
            .zip(self.bufs.chunks(self.slot))
            .flat_map(|(m, buf)| {
                let data = &buf[..m.len.min(buf.len())];
                // A GRO buffer holds datagrams of `stride` bytes (the last may be shorter).
                let stride = if m.stride == 0 {
                    data.len().max(1)
                } else {
                    m.stride
                };
                data.chunks(stride).map(move |d| (m.addr, d))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pair() -> (UdpSocket, Inbox, std::net::UdpSocket) {
        let rx = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let inbox = Inbox::new(&rx).expect("inbox");
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        tx.connect(rx.local_addr().expect("addr")).expect("connect");
        (rx, inbox, tx)
    }

    /// Reads until `count` datagrams came, asking for `max[i % max.len()]` buffers each time.
    async fn read(rx: &UdpSocket, inbox: &mut Inbox, count: usize, max: &[usize]) -> Vec<Vec<u8>> {
        let mut seen = Vec::new();
        let mut i = 0;
        while seen.len() < count {
            rx.readable().await.expect("readable");
            let ask = max[i % max.len()];
            i += 1;
            match inbox.recv(rx, ask) {
                Ok(n) => assert!(n <= ask, "{n} buffers filled, {ask} asked for"),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => panic!("recv: {e}"),
            }
            seen.extend(inbox.datagrams().map(|(_, d)| d.to_vec()));
        }
        seen
    }

    #[tokio::test]
    async fn a_burst_larger_than_a_batch_is_read_whole_in_order_and_within_what_is_asked() {
        let (rx, mut inbox, tx) = pair().await;
        let count = BATCH_SIZE * 3 + 5;
        for i in 0..count as u32 {
            tx.send(&i.to_be_bytes()).expect("send");
        }
        let seen = read(&rx, &mut inbox, count, &[BATCH_SIZE, 1, 7]).await;
        let want: Vec<Vec<u8>> = (0..count as u32)
            .map(|i| i.to_be_bytes().to_vec())
            .collect();
        assert_eq!(seen, want);
    }

    #[tokio::test]
    async fn datagrams_coalesced_by_gro_come_out_one_by_one() {
        let (rx, mut inbox, tx) = pair().await;
        // Five datagrams of one source, the last shorter: one GSO send where the kernel has
        // GSO (arriving as one GRO buffer with a stride), else five sends.
        let sizes = [100, 100, 100, 100, 40];
        let payload: Vec<u8> = sizes
            .iter()
            .enumerate()
            .flat_map(|(i, &n)| std::iter::repeat_n(i as u8, n))
            .collect();
        let sender = UdpSocketState::new((&tx).into()).expect("sender state");
        let coalesced = sender.max_gso_segments() >= sizes.len() && inbox.state.gro_segments() > 1;
        if coalesced {
            let transmit = quinn_udp::Transmit {
                destination: rx.local_addr().expect("addr"),
                ecn: None,
                contents: &payload,
                segment_size: Some(100),
                src_ip: None,
            };
            sender.try_send((&tx).into(), &transmit).expect("GSO send");
        } else {
            for d in payload.chunks(100) {
                tx.send(d).expect("send");
            }
        }
        let seen = read(&rx, &mut inbox, sizes.len(), &[BATCH_SIZE]).await;
        let want: Vec<Vec<u8>> = payload.chunks(100).map(<[u8]>::to_vec).collect();
        assert_eq!(seen, want);
        if coalesced {
            assert_eq!(inbox.filled, 1, "the five came in one GRO buffer");
        }
    }
}
