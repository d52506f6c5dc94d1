//! The SIP edge: phone calls from the hotline's trunks (its PBX or carrier SBC) become calls in
//! the same operator queue as web calls. Like `api`, an edge: it translates SIP into calls
//! (`drivers::call_registry`) and back, and decides nothing about a call itself.
//!
//! The SIP stack (rsipstack: transactions, retransmissions, dialogs, UDP and TCP) is named only
//! inside this module; nothing outside it sees the crate's types.
//!
//! A phone leg is answered with G.711 (PCMU/PCMA) and telephone-event on an RTP port of its own,
//! whose socket is handed to the media loop: the phone is then just another participant for
//! audio (its voice to the browsers, their mix to it; an RTP timeout drops it). While it waits,
//! the `greeter` plays it the language menu (when the number dialled gave no language) and its
//! announcements. The `dialler` rings interpreters' phones for the dispatcher's offers through the
//! outbound trunk. Still to come: session timers.
//!
//! Layout: `edge` (the loop owning the SIP endpoint; `edge::dialogs` what happens in a dialog,
//! key presses by SIP INFO included), `dtmf` (reading those INFO bodies), `greeter` (what a waiting caller hears, and its task), `leg` (one phone leg: its RTP port, handing
//! it to the media loop, the watch on its call), `trunk` (who may call in), `number` (DIDs,
//! masking), `sdp` (offer/answer), `request` (what is read from a request: its real source,
//! numbers, credentials; `probe` for the fuzz target).

mod dialler;
pub mod dtmf;
mod edge;
pub mod greeter;
mod leg;
pub mod number;
pub mod request;
pub mod sdp;
pub mod trunk;

pub use edge::{start, CallerOffers, SipEdge};

#[derive(Debug, thiserror::Error)]
pub enum SipError {
    #[error("binding SIP {transport} on {addr}: {reason}")]
    Bind {
        transport: &'static str,
        addr: std::net::SocketAddr,
        reason: String,
    },
}
