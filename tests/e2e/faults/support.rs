//! Tools for the fault tests: a private PostgreSQL cluster that a test may stop and
//! start (the shared one on 5432 is never touched), a loopback webhook receiver, and
//! a timed record of every request a load client made.

use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::helpers::{error_chain, TestApp};

/// Where the PostgreSQL 15 server binaries live (Debian's layout).
const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A throwaway PostgreSQL cluster in a temp directory, on its own port. Stopped
/// (immediately) and deleted on drop.
pub struct PrivatePostgres {
    dir: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    /// Creates the cluster (`initdb`, trust authentication) and starts it.
    pub async fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("tengine-faults-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create the cluster's directory");
        if running_as_root() {
            // initdb refuses to run as root: the cluster belongs to the postgres user.
            run(Command::new("chown").arg("postgres:postgres").arg(&dir));
        }
        let pg = Self { dir, port: free_port() };
        let initdb = format!("{PG_BIN}/initdb");
        let mut cmd = pg.as_owner(&initdb);
        cmd.arg("-D").arg(&pg.dir).args(["-A", "trust", "-U", "postgres", "--no-sync", "--locale=C", "-E", "UTF8"]);
        tokio::task::spawn_blocking(move || run(&mut cmd)).await.expect("initdb task");
        pg.start_again().await;
        pg
    }

    /// The URL a server connects with.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the (stopped) cluster on the same port and waits until it accepts connections.
    pub async fn start_again(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50",
            self.port,
            self.dir.display()
        );
        let mut cmd = self.pg_ctl();
        cmd.arg("-o").arg(options).arg("-l").arg(self.dir.join("log")).args(["-w", "-t", "30", "start"]);
        tokio::task::spawn_blocking(move || run(&mut cmd)).await.expect("pg_ctl start task");
    }

    /// Stops the cluster (`-m fast`: open sessions are terminated) and waits until it is down.
    pub async fn stop(&self) {
        let mut cmd = self.pg_ctl();
        cmd.args(["-m", "fast", "-w", "-t", "30", "stop"]);
        tokio::task::spawn_blocking(move || run(&mut cmd)).await.expect("pg_ctl stop task");
    }

    fn pg_ctl(&self) -> Command {
        let mut cmd = self.as_owner(&format!("{PG_BIN}/pg_ctl"));
        cmd.arg("-D").arg(&self.dir);
        cmd
    }

    fn as_owner(&self, program: &str) -> Command {
        let mut cmd = if running_as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", program]);
            c
        } else {
            Command::new(program)
        };
        cmd.current_dir(&self.dir).stdin(Stdio::null());
        cmd
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self.pg_ctl().args(["-m", "immediate", "-w", "stop"]).output();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A port nobody listens on right now. Only for the private PostgreSQL cluster: it
/// cannot be started on port 0 and report its port (servers of ours listen on port 0).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

/// One webhook delivery attempt as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    /// `X-Tengine-Delivery-Id`.
    pub delivery_id: String,
    /// `webhook-id` (the event id, the same on every retry).
    pub event_id: String,
    /// The parsed envelope.
    pub body: Value,
    /// When it arrived.
    pub at: Instant,
}

/// A loopback HTTP server that answers 200 to every POST and keeps what it got.
pub struct WebhookReceiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl WebhookReceiver {
    /// Binds 127.0.0.1:0 and starts serving.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the receiver");
        let url = format!("http://{}/hook", listener.local_addr().expect("receiver address"));
        let got = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(got.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, got, task }
    }

    /// The URL to subscribe.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Everything received so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.got.lock().expect("receiver lock").clone()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(State(got): State<Arc<Mutex<Vec<Received>>>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let received = Received {
        delivery_id: header("x-tengine-delivery-id"),
        event_id: header("webhook-id"),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        at: Instant::now(),
    };
    got.lock().expect("receiver lock").push(received);
    StatusCode::OK
}

