//! An in-memory network for the forwarder: `Client`s on made-up addresses, datagrams carried by
//! hand between them and the forwarder, and a clock moved explicitly (every timer of the
//! forwarder and the clients that falls due is run at its time).

use super::super::Forwarder;
use super::client::{Client, Datagram};
use crate::domain::{CallId, ParticipantId, Role};
use crate::engine::{AudioRoutes, Controls};
use crate::sfu::peer::PeerConfig;
use crate::sfu::MediaEvent;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

/// The forwarder's socket (TEST-NET-1).
pub const SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 3478);
/// One step of simulated time: one Opus packet.
pub const STEP: Duration = Duration::from_millis(20);

pub fn pid(s: &str) -> ParticipantId {
    ParticipantId::parse(s).expect("participant id")
}

pub fn cid(s: &str) -> CallId {
    CallId::parse(s).expect("call id")
}

/// The call's routes for `parties` under `controls`.
pub fn routes(parties: &[(&str, Role)], controls: &Controls) -> AudioRoutes {
    let parts: Vec<(ParticipantId, Role)> = parties.iter().map(|(p, r)| (pid(p), *r)).collect();
    AudioRoutes::compute(&parts, controls)
}

/// The forwarder's `tx`: what it sends goes to `outbox`.
fn to(outbox: &mut Vec<Datagram>) -> impl FnMut(SocketAddr, &[u8]) + '_ {
    |dst, data| outbox.push((dst, data.to_vec()))
}

/// The forwarder, its clients and the clock.
pub struct Net {
    pub fwd: Forwarder,
    pub now: Instant,
    start: Instant,
    pub clients: Vec<Client>,
    /// Every event the forwarder reported, oldest first.
    pub events: Vec<MediaEvent>,
    /// Datagrams the forwarder sent, in total.
    pub sent_by_forwarder: u64,
    config: PeerConfig,
    outbox: Vec<Datagram>,
}

impl Net {
    pub fn new() -> Self {
        let now = Instant::now();
        Self {
            fwd: Forwarder::new(SERVER, now).expect("forwarder"),
            now,
            start: now,
            clients: Vec::new(),
            events: Vec::new(),
            sent_by_forwarder: 0,
            config: PeerConfig::new().expect("client config"),
            outbox: Vec::new(),
        }
    }

