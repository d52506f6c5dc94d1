//! `TestPeer`: an in-process WebRTC client on str0m for tests, bots and the load generator. It
//! offers like the pages do (one sendrecv audio + `RECV_SLOTS` recvonly), runs its own UDP socket
//! loop as a tokio task, sends marked Opus-sized packets at 50 per second once connected, and
//! tracks what arrives per source and per receive slot. A test client may name str0m: it is a
//! client of the service, not part of its seam, and would survive a change of the server's crate.

use super::reception::{Marker, Reception, Tracker};
use crate::domain::{CallId, ParticipantId};
use crate::drivers::media::{MediaError, MediaHandle, RECV_SLOTS};
use crate::sfu::peer::PeerConfig;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{ExtensionValues, RtpWrite, SeqNo};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// One packet every 20 ms: 50 packets per second, like Opus in a browser.
pub const PACKET_INTERVAL: Duration = Duration::from_millis(20);
const OPUS_TICKS_PER_PACKET: u32 = 960;

#[derive(Debug, thiserror::Error)]
pub enum TestPeerError {
    #[error("test peer socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("test peer WebRTC: {0}")]
    Rtc(String),
    #[error("media: {0}")]
    Media(#[from] MediaError),
}

#[derive(Debug, Clone)]
pub struct TestPeerOptions {
    /// Address the peer's socket binds (and offers as its host candidate).
    pub bind_ip: IpAddr,
    /// Keep every packet's latency (the load generator does; tests need not).
    pub keep_latencies: bool,
    /// RFC 6464 level sent with each packet (0 loudest … 127 silence).
    pub level: u8,
    /// Start with the microphone off: nothing is sent until `set_sending(true)`.
    pub muted: bool,
    /// Send a real tone of this frequency as Opus instead of marked payloads, and count the real
    /// Opus that arrives by its decoded level (`sound_packets`): for the phone mix, which decodes.
    #[cfg(feature = "phone-audio")]
    pub tone_hz: Option<f64>,
    /// With `tone_hz`: decode what arrives to count `sound_packets` (a load generator that does
    /// not need the count saves the decoding).
    #[cfg(feature = "phone-audio")]
    pub count_sound: bool,
}

impl Default for TestPeerOptions {
    fn default() -> Self {
        Self {
            bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            keep_latencies: false,
            level: 30,
            muted: false,
            #[cfg(feature = "phone-audio")]
            tone_hz: None,
            #[cfg(feature = "phone-audio")]
            count_sound: true,
        }
    }
}

/// A peer whose offer is made and whose answer is awaited.
pub struct TestPeerOffer {
    rtc: Rtc,
    socket: std::net::UdpSocket,
    pending: SdpPendingOffer,
    mic: Mid,
    slots: Vec<Mid>,
    tag: u32,
    opts: TestPeerOptions,
}

struct Shared {
    tracker: Mutex<Tracker>,
    connected: AtomicBool,
    connected_changed: Notify,
    sending: AtomicBool,
    sent: AtomicU64,
    /// Unmarked packets that decoded to sound (with a `tone_hz` voice).
    sound: AtomicU64,
}

/// A running test peer; stops (closing its connection) when dropped or `close`d.
pub struct TestPeer {
    shared: Arc<Shared>,
    stop: CancellationToken,
    tag: u32,
    slot_mids: Vec<String>,
    local: SocketAddr,
}

impl TestPeerOffer {
    /// Binds a socket and makes the offer (complete: its host candidate is in it). `tag` marks
    /// every packet this peer sends.
    pub fn new(
        config: &PeerConfig,
        tag: u32,
        opts: TestPeerOptions,
    ) -> Result<(Self, String), TestPeerError> {
        let socket = std::net::UdpSocket::bind(SocketAddr::new(opts.bind_ip, 0))?;
        socket.set_nonblocking(true)?;
        #[cfg(target_os = "linux")]
        stamped::enable(&socket)?;
        let local = socket.local_addr()?;
        let mut rtc = config.rtc_config().build(Instant::now());
        let candidate =
            Candidate::host(local, "udp").map_err(|e| TestPeerError::Rtc(e.to_string()))?;
        rtc.add_local_candidate(candidate);
        let mut change = rtc.sdp_api();
        let mic = change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let slots: Vec<Mid> = (0..RECV_SLOTS)
            .map(|_| change.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None))
            .collect();
        let (offer, pending) = change
            .apply()
            .ok_or_else(|| TestPeerError::Rtc("no offer".into()))?;
        let sdp = offer.to_sdp_string();
        let me = Self {
            rtc,
            socket,
            pending,
            mic,
            slots,
            tag,
            opts,
        };
        Ok((me, sdp))
    }

