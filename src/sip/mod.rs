//! The SIP edge: phone calls from the hotline's trunks (its PBX or carrier SBC) become calls in
//! the same operator queue as web calls. Like `api`, an edge: it translates SIP into calls
//! (`drivers::call_registry`) and back, and decides nothing about a call itself.
//!
//! The SIP stack (rsipstack: transactions, retransmissions, dialogs, UDP and TCP) is named only
//! inside this module; nothing outside it sees the crate's types.
//!
//! This slice signals only. A phone leg is answered with G.711 (PCMU/PCMA) and telephone-event on
//! an RTP port of its own, but no audio flows yet: the RTP socket is bound and held, and bridging
//! it to the call's mix is the next slice (the SFU's mixer). Likewise still to come: the spoken
//! language menu, prompts, session timers and RTP timeouts, and outbound calls to interpreters.
//!
//! Layout: `edge` (the loop owning the SIP endpoint), `leg` (one phone leg: its RTP port and the
//! watch on its call), `trunk` (who may call in), `number` (DIDs, masking), `sdp` (offer/answer).

mod edge;
mod leg;
pub mod number;
pub mod sdp;
pub mod trunk;

pub use edge::{start, SipEdge};

#[derive(Debug, thiserror::Error)]
pub enum SipError {
    #[error("binding SIP {transport} on {addr}: {reason}")]
    Bind {
        transport: &'static str,
        addr: std::net::SocketAddr,
        reason: String,
    },
}