    /// A new client (tag = its index + 1) for `participant` of `call` with its offer made;
    /// returns its index and the offer.
    pub fn offer(&mut self, call: &str, participant: &str) -> (usize, String) {
        let n = self.clients.len();
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 10 + n as u8)), 40000);
        let (client, offer) = Client::offer(
            &self.config,
            cid(call),
            pid(participant),
            n as u8 + 1,
            addr,
            self.now,
        );
        self.clients.push(client);
        (n, offer)
    }

    /// Joins a new client through the forwarder and applies the answer; returns its index.
    pub fn join(&mut self, call: &str, participant: &str) -> usize {
        let (n, offer) = self.offer(call, participant);
        let c = &mut self.clients[n];
        let answer = self
            .fwd
            .join(&c.call, &c.id, &offer, self.now, &mut to(&mut self.outbox))
            .expect("the forwarder accepts the offer");
        c.accept_answer(&answer);
        self.pump();
        n
    }

    pub fn set_routes(&mut self, call: &str, parties: &[(&str, Role)], controls: &Controls) {
        self.fwd.set_routes(&cid(call), routes(parties, controls));
    }

    /// Cuts client `n` off the network (every address it has now).
    pub fn cut(&mut self, n: usize) {
        let c = &mut self.clients[n];
        c.dead.extend(c.addrs.iter().copied());
    }

    /// Client `n` gets a new address (another network) and trickles it, as a page does.
    pub fn move_client(&mut self, n: usize) {
        let c = &mut self.clients[n];
        let first = c.addrs[0];
        let addr = SocketAddr::new(first.ip(), first.port() + c.addrs.len() as u16);
        let line = c.move_to(addr);
        self.fwd
            .add_candidate(&c.call, &c.id, &line)
            .expect("the forwarder takes the new candidate");
        self.pump();
    }

    pub fn leave(&mut self, n: usize) {
        let c = &self.clients[n];
        self.fwd
            .leave(&c.call, &c.id, self.now, &mut to(&mut self.outbox));
        self.pump();
    }

    pub fn end_call(&mut self, call: &str) {
        self.fwd
            .end_call(&cid(call), self.now, &mut to(&mut self.outbox));
        self.pump();
    }

    /// Feeds one datagram to the forwarder as if it came from `source`.
    pub fn inject(&mut self, source: SocketAddr, data: &[u8]) {
        {
            let mut tx = to(&mut self.outbox);
            self.fwd.handle_datagram(source, data, self.now, &mut tx);
            self.fwd.flush(self.now, &mut tx);
        }
        self.pump();
    }

    /// Carries datagrams both ways until none is left.
    pub fn pump(&mut self) {
        let mut to_server = Vec::new();
        for c in &mut self.clients {
            c.drain(&mut to_server);
        }
        for _ in 0..1000 {
            {
                let mut tx = to(&mut self.outbox);
                for (source, data) in to_server.drain(..) {
                    self.fwd.handle_datagram(source, &data, self.now, &mut tx);
                }
                self.fwd.flush(self.now, &mut tx);
            }
            self.events.extend(self.fwd.drain_events());
            if self.outbox.is_empty() {
                return;
            }
            self.sent_by_forwarder += self.outbox.len() as u64;
            for (dst, data) in std::mem::take(&mut self.outbox) {
                let Some(c) = self.clients.iter_mut().find(|c| c.addrs.contains(&dst)) else {
                    continue;
                };
                if c.passes(dst, &data) {
                    c.receive(SERVER, dst, &data, self.now, &mut to_server);
                }
            }
        }
        panic!("datagrams kept flowing without time passing");
    }

    /// One step of time: every timer due on the way runs, then talking clients send a packet.
    pub fn step(&mut self) {
        let until = self.now + STEP;
        loop {
            let next = self
                .clients
                .iter()
                .map(|c| c.timeout)
                .fold(self.fwd.next_deadline(), Instant::min)
                .max(self.now);
            if next > until {
                break;
            }
            self.wake(next, false);
        }
        self.wake(until, true);
    }

    /// Moves the clock to `now` and runs what is due (sending a packet where `talk`).
    fn wake(&mut self, now: Instant, talk: bool) {
        self.now = now;
        for c in &mut self.clients {
            c.tick(now, talk);
        }
        self.pump();
        self.fwd.handle_timeouts(now, &mut to(&mut self.outbox));
        self.pump();
    }

    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        while self.now < until {
            self.step();
        }
    }

    /// Simulated time since the network was made.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Steps until every client and the forwarder report the connection up.
    pub fn connect_all(&mut self) {
        self.connect_all_but(&[]);
    }

    /// Steps until every client but `skip` and the forwarder report the connection up.
    pub fn connect_all_but(&mut self, skip: &[usize]) {
        for _ in 0..500 {
            let up = |(n, c): (usize, &Client)| {
                skip.contains(&n) || (c.connected && self.was_connected(c))
            };
            if self.clients.iter().enumerate().all(up) {
                return;
            }
            self.step();
        }
        panic!("the clients did not connect within 10 s of simulated time");
    }

    fn was_connected(&self, c: &Client) -> bool {
        self.events.iter().any(|e| {
            matches!(e, MediaEvent::Connected { call, participant }
                if *call == c.call && *participant == c.id)
        })
    }

    /// Steps until the forwarder sees client `n`'s ICE lost; returns when it did.
    pub fn run_until_ice_lost(&mut self, n: usize, max: Duration) -> Instant {
        let until = self.now + max;
        while self.now < until {
            self.step();
            if let Some(at) = self.ice_lost_at(n) {
                return at;
            }
        }
        panic!("the forwarder did not notice the lost connection within {max:?}");
    }

    /// When the forwarder saw client `n`'s ICE lost, if it is lost now.
    pub fn ice_lost_at(&self, n: usize) -> Option<Instant> {
        let c = &self.clients[n];
        let idx = self.fwd.member(&c.call, &c.id).expect("the peer is there");
        self.fwd.peers[idx].as_ref().expect("an entry").ice_lost_at
    }

    /// The forwarder's peer for the datagrams from `addr`, as (call, participant).
    pub fn claimed_by(&self, addr: SocketAddr) -> Option<(CallId, ParticipantId)> {
        let idx = *self.fwd.by_addr.get(&addr)?;
        let e = self.fwd.peers[idx].as_ref()?;
        Some((e.call.clone(), e.participant.clone()))
    }

    /// Whether the forwarder still has a connection for client `n`.
    pub fn has_peer(&self, n: usize) -> bool {
        let c = &self.clients[n];
        self.fwd.member(&c.call, &c.id).is_some()
    }

    /// How many times the forwarder reported client `n` disconnected.
    pub fn disconnected(&self, n: usize) -> usize {
        let c = &self.clients[n];
        self.events
            .iter()
            .filter(|e| {
                matches!(e, MediaEvent::Disconnected { call, participant }
                    if *call == c.call && *participant == c.id)
            })
            .count()
    }

    /// The forwarder's peer for client `n`.
    fn entry(&self, n: usize) -> &super::super::Entry {
        let c = &self.clients[n];
        let idx = self.fwd.member(&c.call, &c.id).expect("the peer is there");
        self.fwd.peers[idx].as_ref().expect("an entry")
    }

    /// How many times client `n`'s server-side peer ran its WebRTC timer.
    pub fn timer_runs(&self, n: usize) -> u64 {
        self.entry(n).timer_runs
    }

    /// When client `n`'s server-side peer next needs its timer.
    pub fn peer_deadline(&self, n: usize) -> Instant {
        self.entry(n).timeout
    }

    /// Client `n` sends one packet now (no time passes; the forwarder only reads and flushes).
    pub fn talk_once(&mut self, n: usize) {
        let now = self.now;
        let c = &mut self.clients[n];
        c.talking = true;
        c.tick(now, true);
        c.talking = false;
        self.pump();
    }

    /// Flushes the forwarder with nothing read.
    pub fn flush(&mut self) {
        self.fwd.flush(self.now, &mut to(&mut self.outbox));
        self.pump();
    }

    /// Moves the forwarder's clock (only) to `at` and runs what is due there.
    pub fn wake_forwarder(&mut self, at: Instant) {
        self.now = at;
        self.fwd.handle_timeouts(at, &mut to(&mut self.outbox));
        self.pump();
    }

    /// Every client starts talking and every count starts from zero.
    pub fn talk_all(&mut self) {
        for c in &mut self.clients {
            c.talking = true;
            c.reset();
        }
    }

    pub fn reset_all(&mut self) {
        for c in &mut self.clients {
            c.reset();
        }
    }
}