    /// Applies the server's answer and starts the peer's loop (on the current tokio runtime).
    pub fn start(mut self, answer_sdp: &str) -> Result<TestPeer, TestPeerError> {
        let answer = SdpAnswer::from_sdp_string(answer_sdp)
            .map_err(|e| TestPeerError::Rtc(e.to_string()))?;
        self.rtc
            .sdp_api()
            .accept_answer(self.pending, answer)
            .map_err(|e| TestPeerError::Rtc(e.to_string()))?;
        let local = self.socket.local_addr()?;
        let socket = UdpSocket::from_std(self.socket)?;
        let shared = Arc::new(Shared {
            tracker: Mutex::new(Tracker::new(self.opts.keep_latencies)),
            connected: AtomicBool::new(false),
            connected_changed: Notify::new(),
            sending: AtomicBool::new(!self.opts.muted),
            sent: AtomicU64::new(0),
            sound: AtomicU64::new(0),
        });
        let stop = CancellationToken::new();
        let slot_mids = self.slots.iter().map(|m| m.to_string()).collect();
        let task = Loop {
            rtc: self.rtc,
            socket,
            local,
            mic: self.mic,
            slots: self.slots,
            tag: self.tag,
            level: self.opts.level,
            shared: shared.clone(),
            #[cfg(feature = "phone-audio")]
            voice: self
                .opts
                .tone_hz
                .and_then(|hz| super::voice::Voice::new(hz, self.opts.count_sound)),
        };
        tokio::spawn(task.run(stop.clone()));
        Ok(TestPeer {
            shared,
            stop,
            tag: self.tag,
            slot_mids,
            local,
        })
    }
}

impl TestPeer {
    /// Offers, joins `call` as `participant` through the media handle, and starts.
    pub async fn join(
        media: &MediaHandle,
        config: &PeerConfig,
        call: &CallId,
        participant: &ParticipantId,
        tag: u32,
        opts: TestPeerOptions,
    ) -> Result<Self, TestPeerError> {
        let (offer, sdp) = TestPeerOffer::new(config, tag, opts)?;
        let answer = media.join(call.clone(), participant.clone(), sdp).await?;
        offer.start(&answer)
    }

    pub fn tag(&self) -> u32 {
        self.tag
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The receive slots' mids, in offer order (slot index = position).
    pub fn slot_mids(&self) -> &[String] {
        &self.slot_mids
    }

    pub fn is_connected(&self) -> bool {
        self.shared.connected.load(Ordering::Acquire)
    }

    /// Waits until ICE and DTLS are up; false on timeout.
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.connected_changed.notified();
            if self.is_connected() {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.is_connected();
            }
        }
    }

    /// Waits until the connection is over (closed by either side, or failed); false on timeout.
    pub async fn wait_closed(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.connected_changed.notified();
            if !self.is_connected() {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return !self.is_connected();
            }
        }
    }

    /// Starts or stops sending (a muted microphone that sends nothing).
    pub fn set_sending(&self, on: bool) {
        self.shared.sending.store(on, Ordering::Release);
    }

    /// Packets sent since start.
    pub fn sent(&self) -> u64 {
        self.shared.sent.load(Ordering::Acquire)
    }

    /// Packets of real Opus received that decoded to sound (counted only with `tone_hz`).
    pub fn sound_packets(&self) -> u64 {
        self.shared.sound.load(Ordering::Acquire)
    }

    /// Packets from `tag` counted since the last `take` (without resetting).
    pub fn packets_from(&self, tag: u32) -> u64 {
        self.tracker().peek().packets_from(tag)
    }

    /// What arrived since the last `take`.
    pub fn take(&self) -> Reception {
        self.tracker().take()
    }

    /// Count only packets sent from `unix_us` on (see `Tracker::set_cutoff`).
    pub fn set_cutoff(&self, unix_us: u64) {
        self.tracker().set_cutoff(unix_us);
    }

    /// How long ago the last packet from `tag` arrived.
    pub fn silent_for(&self, tag: u32) -> Option<Duration> {
        self.tracker().silent_for(tag, Instant::now())
    }

    /// Stops the loop, sending the connection's goodbyes.
    pub fn close(&self) {
        self.stop.cancel();
    }

    fn tracker(&self) -> std::sync::MutexGuard<'_, Tracker> {
        // A poisoned tracker only means a panicking test thread; the counts are still usable.
        self.shared
            .tracker
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for TestPeer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

