//! The HTTP listeners: HTTP/1.1 only, a deadline for every request's headers, a cap on
//! open connections, and graceful shutdown.
//!
//! HTTP/2 is not served: the server is meant to sit behind a TLS-terminating proxy, which
//! speaks HTTP/1.1 to it, and an HTTP/2 server needs limits of its own (streams per
//! connection, pings, resets) that plaintext `h2c` clients would exercise for no gain.

use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tengine_adapters_http::{ApiError, Edge};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

/// The transport limits of one listener.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long a client may take to send a request's headers, the first one included
    /// (slow or silent clients cannot pin connections); bodies are bounded by the request
    /// timeout.
    pub header_timeout: Duration,
    /// Open connections; past it, a new one is answered 503 and closed.
    pub max_connections: usize,
}

/// Refusals being written at once; past it, a connection over the cap is closed unanswered.
const MAX_REFUSALS: usize = 64;
/// How long writing a refusal, and waiting for the client to go, may take.
const REFUSAL_TIME: Duration = Duration::from_secs(1);

/// Serves HTTP/1.1 connections until `stop`, then lets in-flight requests finish.
/// (axum's `serve` cannot set hyper's header read timeout, hence this loop.)
///
/// A connection accepted once the application is ready is served by it directly; one
/// accepted before looks the application up per request, so it is served by the
/// application as soon as the database answers.
pub async fn accept_loop(
    listener: TcpListener,
    app: watch::Receiver<Option<Edge>>,
    mut stop: watch::Receiver<bool>,
    limits: Limits,
) {
    let starting = tengine_adapters_http::starting_router();
    let mut http = hyper::server::conn::http1::Builder::new();
    // hyper starts the header deadline as soon as it waits for a request, so a connection
    // that never sends a byte is closed too.
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_headers(tengine_adapters_http::edge::PARSER_MAX_HEADERS);
    let open = Arc::new(Semaphore::new(limits.max_connections.clamp(1, Semaphore::MAX_PERMITS)));
    let refusing = Arc::new(Semaphore::new(MAX_REFUSALS));
    let graceful = GracefulShutdown::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = async { let _ = stop.wait_for(|s| *s).await; } => break,
        };
        let Ok(permit) = Arc::clone(&open).try_acquire_owned() else {
            metrics::counter!("tengine_http_connections_refused_total").increment(1);
            if let Ok(slot) = Arc::clone(&refusing).try_acquire_owned() {
                tokio::spawn(async move {
                    refuse(stream).await;
                    drop(slot);
                });
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(stream);
        let ready = app.borrow().clone();
        match ready {
            Some(edge) => {
                let watched = graceful.watch(http.serve_connection(io, TowerToHyperService::new(edge)));
                tokio::spawn(async move {
                    let _ = watched.await;
                    drop(permit);
                });
            }
            None => {
                let (app, starting) = (app.clone(), starting.clone());
                let switch = tower::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let current = app.borrow().clone();
                    let starting = starting.clone();
                    async move {
                        match current {
                            Some(edge) => tower::ServiceExt::oneshot(edge, req).await,
                            None => tower::ServiceExt::oneshot(starting, req).await,
                        }
                    }
                });
                let watched = graceful.watch(http.serve_connection(io, TowerToHyperService::new(switch)));
                tokio::spawn(async move {
                    let _ = watched.await;
                    drop(permit);
                });
            }
        }
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Answers a connection over the cap with a 503 envelope and closes it. The answer goes
/// out at once, without waiting for a request that a silent client would never send.
async fn refuse(mut stream: TcpStream) {
    let answer = tengine_adapters_http::refusal::http1_bytes(
        ApiError::unavailable().detail("reason", "the server is at its connection limit"),
    )
    .await;
    let _ = tokio::time::timeout(REFUSAL_TIME, async move {
        stream.write_all(&answer).await?;
        stream.shutdown().await?;
        // Read what the client sends until it goes: closing with unread bytes would reset
        // the connection, and a reset can destroy the answer before the client reads it.
        let mut sink = [0_u8; 1024];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<(), std::io::Error>(())
    })
    .await;
}
