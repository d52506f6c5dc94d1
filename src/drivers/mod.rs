//! The I/O shell's loops: each feeds an engine and carries out what it returns: the media loop
//! (one UDP socket, every WebRTC peer), one task per call, the dispatcher, and the bus between
//! the nodes that share one pool, this node's lease (with the sweep for lost nodes), and the
//! writer of the call record, and the opening of each answered call's case.

pub mod bus;
pub mod call;
pub mod call_registry;
pub mod callbacks;
pub mod cases;
pub mod clock;
pub mod dashboard;
pub mod dispatch;
pub mod lease;
pub mod lifecycle;
pub mod media;
pub mod node;
pub mod phone_duty;
pub mod recordings;
pub mod records;
