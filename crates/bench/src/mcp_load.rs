//! `cargo xtask bench mcp`: a loopback API that answers at once, and a load generator
//! that drives it directly and through Tengine's `/mcp` (`tools/call` in initialized
//! Streamable HTTP sessions) with the same HTTP client, so the two latency sets differ
//! only by what Tengine adds.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use axum::routing::any;
use axum::{Json, Router};
use serde_json::{json, Value};

/// Serves `{"ok": true, ...}` to any request at once.
pub async fn echo_api(listen: SocketAddr) -> anyhow::Result<()> {
    let app = Router::new().fallback(any(|| async { Json(json!({"ok": true, "contact": {"name": "Ada"}})) }));
    let listener = tokio::net::TcpListener::bind(listen).await.context("bind the echo API")?;
    println!("tengine-bench: listening on {}", listener.local_addr().context("local address")?);
    axum::serve(listener, app).await.context("serve the echo API")
}

/// What one run measured.
struct Run {
    latencies_us: Vec<u64>,
    errors: u64,
    seconds: f64,
}

impl Run {
    fn summary(mut self) -> Value {
        self.latencies_us.sort_unstable();
        let at = |q: f64| {
            let i = ((self.latencies_us.len() as f64 - 1.0) * q).round() as usize;
            self.latencies_us.get(i).copied().unwrap_or(0) as f64 / 1_000.0
        };
        json!({
            "calls": self.latencies_us.len(),
            "errors": self.errors,
            "calls_per_sec": (self.latencies_us.len() as f64 / self.seconds * 10.0).round() / 10.0,
            "p50_ms": at(0.50),
            "p99_ms": at(0.99),
        })
    }
}

const ACCEPT: &str = "application/json, text/event-stream";

async fn open_session(client: &reqwest::Client, url: &str, key: &str, project: &str) -> anyhow::Result<String> {
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}});
    let res = client
        .post(url)
        .bearer_auth(key)
        .header("accept", ACCEPT)
        .header("x-tengine-project-id", project)
        .json(&init)
        .send()
        .await?;
    let status = res.status();
    let session = res.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let _ = res.bytes().await?;
    let session = session.with_context(|| format!("no Mcp-Session-Id (initialize answered {status})"))?;
    let done = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let res = client
        .post(url)
        .bearer_auth(key)
        .header("accept", ACCEPT)
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-06-18")
        .header("x-tengine-project-id", project)
        .json(&done)
        .send()
        .await?;
    let _ = res.bytes().await?;
    Ok(session)
}

/// `connections` sessions calling `tool` through `mcp_url` for `seconds`.
async fn through_mcp(
    mcp_url: &str,
    key: &str,
    project: &str,
    tool: &str,
    connections: usize,
    seconds: u64,
) -> anyhow::Result<Run> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(connections).build()?;
    let mut sessions = Vec::with_capacity(connections);
    for _ in 0..connections {
        sessions.push(open_session(&client, mcp_url, key, project).await?);
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for session in sessions {
        let (client, url, key, tool) = (client.clone(), mcp_url.to_owned(), key.to_owned(), tool.to_owned());
        let project = project.to_owned();
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors, mut id) = (Vec::new(), 0u64, 1u64);
            while Instant::now() < deadline {
                id += 1;
                let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                                  "params": {"name": tool, "arguments": {"q": "x"}}});
                let t = Instant::now();
                let res = client
                    .post(&url)
                    .bearer_auth(&key)
                    .header("accept", ACCEPT)
                    .header("mcp-session-id", &session)
                    .header("mcp-protocol-version", "2025-06-18")
                    .header("x-tengine-project-id", &project)
                    .json(&call)
                    .send()
                    .await;
                let ok = match res {
                    Ok(r) if r.status().is_success() => r.bytes().await.is_ok_and(|b| {
                        let text = String::from_utf8_lossy(&b);
                        text.contains("\"result\"") && !text.contains("\"isError\":true")
                    }),
                    _ => false,
                };
                lat.push(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
                if !ok {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    collect(tasks, started).await
}

/// `connections` loops calling the API directly, as Tengine's tool call does (POST JSON).
async fn direct(api_url: &str, connections: usize, seconds: u64) -> anyhow::Result<Run> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(connections).build()?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let body = Arc::new(json!({"q": "x"}));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (client, url, body) = (client.clone(), api_url.to_owned(), body.clone());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), 0u64);
            while Instant::now() < deadline {
                let t = Instant::now();
                let ok = match client.post(&url).json(&*body).send().await {
                    Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                    _ => false,
                };
                lat.push(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
                if !ok {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    collect(tasks, started).await
}

async fn collect(tasks: Vec<tokio::task::JoinHandle<(Vec<u64>, u64)>>, started: Instant) -> anyhow::Result<Run> {
    let mut run = Run { latencies_us: Vec::new(), errors: 0, seconds: 0.0 };
    for t in tasks {
        let (lat, errors) = t.await?;
        run.latencies_us.extend(lat);
        run.errors += errors;
    }
    run.seconds = started.elapsed().as_secs_f64();
    if run.latencies_us.is_empty() {
        bail!("no call finished");
    }
    Ok(run)
}

/// Runs the direct baseline and the MCP load `rounds` times each, alternating, and prints
/// one JSON object with both summaries per round.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    mcp_url: &str,
    api_url: &str,
    key: &str,
    project: &str,
    tool: &str,
    connections: usize,
    seconds: u64,
    rounds: usize,
) -> anyhow::Result<()> {
    let mut out = Vec::new();
    for _ in 0..rounds {
        let d = direct(api_url, connections, seconds).await?.summary();
        let m = through_mcp(mcp_url, key, project, tool, connections, seconds).await?.summary();
        out.push(json!({"direct": d, "mcp": m}));
    }
    println!("{}", Value::Array(out));
    Ok(())
}