struct Loop {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    mic: Mid,
    slots: Vec<Mid>,
    tag: u32,
    level: u8,
    shared: Arc<Shared>,
    #[cfg(feature = "phone-audio")]
    voice: Option<super::voice::Voice>,
}

impl Loop {
    async fn run(mut self, stop: CancellationToken) {
        let mut buf = vec![0u8; 2048];
        let mut ticker = tokio::time::interval(PACKET_INTERVAL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut seq: u64 = rand::random::<u16>() as u64;
        let mut ts: u32 = rand::random();
        let mut count: u32 = 0;
        let sleep = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(sleep);
        // When the datagram just handed to str0m reached the socket: the packets it yields are
        // stamped with it, so a peer that is slow to run does not count as latency.
        let mut arrival: Option<u64> = None;
        while let Some(timeout) = self.drain(arrival.take()) {
            sleep.as_mut().reset(timeout.into());
            tokio::select! {
                _ = stop.cancelled() => break,
                r = recv(&self.socket, &mut buf) => {
                    let Ok((n, source, arrived_unix_us)) = r else { continue };
                    arrival = Some(arrived_unix_us);
                    let Ok(contents) = buf[..n].try_into() else { continue };
                    let input = Input::Receive(Instant::now(), Receive {
                        proto: Protocol::Udp, source, destination: self.local, contents,
                    });
                    if self.rtc.handle_input(input).is_err() {
                        break;
                    }
                }
                _ = ticker.tick() => {
                    if self.shared.connected.load(Ordering::Acquire)
                        && self.shared.sending.load(Ordering::Acquire)
                    {
                        self.send(seq, ts, count);
                        seq += 1;
                        ts = ts.wrapping_add(OPUS_TICKS_PER_PACKET);
                        count = count.wrapping_add(1);
                    }
                }
                _ = &mut sleep => {
                    if self.rtc.handle_input(Input::Timeout(Instant::now())).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = self.rtc.close();
        let _ = self.rtc.handle_input(Input::Timeout(Instant::now()));
        self.drain(None);
        self.shared.connected.store(false, Ordering::Release);
        self.shared.connected_changed.notify_waiters();
    }

    fn send(&mut self, seq: u64, ts: u32, count: u32) {
        let now = Instant::now();
        let Some(pt) = self
            .rtc
            .codec_config()
            .find(|p| p.spec().codec == Codec::Opus)
            .map(|p| p.pt())
        else {
            return;
        };
        let payload = Marker {
            tag: self.tag,
            seq: count,
            sent_unix_us: unix_us(),
        }
        .encode();
        #[cfg(feature = "phone-audio")]
        let payload = match &mut self.voice {
            Some(v) => v.next_packet(),
            None => payload,
        };
        let exts = ExtensionValues {
            audio_level: Some(-(self.level.min(127) as i8)),
            voice_activity: Some(true),
            ..Default::default()
        };
        let mut api = self.rtc.direct_api();
        let Some(stream) = api.stream_tx_by_mid(self.mic, None) else {
            return;
        };
        stream.write_rtp(
            RtpWrite::new(pt, SeqNo::from(seq), ts, now, payload)
                .marker(count == 0)
                .ext_vals(exts),
        );
        if self.rtc.handle_input(Input::Timeout(now)).is_ok() {
            self.shared.sent.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Polls until str0m wants time; `None` when the connection is over. Packets that arrive are
    /// taken as received at `arrival` (µs since the epoch) when given, else now.
    fn drain(&mut self, arrival: Option<u64>) -> Option<Instant> {
        loop {
            match self.rtc.poll_output().ok()? {
                Output::Timeout(t) => return self.rtc.is_alive().then_some(t),
                Output::Transmit(t) => {
                    let _ = self.socket.try_send_to(&t.contents, t.destination);
                }
                Output::Event(Event::Connected) => {
                    self.shared.connected.store(true, Ordering::Release);
                    self.shared.connected_changed.notify_waiters();
                }
                Output::Event(Event::RtpPacket(p)) => {
                    let mid = self
                        .rtc
                        .direct_api()
                        .stream_rx(&p.header.ssrc)
                        .map(|s| s.mid());
                    let slot = mid
                        .and_then(|m| self.slots.iter().position(|s| *s == m))
                        .unwrap_or(usize::MAX);
                    let now = Instant::now();
                    #[cfg(feature = "phone-audio")]
                    if let Some(v) = &mut self.voice {
                        if Marker::decode(&p.payload).is_none() && v.is_sound(&p.payload) {
                            self.shared.sound.fetch_add(1, Ordering::AcqRel);
                        }
                    }
                    let mut tr = self
                        .shared
                        .tracker
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    tr.on_packet(slot, &p.payload, now, arrival.unwrap_or_else(unix_us));
                }
                Output::Event(Event::Closed) => return None,
                Output::Event(_) => {}
            }
        }
    }
}

/// Receives one datagram: its length, source and when it reached the socket (µs since the
/// epoch; the kernel's stamp where there is one).
async fn recv(socket: &UdpSocket, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr, u64)> {
    #[cfg(target_os = "linux")]
    {
        socket
            .async_io(tokio::io::Interest::READABLE, || stamped::recv(socket, buf))
            .await
    }
    #[cfg(not(target_os = "linux"))]
    {
        let (n, source) = socket.recv_from(buf).await?;
        Ok((n, source, unix_us()))
    }
}

/// Kernel receive timestamps (`SO_TIMESTAMPNS`) on Linux.
#[cfg(target_os = "linux")]
mod stamped {
    use nix::sys::socket::{
        recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrStorage,
    };
    use std::io::IoSliceMut;
    use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};
    use std::os::fd::{AsFd, AsRawFd};

    pub(super) fn enable(socket: &impl AsFd) -> std::io::Result<()> {
        setsockopt(socket, sockopt::ReceiveTimestampns, &true)?;
        Ok(())
    }

    pub(super) fn recv(
        socket: &impl AsRawFd,
        buf: &mut [u8],
    ) -> std::io::Result<(usize, SocketAddr, u64)> {
        let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
        let mut iov = [IoSliceMut::new(buf)];
        let msg = recvmsg::<SockaddrStorage>(
            socket.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::empty(),
        )?;
        let mut at = None;
        for c in msg.cmsgs()? {
            if let ControlMessageOwned::ScmTimestampns(t) = c {
                let us = t.tv_sec() as i128 * 1_000_000 + t.tv_nsec() as i128 / 1000;
                at = u64::try_from(us).ok();
            }
        }
        let source = msg
            .address
            .as_ref()
            .and_then(|a| {
                a.as_sockaddr_in()
                    .map(|v4| SocketAddr::V4(SocketAddrV4::from(*v4)))
                    .or_else(|| {
                        a.as_sockaddr_in6()
                            .map(|v6| SocketAddr::V6(SocketAddrV6::from(*v6)))
                    })
            })
            .ok_or_else(|| std::io::Error::other("datagram without a source address"))?;
        Ok((msg.bytes, source, at.unwrap_or_else(super::unix_us)))
    }
}

/// Microseconds since the Unix epoch (the clock the payload markers carry).
pub fn unix_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}
