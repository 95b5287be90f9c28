//! A real webhook receiver for the tests: an HTTP server on `127.0.0.1` that records
//! every request (headers and raw body, on arrival) and answers a programmable status,
//! optionally after a delay. It can be stopped (port closed) and started again on the
//! same port.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// One request as the receiver saw it.
#[derive(Debug)]
pub struct Received {
    /// The request method.
    pub method: String,
    /// The request path.
    pub path: String,
    /// Every header.
    pub headers: HeaderMap,
    /// The raw body, byte for byte.
    pub body: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
}

impl Received {
    /// A header as text; panics when it is missing.
    #[track_caller]
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("the delivery has no {name} header: {:?}", self.headers))
    }

    /// The body parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("the delivery body is not JSON ({e}): {}", self.text()))
    }

    /// The body as (lossy) text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// `X-Tengine-Delivery-Id`.
    pub fn delivery_id(&self) -> &str {
        self.header("x-tengine-delivery-id")
    }

    /// `X-Tengine-Event-Type`.
    pub fn event_type(&self) -> &str {
        self.header("x-tengine-event-type")
    }
}

#[derive(Default)]
struct Shared {
    log: Mutex<Vec<Arc<Received>>>,
    /// Statuses for the next requests, in order; `status` afterwards.
    script: Mutex<VecDeque<u16>>,
    status: AtomicU16,
    delay_ms: AtomicU64,
}

/// A running (or stopped) receiver. Its log survives stops and restarts.
pub struct Receiver {
    port: u16,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Starts a receiver on a fresh port that answers 200.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the receiver");
        let port = listener.local_addr().expect("receiver address").port();
        let shared = Arc::new(Shared { status: AtomicU16::new(200), ..Shared::default() });
        let mut receiver = Self { port, shared, stop: None, task: None };
        receiver.serve(listener);
        receiver
    }

    /// Starts `n` receivers.
    pub async fn start_many(n: usize) -> Vec<Self> {
        let mut all = Vec::with_capacity(n);
        for _ in 0..n {
            all.push(Self::start().await);
        }
        all
    }

    /// `http://127.0.0.1:PORT/hook`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// The port it listens on (kept across restarts).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Answers `status` from now on (after any scripted answers).
    pub fn answer(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    /// Answers the next requests with `statuses`, in order, then the default status.
    pub fn answer_next(&self, statuses: &[u16]) {
        lock(&self.shared.script).extend(statuses.iter().copied());
    }

    /// Waits `delay` before answering each request (it is logged on arrival).
    pub fn delay(&self, delay: Duration) {
        self.shared.delay_ms.store(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), Ordering::SeqCst);
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Arc<Received>> {
        lock(&self.shared.log).clone()
    }

    /// How many requests arrived so far.
    pub fn count(&self) -> usize {
        lock(&self.shared.log).len()
    }

    /// How many times each `X-Tengine-Delivery-Id` arrived.
    pub fn delivery_counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for r in lock(&self.shared.log).iter() {
            let id = r.headers.get("x-tengine-delivery-id").and_then(|v| v.to_str().ok()).unwrap_or("(none)");
            *counts.entry(id.to_owned()).or_insert(0) += 1;
        }
        counts
    }

    /// Polls until `done` holds for the requests so far; panics after `timeout` saying
    /// `what` was awaited and showing what arrived.
    pub async fn wait_until<F>(&self, timeout: Duration, what: &str, mut done: F) -> Vec<Arc<Received>>
    where
        F: FnMut(&[Arc<Received>]) -> bool,
    {
        let deadline = Instant::now() + timeout;
        loop {
            let seen = self.requests();
            if done(&seen) {
                return seen;
            }
            if Instant::now() > deadline {
                let summary: Vec<String> =
                    seen.iter().map(|r| format!("{} {}", header_or(r, "x-tengine-event-type"), r.text())).collect();
                panic!("within {timeout:?}: {what}; {} requests arrived at {}: {summary:#?}", seen.len(), self.url());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until at least `n` requests arrived; returns them all.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Arc<Received>> {
        self.wait_until(timeout, &format!("expected at least {n} requests"), |seen| seen.len() >= n).await
    }

    /// Closes the port: stops accepting, closes idle keep-alive connections, and waits
    /// for requests in flight to be answered.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("the receiver closes its connections")
                .expect("the receiver task ends cleanly");
        }
    }

    /// Starts listening again on the same port.
    pub async fn restart(&mut self) {
        assert!(self.task.is_none(), "the receiver is still running");
        let addr = format!("127.0.0.1:{}", self.port);
        let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind the receiver's port again");
        self.serve(listener);
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let (tx, rx) = oneshot::channel::<()>();
        let app = Router::new().fallback(record).with_state(self.shared.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await
                .expect("the receiver serves");
        });
        self.stop = Some(tx);
        self.task = Some(task);
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn record(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 4 * 1024 * 1024).await.map(|b| b.to_vec()).unwrap_or_default();
    lock(&shared.log).push(Arc::new(Received {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        headers: parts.headers,
        body,
        at: Instant::now(),
    }));
    let scripted = lock(&shared.script).pop_front();
    let status = scripted.unwrap_or_else(|| shared.status.load(Ordering::SeqCst));
    let delay = shared.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, format!("receiver answered {}", status.as_u16())).into_response()
}

fn header_or<'a>(r: &'a Received, name: &str) -> &'a str {
    r.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("(none)")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
