//! The RTP side of a test phone: a UDP socket on loopback that the phone's SDP names (sipp does
//! the signalling), speaking a PCMU tone every 20 ms to wherever the bridge's RTP comes from,
//! pressing keys as RFC 4733 telephone-events (payload type 101, as the scenarios' SDP offers),
//! and counting what the bridge sends it: RTP packets, those that decode to sound, and the
//! longest silence between sounds.

use hotline_bridge::sfu::mix::G711;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::{CancellationToken, DropGuard};

/// A 20 ms G.711 frame with an RMS above this (of full scale 1.0, about -40 dBFS) is sound.
pub const SOUND_RMS: f64 = 0.01;

/// Frames of `audio` (8 kHz PCM, 20 ms = 160 samples) that the phone counts as sound.
pub fn sound_frames(audio: &[i16]) -> u64 {
    audio
        .chunks(160)
        .filter(|f| {
            let rms = (f.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / f.len() as f64)
                .sqrt()
                / 32768.0;
            rms > SOUND_RMS
        })
        .count() as u64
}

/// What the bridge has sent the phone so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Heard {
    pub packets: u64,
    pub sound: u64,
    /// Packets whose sequence number did not follow the previous one by one.
    pub seq_jumps: u64,
    /// Packets not PCMU (payload type 0).
    pub wrong_type: u64,
    /// Silent packets in a row now, and the longest such run since the first sound (20 ms each):
    /// how long the phone heard dead silence.
    pub silent_run: u64,
    pub longest_silence: u64,
}

pub struct PhoneRtp {
    pub addr: SocketAddr,
    heard: watch::Receiver<Heard>,
    talking: Arc<AtomicBool>,
    keys: mpsc::UnboundedSender<char>,
    _stop: DropGuard,
}

/// The telephone-event payload type the scenarios' SDP offers.
const EVENT_PT: u8 = 101;

impl PhoneRtp {
    /// Binds the socket and starts talking (a 440 Hz tone) once the bridge's RTP has shown where
    /// the bridge listens.
    pub async fn start() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("phone RTP socket");
        let addr = socket.local_addr().expect("addr");
        let (tx, heard) = watch::channel(Heard::default());
        let talking = Arc::new(AtomicBool::new(true));
        let stop = CancellationToken::new();
        let (keys, key_rx) = mpsc::unbounded_channel();
        tokio::spawn(run(socket, tx, talking.clone(), key_rx, stop.clone()));
        Self {
            addr,
            heard,
            talking,
            keys,
            _stop: stop.drop_guard(),
        }
    }

    /// Presses `key` (0-9, * or #) once: an RFC 4733 event, three updates and three end packets
    /// sharing one timestamp, sent with the next frame.
    pub fn press(&self, key: char) {
        self.keys.send(key).expect("the phone's RTP task runs");
    }

    /// Stops sending RTP (a phone whose media died); it keeps counting what arrives.
    pub fn fall_silent(&self) {
        self.talking.store(false, Ordering::Release);
    }

    pub fn heard(&self) -> Heard {
        *self.heard.borrow()
    }

    /// Waits until what was heard satisfies `pred`; panics with `what` after `timeout`.
    pub async fn wait(&self, what: &str, timeout: Duration, pred: impl FnMut(&Heard) -> bool) {
        let mut rx = self.heard.clone();
        let got = tokio::time::timeout(timeout, rx.wait_for(pred))
            .await
            .is_ok_and(|r| r.is_ok());
        assert!(got, "{what}: the phone heard only {:?}", self.heard());
    }
}

async fn run(
    socket: UdpSocket,
    heard: watch::Sender<Heard>,
    talking: Arc<AtomicBool>,
    mut keys: mpsc::UnboundedReceiver<char>,
    stop: CancellationToken,
) {
    let mut buf = [0u8; 2048];
    let mut bridge: Option<SocketAddr> = None;
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    let (mut seq, mut ts, mut phase) = (1000u16, 5000u32, 0f64);
    let mut last_seq: Option<u16> = None;
    let mut pcm = Vec::new();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            r = socket.recv_from(&mut buf) => {
                let Ok((n, from)) = r else { continue };
                bridge.get_or_insert(from);
                let p = &buf[..n];
                if n < 12 || p[0] >> 6 != 2 {
                    continue;
                }
                let s = u16::from_be_bytes([p[2], p[3]]);
                pcm.clear();
                G711::Pcmu.decode(&p[12..], &mut pcm);
                let rms = (pcm.iter().map(|&x| (f64::from(x) / 32768.0).powi(2)).sum::<f64>()
                    / pcm.len().max(1) as f64)
                    .sqrt();
                heard.send_modify(|h| {
                    h.packets += 1;
                    if p[1] & 0x7f != 0 {
                        h.wrong_type += 1;
                    }
                    if last_seq.is_some_and(|l| l.wrapping_add(1) != s) {
                        h.seq_jumps += 1;
                    }
                    if rms > SOUND_RMS {
                        h.sound += 1;
                        h.silent_run = 0;
                    } else if h.sound > 0 {
                        h.silent_run += 1;
                        h.longest_silence = h.longest_silence.max(h.silent_run);
                    }
                });
                last_seq = Some(s);
            }
            Some(key) = keys.recv() => {
                let Some(to) = bridge else { continue };
                let event = match key {
                    '*' => 10,
                    '#' => 11,
                    d => d.to_digit(10).expect("a phone key") as u8,
                };
                for (i, end) in [false, false, false, true, true, true].into_iter().enumerate() {
                    let duration = 160 * (i as u16 + 1);
                    let mut packet = vec![0x80, EVENT_PT | if i == 0 { 0x80 } else { 0 }];
                    packet.extend_from_slice(&seq.to_be_bytes());
                    packet.extend_from_slice(&ts.to_be_bytes());
                    packet.extend_from_slice(&0x5eed_0001u32.to_be_bytes());
                    packet.extend_from_slice(&[event, if end { 0x80 | 10 } else { 10 }]);
                    packet.extend_from_slice(&duration.to_be_bytes());
                    let _ = socket.send_to(&packet, to).await;
                    seq = seq.wrapping_add(1);
                }
                ts = ts.wrapping_add(960);
            }
            _ = ticker.tick() => {
                let Some(to) = bridge else { continue };
                if !talking.load(Ordering::Acquire) {
                    continue;
                }
                let frame: Vec<i16> = (0..160)
                    .map(|_| {
                        phase = (phase + std::f64::consts::TAU * 440.0 / 8000.0)
                            % std::f64::consts::TAU;
                        (phase.sin() * 16000.0) as i16
                    })
                    .collect();
                let mut packet = vec![0x80, 0];
                packet.extend_from_slice(&seq.to_be_bytes());
                packet.extend_from_slice(&ts.to_be_bytes());
                packet.extend_from_slice(&0x5eed_0001u32.to_be_bytes());
                G711::Pcmu.encode(&frame, &mut packet);
                let _ = socket.send_to(&packet, to).await;
                seq = seq.wrapping_add(1);
                ts = ts.wrapping_add(160);
            }
        }
    }
}
