//! The media loop's phone side: the RTP sockets of phone legs, read and written on the loop's own
//! thread next to the WebRTC socket, so a phone's packets reach the mix and the forwarder without
//! crossing threads. What to do with them is `sfu::phone`'s; this only moves bytes and time.

use super::{MediaError, MediaEvent};
use crate::domain::{CallId, ParticipantId};
use crate::engine::AudioRoutes;
use crate::sfu::phone::{PhoneLeg, Phones};
use crate::sfu::{Forwarder, Playout};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;
use tokio::net::UdpSocket;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// Datagrams read from one phone socket per wake-up (a phone sends 50 a second).
const MAX_PER_WAKE: usize = 16;
/// Largest RTP datagram read from a phone (G.711 at 20 ms is 172 bytes).
const MAX_RTP: usize = 1500;

#[derive(Default)]
pub(super) struct PhoneSide {
    phones: Phones,
    /// Indexed like `Phones`' legs.
    sockets: Vec<Option<UdpSocket>>,
    buf: Vec<u8>,
    /// Where the readiness scan starts, rotated so one busy leg cannot starve the others.
    next_scan: usize,
    /// Cancelled when a leg's RTP times out, so its edge ends it without watching every event.
    lost: HashMap<(CallId, ParticipantId), CancellationToken>,
    pub(super) send_errors: u64,
}

impl PhoneSide {
    /// Adds a phone leg with its RTP socket (bound by the SIP edge).
    pub(super) fn join(
        &mut self,
        fwd: &mut Forwarder,
        leg: PhoneLeg,
        socket: std::net::UdpSocket,
        lost: CancellationToken,
        now: Instant,
    ) -> Result<(), MediaError> {
        socket
            .set_nonblocking(true)
            .and_then(|_| UdpSocket::from_std(socket))
            .map_err(|e| MediaError::Phone(format!("RTP socket: {e}")))
            .and_then(|socket| {
                let (call, participant) = (leg.call.clone(), leg.participant.clone());
                let idx = self
                    .phones
                    .add(leg, rand::random(), now)
                    .map_err(|e| MediaError::Phone(e.to_string()))?;
                self.drop_closed();
                if self.sockets.len() <= idx {
                    self.sockets.resize_with(idx + 1, || None);
                }
                self.sockets[idx] = Some(socket);
                fwd.add_phone(&call, &participant, now);
                self.lost.insert((call, participant), lost);
                Ok(())
            })
    }

    pub(super) fn set_routes(&mut self, call: &CallId, routes: &AudioRoutes) {
        self.phones.set_routes(call, routes);
    }

    pub(super) fn leave(&mut self, fwd: &mut Forwarder, call: &CallId, p: &ParticipantId) {
        self.phones.remove(call, p);
        fwd.remove_phone(call, p);
        self.lost.remove(&(call.clone(), p.clone()));
        self.drop_closed();
    }

    pub(super) fn end_call(&mut self, call: &CallId) {
        self.phones.end_call(call);
        self.lost.retain(|(c, _), _| c != call);
        self.drop_closed();
    }

    pub(super) fn play(
        &mut self,
        call: &CallId,
        p: &ParticipantId,
        audio: Arc<[i16]>,
        then: Playout,
    ) -> Result<(), MediaError> {
        Ok(self.phones.play(call, p, audio, then)?)
    }

    pub(super) fn renegotiated(
        &mut self,
        call: &CallId,
        p: &ParticipantId,
        sends: bool,
        remote: Option<SocketAddr>,
    ) {
        self.phones
            .renegotiated(call, p, sends, remote, Instant::now());
    }

    pub(super) fn stop_playing(&mut self, call: &CallId, p: &ParticipantId) {
        self.phones.stop_playing(call, p);
    }

    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.phones.next_deadline()
    }

    /// Resolves with the index of a phone socket that has a datagram; pending while none has
    /// (or there are no phone legs).
    pub(super) fn readable(&mut self) -> impl std::future::Future<Output = usize> + '_ {
        std::future::poll_fn(move |cx| {
            let n = self.sockets.len();
            for k in 0..n {
                let idx = (self.next_scan + k) % n;
                if let Some(s) = &self.sockets[idx] {
                    // An error is a readable condition too: `read` takes it off the socket.
                    if s.poll_recv_ready(cx).is_ready() {
                        self.next_scan = idx + 1;
                        return Poll::Ready(idx);
                    }
                }
            }
            Poll::Pending
        })
    }

    /// Reads what leg `idx`'s socket has.
    pub(super) fn read(&mut self, idx: usize, now: Instant) {
        self.buf.resize(MAX_RTP, 0);
        for _ in 0..MAX_PER_WAKE {
            let Some(Some(socket)) = self.sockets.get(idx) else {
                return;
            };
            match socket.try_recv_from(&mut self.buf) {
                Ok((n, src)) => self.phones.handle_datagram(idx, src, &self.buf[..n], now),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                // ICMP errors from a phone that went away: its RTP timeout will tell.
                Err(_) => continue,
            }
        }
    }

    /// One turn: browser audio tapped by the forwarder goes into the mix, due mix ticks run (the
    /// phones' mixes go out on their sockets, their voices into the forwarder), and timed-out
    /// legs leave the forwarder and are reported.
    pub(super) fn turn(
        &mut self,
        fwd: &mut Forwarder,
        now: Instant,
        events: &broadcast::Sender<MediaEvent>,
    ) {
        for tap in fwd.drain_taps() {
            self.phones.handle_browser_audio(
                &tap.call,
                &tap.participant,
                tap.timing,
                &tap.payload,
                now,
            );
        }
        if self.phones.next_deadline().is_some_and(|t| t <= now) {
            let (sockets, errors) = (&self.sockets, &mut self.send_errors);
            self.phones.handle_timeout(
                now,
                &mut |idx, to, data| {
                    let sent = sockets
                        .get(idx)
                        .and_then(Option::as_ref)
                        .is_some_and(|s| super::outbox::send_now(s, to, data));
                    if !sent {
                        *errors += 1;
                    }
                },
                &mut |call, p, timing, level, payload| {
                    fwd.forward_phone(call, p, timing, level, payload, now)
                },
            );
        }
        for ev in self.phones.drain_events() {
            if let MediaEvent::Disconnected { call, participant } = &ev {
                fwd.remove_phone(call, participant);
                if let Some(lost) = self.lost.remove(&(call.clone(), participant.clone())) {
                    lost.cancel();
                }
            }
            let _ = events.send(ev);
        }
        self.drop_closed();
    }

    fn drop_closed(&mut self) {
        for idx in self.phones.drain_closed() {
            if let Some(slot) = self.sockets.get_mut(idx) {
                *slot = None;
            }
        }
    }
}
