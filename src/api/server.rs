//! The HTTP listener: hyper's HTTP/1.1 server (WebSocket upgrades included) on an accept loop of
//! our own, so that every connection is admitted before anything is read from it. A client
//! address holding `limits.connections_per_address` connections, or a node holding
//! `limits.connections`, gets one short JSON error (429 or 503) and the connection is closed; a
//! client that has not sent its request headers within `limits.header_read_timeout_s` is cut
//! off (hyper's header-read timer). On shutdown the listener closes and open requests finish
//! (hyper's graceful shutdown), for at most `SHUTDOWN_GRACE`.

use super::admission::{Full, Occupancy};
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// How long requests in flight get to finish once the listener has closed.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Time given to a refused connection to take its error response.
const REFUSAL_WRITE: Duration = Duration::from_secs(1);

/// Serves `app` on `listener` until `shutdown` completes.
pub async fn run(
    listener: TcpListener,
    app: Router,
    connections: Arc<Occupancy>,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    // Closing: each open connection finishes the request it serves, then closes.
    let closing = CancellationToken::new();
    let open = TaskTracker::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let slot = match connections.enter(peer.ip()) {
            Ok(slot) => slot,
            Err(full) => {
                tracing::debug!(peer = %peer, ?full, "connection refused: cap reached");
                tokio::spawn(refuse(stream, full));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let svc = app
            .clone()
            .map_request(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            });
        let conn = http
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc))
            .with_upgrades();
        let closing = closing.clone();
        open.spawn(async move {
            tokio::pin!(conn);
            let ended = tokio::select! {
                ended = conn.as_mut() => ended,
                () = closing.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(peer = %peer, error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    closing.cancel();
    open.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, open.wait())
        .await
        .is_err()
    {
        tracing::warn!("requests still open {SHUTDOWN_GRACE:?} after the listener closed");
    }
}

/// Writes one short error response on a connection that was not admitted, and closes it.
async fn refuse(mut stream: TcpStream, full: Full) {
    let (status, code, message) = match full {
        Full::Address => (
            "429 Too Many Requests",
            "too_many_connections",
            "too many open connections from your address; close some and try again",
        ),
        Full::Node => (
            "503 Service Unavailable",
            "busy",
            "the server has too many open connections; try again shortly",
        ),
    };
    let body = serde_json::json!({ "error": { "code": code, "message": message } }).to_string();
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         retry-after: 5\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(REFUSAL_WRITE, async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await?;
        // Take what the client already sent, so closing does not reset the connection before
        // it has read the response.
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}
