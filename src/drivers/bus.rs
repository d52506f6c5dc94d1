//! The node bus: how one node's dispatcher reaches interpreter consoles connected to other nodes
//! and hears back from them. Over Redis it is one pub/sub channel per pool (`{prefix}:bus`, beside
//! the pool's keys); every message names its sender and, when it is meant for one node, that node.
//! A single node (the in-memory pool) has a local bus that carries nothing.
//!
//! With Sentinel both follow the master the sentinels name (`pool::link`): the subscription is
//! made again on the new master after a failover.
//!
//! Delivery is best effort (pub/sub keeps nothing for a node that is reconnecting): correctness
//! stays with the pool's scripts, and the dispatch engine withdraws an offer whose end was never
//! reported (`SWEEP_GRACE_MS`). The bus only makes things fast. It decides nothing.

use crate::config::RedisSettings;
use crate::domain::{CallId, InterpreterId, NodeId, OfferId};
use crate::drivers::lifecycle::Lifecycle;
use crate::pool::keys::Keys;
use crate::pool::link::RedisLink;
use crate::pool::OfferState;
use crate::protocol::ServerMessage;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Messages waiting to be published; past this they are dropped (and logged).
pub const OUTBOX_CAPACITY: usize = 8192;
/// Messages from other nodes waiting for this node's dispatcher.
pub const INBOX_CAPACITY: usize = 8192;
/// Pause before subscribing again after the subscription connection failed.
const RESUBSCRIBE_AFTER: Duration = Duration::from_millis(500);

/// What one node tells another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BusMessage {
    /// For an interpreter's console, delivered by whichever node it is connected to.
    Console {
        interpreter: InterpreterId,
        /// Boxed: the other messages are a few ids, this one a whole server message.
        message: Box<ServerMessage>,
    },
    /// An offer the recipient made ended elsewhere: answered on another node's console, or
    /// expired by another node's sweep.
    OfferEnded {
        offer: OfferId,
        state: OfferState,
        paused: bool,
    },
    /// An interpreter may take a call again (available, declined, not paused after a miss, or
    /// out of wrap-up): requests waiting on other nodes look again.
    Freed { interpreter: InterpreterId },
    /// The interpreter's console reconnected on the sender while they hold a call on the
    /// recipient: invite them into it again.
    InviteAgain { interpreter: InterpreterId },
    /// An administrator ended this call (already ended in the pool): hang it up here.
    EndCall { call: CallId },
    /// An administrator freed the interpreter of this call (already free in the pool): take them
    /// out of the call, or stop its search.
    SendOut { call: CallId },
}

#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    from: u64,
    /// `None`: every other node.
    to: Option<u64>,
    #[serde(flatten)]
    body: BusMessage,
}

/// Cheap to clone; every clone publishes for the same node.
#[derive(Clone)]
pub struct Bus {
    node: u64,
    outbox: Option<mpsc::Sender<Envelope>>,
}

/// The messages other nodes sent this one (only those meant for it, never its own).
pub type Inbox = mpsc::Receiver<BusMessage>;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("the redis settings are not usable for the node bus: {0}")]
    Url(String),
    #[error("node bus message not published: {0}")]
    Publish(String),
}

impl Bus {
    /// A single node's bus: nothing is published, nothing arrives.
    pub fn local(node: u64) -> Self {
        Self { node, outbox: None }
    }

    /// The bus over the pool's Redis: a publisher and a subscriber task on `lifecycle`'s
    /// tracker, both stopping with the node (or when every `Bus` clone is gone, for the
    /// publisher).
    pub fn redis(
        settings: &RedisSettings,
        node: u64,
        lifecycle: &Lifecycle,
    ) -> Result<(Self, Inbox), BusError> {
        let response = Duration::from_millis(settings.response_timeout_ms);
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(settings.connection_timeout_ms)))
            .set_response_timeout(Some(response));
        let link = RedisLink::open(settings, config).map_err(|e| BusError::Url(e.to_string()))?;
        let channel: Arc<str> = Keys::new(&settings.key_prefix).bus().into();
        let (outbox, out_rx) = mpsc::channel(OUTBOX_CAPACITY);
        let (in_tx, inbox) = mpsc::channel(INBOX_CAPACITY);
        let shutdown = lifecycle.child();
        lifecycle.spawn(publish(
            link.clone(),
            channel.clone(),
            out_rx,
            shutdown.clone(),
        ));
        lifecycle.spawn(subscribe(link, channel, node, in_tx, shutdown));
        let bus = Self {
            node,
            outbox: Some(outbox),
        };
        Ok((bus, inbox))
    }

    /// This node's id (also the prefix of the offer ids it makes).
    pub fn node(&self) -> u64 {
        self.node
    }

    /// Whether other nodes can be reached at all.
    pub fn is_shared(&self) -> bool {
        self.outbox.is_some()
    }

    /// Sends `body` to node `to`, or to every other node; never blocks.
    pub fn publish(&self, to: Option<u64>, body: BusMessage) {
        let Some(outbox) = &self.outbox else {
            return;
        };
        let envelope = Envelope {
            from: self.node,
            to,
            body,
        };
        if let Err(e) = outbox.try_send(envelope) {
            tracing::warn!(error = %e, "node bus message dropped");
        }
    }
}

