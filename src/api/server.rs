//! The HTTP listener: hyper's HTTP/1.1 server (WebSocket upgrades included) on an accept loop of
//! our own, so that every connection is admitted before anything is read from it. A client
//! address holding `limits.connections_per_address` connections, or a node holding
//! `limits.connections`, gets one short JSON error (429 or 503) and the connection is closed; a
//! client that has not sent its request headers within `limits.header_read_timeout_s` is cut
//! off (hyper's header-read timer). On shutdown the listener closes and open requests finish
//! (hyper's graceful shutdown), for at most `SHUTDOWN_GRACE`. With certificates (`tls.rs`) each
//! admitted connection first completes a TLS handshake, within the same header-read time; a
//! client speaking plain HTTP to that port (its first byte is not a TLS handshake record's) is
//! answered 308 to the same URL on `https://`, as people who type the address without the
//! scheme expect, and nothing else is served to it.

use super::admission::{Full, Occupancy};
use super::tls::Certificates;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// How long requests in flight get to finish once the listener has closed.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Time given to a refused connection to take its error response.
const REFUSAL_WRITE: Duration = Duration::from_secs(1);

/// Serves `app` on `listener` (over TLS with `tls`) until `shutdown` completes.
pub async fn run(
    listener: TcpListener,
    app: Router,
    connections: Arc<Occupancy>,
    header_read_timeout: Duration,
    tls: Option<Arc<Certificates>>,
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
                match &tls {
                    None => drop(tokio::spawn(refuse(stream, full))),
                    Some(tls) => {
                        let acceptor = tls.acceptor();
                        tokio::spawn(async move {
                            match speaks_tls(&stream, Instant::now() + REFUSAL_WRITE).await {
                                Some(true) => {}
                                Some(false) => return refuse(stream, full).await,
                                None => return,
                            }
                            let shake = acceptor.accept(stream);
                            if let Ok(Ok(stream)) = tokio::time::timeout(REFUSAL_WRITE, shake).await
                            {
                                refuse(stream, full).await;
                            }
                        });
                    }
                }
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
        let closing = closing.clone();
        let http = http.clone();
        let acceptor = tls.as_ref().map(|t| t.acceptor());
        open.spawn(async move {
            match acceptor {
                None => serve_connection(&http, stream, svc, closing, peer).await,
                Some(acceptor) => {
                    // No request in flight yet: shutdown drops a connection still shaking hands.
                    let deadline = Instant::now() + header_read_timeout;
                    let first = tokio::select! {
                        first = speaks_tls(&stream, deadline) => first,
                        () = closing.cancelled() => return drop(slot),
                    };
                    match first {
                        Some(true) => {}
                        Some(false) => {
                            let redirect = tower::service_fn(|req| async move {
                                Ok::<_, std::convert::Infallible>(to_https(&req))
                            });
                            serve_connection(&http, stream, redirect, closing, peer).await;
                            return drop(slot);
                        }
                        None => return drop(slot),
                    }
                    let shake = tokio::time::timeout_at(deadline, acceptor.accept(stream));
                    let shaken = tokio::select! {
                        shaken = shake => shaken,
                        () = closing.cancelled() => return drop(slot),
                    };
                    match shaken {
                        Ok(Ok(stream)) => serve_connection(&http, stream, svc, closing, peer).await,
                        Ok(Err(e)) => {
                            tracing::debug!(peer = %peer, error = %e, "TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(peer = %peer, "TLS handshake timed out"),
                    }
                }
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

/// Serves HTTP/1.1 (and WebSocket upgrades) on one admitted connection until it ends, or
/// finishes its request in flight once `closing` is cancelled.
async fn serve_connection<S, A>(
    http: &hyper::server::conn::http1::Builder,
    stream: S,
    svc: A,
    closing: CancellationToken,
    peer: std::net::SocketAddr,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    A: tower::Service<hyper::Request<Incoming>, Response = axum::response::Response>
        + Clone
        + Send
        + 'static,
    A::Future: Send + 'static,
    A::Error: std::error::Error + Send + Sync + 'static,
{
    let conn = http
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc))
        .with_upgrades();
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
}

/// The first byte of every TLS connection: a handshake record's content type.
const TLS_HANDSHAKE: u8 = 0x16;

/// Whether the client's first byte opens a TLS handshake (`Some(false)`: it speaks something
/// else, plain HTTP), without taking it off the stream; `None` if it closed or sent nothing by
/// `deadline`.
async fn speaks_tls(stream: &TcpStream, deadline: Instant) -> Option<bool> {
    let mut first = [0u8; 1];
    match tokio::time::timeout_at(deadline, stream.peek(&mut first)).await {
        Ok(Ok(1)) => Some(first[0] == TLS_HANDSHAKE),
        _ => None,
    }
}

/// The answer to plain HTTP on the TLS port: 308 to the same host, port and path on `https://`
/// (308 keeps the method and body, so a POST is not turned into a GET). A request without a
/// usable `Host` gets a JSON 400.
fn to_https<B>(req: &hyper::Request<B>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let host = req
        .headers()
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<hyper::http::uri::Authority>().ok())
        .filter(|a| !a.as_str().contains('@'));
    let Some(host) = host else {
        return super::error::ApiError::bad_request(
            "this port speaks HTTPS: use https:// (no valid Host header to redirect to)",
        )
        .into_response();
    };
    let path = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let location = format!("https://{host}{path}");
    let mut response = (
        hyper::StatusCode::PERMANENT_REDIRECT,
        [(hyper::header::LOCATION, location)],
        "this port speaks HTTPS\n",
    )
        .into_response();
    response.headers_mut().insert(
        hyper::header::CONNECTION,
        hyper::header::HeaderValue::from_static("close"),
    );
    response
}

/// Writes one short error response on a connection that was not admitted, and closes it.
async fn refuse<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, full: Full) {
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