/// How one request ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A whole response arrived.
    Answered {
        /// The status code.
        status: u16,
        /// `Retry-After`, if any.
        retry_after: Option<String>,
        /// `X-Request-Id`, if any.
        request_id: Option<String>,
        /// `Idempotent-Replayed`, if any.
        replayed: Option<String>,
        /// The body text.
        text: String,
    },
    /// The status line arrived but the body did not (a truncated response).
    Truncated {
        /// The status code.
        status: u16,
        /// The transport error.
        error: String,
    },
    /// No response: `connect` is true when the connection was refused.
    Failed {
        /// The connection itself failed (nobody listening).
        connect: bool,
        /// The transport error, with its sources.
        error: String,
    },
}

/// One request of a load client, timed from the test's start.
#[derive(Debug, Clone)]
pub struct Call {
    /// Which client sent it.
    pub client: usize,
    /// `GET`, `PATCH`, ... plus whatever the test needs to tell calls apart.
    pub label: String,
    /// When it was sent.
    pub sent: Duration,
    /// When it ended.
    pub done: Duration,
    /// How it ended.
    pub outcome: Outcome,
}

impl Call {
    /// The status, when a whole response arrived.
    pub fn status(&self) -> Option<u16> {
        match &self.outcome {
            Outcome::Answered { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the request was in flight at some point of `[from, to]`.
    pub fn overlaps(&self, from: Duration, to: Duration) -> bool {
        self.done >= from && self.sent <= to
    }
}

/// Sends `req` and records how it ended, timed from `t0`.
pub async fn timed(req: reqwest::RequestBuilder, t0: Instant, client: usize, label: String) -> Call {
    let sent = t0.elapsed();
    let outcome = match req.send().await {
        Ok(res) => {
            let status = res.status().as_u16();
            let header = |n: &str| res.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let (retry_after, request_id, replayed) =
                (header("retry-after"), header("x-request-id"), header("idempotent-replayed"));
            match res.text().await {
                Ok(text) => Outcome::Answered { status, retry_after, request_id, replayed, text },
                Err(e) => Outcome::Truncated { status, error: error_chain(&e) },
            }
        }
        Err(e) => Outcome::Failed { connect: e.is_connect(), error: error_chain(&e) },
    };
    Call { client, label, sent, done: t0.elapsed(), outcome }
}

/// Checks a `503 SERVICE_UNAVAILABLE`: a positive integer `Retry-After` and the full
/// error envelope. Returns what is wrong with it, if anything.
pub fn unavailable_problem(call: &Call) -> Option<String> {
    let Outcome::Answered { status: 503, retry_after, request_id, text, .. } = &call.outcome else {
        return Some(format!("not a whole 503: {:?}", call.outcome));
    };
    let seconds = retry_after.as_deref().and_then(|r| r.parse::<u64>().ok());
    if seconds.unwrap_or(0) == 0 {
        return Some(format!("503 without a valid Retry-After ({retry_after:?})"));
    }
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let error = &body["error"];
    let envelope_ok = error["code"] == "SERVICE_UNAVAILABLE"
        && error["message"].as_str().is_some_and(|m| !m.is_empty())
        && error["details"].is_object()
        && request_id.is_some()
        && error["request_id"].as_str() == request_id.as_deref();
    (!envelope_ok).then(|| format!("503 without the error envelope: {text}"))
}

/// Counts how often each value occurs, sorted, for reports.
pub fn tally<T: Ord + Clone>(items: impl IntoIterator<Item = T>) -> Vec<(T, usize)> {
    let mut map = std::collections::BTreeMap::new();
    for item in items {
        *map.entry(item).or_insert(0) += 1;
    }
    map.into_iter().collect()
}

/// Milliseconds, for reports.
pub fn ms(d: Duration) -> u128 {
    d.as_millis()
}

/// The analytics totals of one key over the hours around now, read with the admin key
/// (whose own requests the `api_key_id` filter leaves out).
pub async fn key_totals(app: &TestApp, project: &str, key_id: &str) -> Value {
    let hour = |h: i64| (chrono::Utc::now() + chrono::Duration::hours(h)).format("%Y-%m-%dT%H:00:00Z").to_string();
    let query = format!("granularity=hour&start_date={}&end_date={}&api_key_id={key_id}", hour(-2), hour(2));
    let res = app.get(&format!("/api/v1/projects/{project}/analytics?{query}"), app.admin_key()).await;
    res.expect(StatusCode::OK);
    res.body["totals"].clone()
}