/// Publishes one message to node `to` from outside every node (the `admin` command line, node id
/// 0), over a connection of its own (to the sentinels' master with Sentinel), and waits until
/// Redis has taken it.
pub async fn publish_once(
    settings: &RedisSettings,
    to: NodeId,
    body: BusMessage,
) -> Result<(), BusError> {
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_millis(settings.connection_timeout_ms)))
        .set_response_timeout(Some(Duration::from_millis(settings.response_timeout_ms)));
    let mut link = RedisLink::open(settings, config).map_err(|e| BusError::Url(e.to_string()))?;
    let channel = Keys::new(&settings.key_prefix).bus();
    let envelope = Envelope {
        from: 0,
        to: Some(to.get()),
        body,
    };
    let payload = serde_json::to_string(&envelope).map_err(|e| BusError::Publish(e.to_string()))?;
    let bound =
        Duration::from_millis(settings.connection_timeout_ms + settings.response_timeout_ms);
    let mut cmd = redis::cmd("PUBLISH");
    cmd.arg(channel).arg(payload);
    let send = cmd.query_async::<i64>(&mut link);
    match tokio::time::timeout(bound, send).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(BusError::Publish(e.to_string())),
        Err(_) => Err(BusError::Publish(format!("no answer within {bound:?}"))),
    }
}

/// The node that made `offer` (its id is `<node as 16 hex digits>-<sequence>`), if it says.
pub fn offer_node(offer: &OfferId) -> Option<u64> {
    let s = offer.to_string();
    let (node, _) = s.split_once('-')?;
    if node.len() != 16 {
        return None;
    }
    u64::from_str_radix(node, 16).ok()
}

/// Publishes in order, one message at a time, over a reconnecting connection.
async fn publish(
    mut conn: RedisLink,
    channel: Arc<str>,
    mut rx: mpsc::Receiver<Envelope>,
    shutdown: CancellationToken,
) {
    loop {
        let envelope = tokio::select! {
            _ = shutdown.cancelled() => return,
            m = rx.recv() => match m {
                Some(m) => m,
                None => return,
            },
        };
        let payload = match serde_json::to_string(&envelope) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "node bus message not encoded");
                continue;
            }
        };
        let sent: redis::RedisResult<i64> = redis::cmd("PUBLISH")
            .arg(&*channel)
            .arg(payload)
            .query_async(&mut conn)
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "node bus message not published");
        }
    }
}

/// Subscribes (again after every failure) and passes on what is meant for `node`.
async fn subscribe(
    link: RedisLink,
    channel: Arc<str>,
    node: u64,
    tx: mpsc::Sender<BusMessage>,
    shutdown: CancellationToken,
) {
    loop {
        let session = async {
            let mut pubsub = link.client().await?.get_async_pubsub().await?;
            pubsub.subscribe(&*channel).await?;
            tracing::info!(node = format!("{node:016x}"), "node bus subscribed");
            let mut messages = pubsub.on_message();
            while let Some(m) = messages.next().await {
                let envelope: Envelope = match serde_json::from_slice(m.get_payload_bytes()) {
                    Ok(e) => e,
                    Err(e) => {
                        tracing::warn!(error = %e, "node bus message not understood");
                        continue;
                    }
                };
                if envelope.from == node || envelope.to.is_some_and(|to| to != node) {
                    continue;
                }
                if tx.send(envelope.body).await.is_err() {
                    return Ok(());
                }
            }
            Ok::<(), redis::RedisError>(())
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            r = session => {
                if tx.is_closed() {
                    return;
                }
                if let Err(e) = r {
                    tracing::warn!(error = %e, "node bus subscription lost");
                }
                // The master may have gone: find it again before subscribing again.
                link.suspect();
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(RESUBSCRIBE_AFTER) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_node_that_made_an_offer_is_read_from_its_id() {
        let id = OfferId::parse(&format!("{:016x}-{}", 0xabcdu64, 7)).expect("id");
        assert_eq!(offer_node(&id), Some(0xabcd));
        let other = OfferId::parse("not-a-node-id").expect("id");
        assert_eq!(offer_node(&other), None);
    }

    #[test]
    fn an_envelope_round_trips_through_json() {
        let iid = InterpreterId::parse("li-na").expect("id");
        let e = Envelope {
            from: 1,
            to: None,
            body: BusMessage::Freed { interpreter: iid },
        };
        let text = serde_json::to_string(&e).expect("json");
        let back: Envelope = serde_json::from_str(&text).expect("back");
        assert_eq!(back.body, e.body);
        assert_eq!((back.from, back.to), (1, None));
    }
}
