//! Media helpers: a media loop on an ephemeral UDP port on loopback, waiting for media events.

use hotline_bridge::drivers::media::{self, MediaEvent, MediaHandle};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::{CancellationToken, DropGuard};

/// Media shards (as many as the config says) on 127.0.0.1, free ports; they stop when the guard
/// is dropped.
pub async fn spawn_media() -> (MediaHandle, DropGuard) {
    spawn_media_shards(super::test_settings().media.shards).await
}

/// `shards` media shards (0 = one per core) on 127.0.0.1, free ports; they stop when the guard
/// is dropped.
pub async fn spawn_media_shards(shards: usize) -> (MediaHandle, DropGuard) {
    spawn_media_at(shards, 0).await
}

/// As `spawn_media_shards`, the shards' threads asking for SCHED_FIFO `realtime_priority`
/// (0 = the normal scheduler).
pub async fn spawn_media_at(shards: usize, realtime_priority: u8) -> (MediaHandle, DropGuard) {
    let mut settings = super::test_settings().media;
    settings.shards = shards;
    settings.realtime_priority = realtime_priority;
    settings.udp_port = 0;
    settings.public_ip = "127.0.0.1".parse().expect("ip");
    let shutdown = CancellationToken::new();
    let handle = media::spawn(&settings, shutdown.clone())
        .await
        .expect("media loop");
    (handle, shutdown.drop_guard())
}

/// Media events as they come, kept until a test asks for them (so no event is lost while a test
/// waits for another).
pub struct Events {
    rx: broadcast::Receiver<MediaEvent>,
    seen: Vec<MediaEvent>,
}

impl Events {
    pub fn new(media: &MediaHandle) -> Self {
        Self {
            rx: media.subscribe(),
            seen: Vec::new(),
        }
    }

    /// The first event (oldest first) matching `pred`, taken out; panics with `what` after
    /// `timeout`.
    pub async fn wait(
        &mut self,
        what: &str,
        timeout: Duration,
        mut pred: impl FnMut(&MediaEvent) -> bool,
    ) -> MediaEvent {
        if let Some(i) = self.seen.iter().position(&mut pred) {
            return self.seen.remove(i);
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Ok(ev)) if pred(&ev) => return ev,
                Ok(Ok(ev)) => self.seen.push(ev),
                Ok(Err(broadcast::error::RecvError::Lagged(n))) => {
                    panic!("{what}: {n} media events lost")
                }
                Ok(Err(broadcast::error::RecvError::Closed)) => panic!("{what}: media loop gone"),
                Err(_) => panic!("{what}: no such media event within {timeout:?}"),
            }
        }
    }
}
