//! `Application::build` bound to port 0, served in-process: the library the binary, the
//! fuzz harness and tests share.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tengine_app::wiring::Backend;
use tengine_app::{Application, Config, ServeConfig, StoreConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

/// A fresh data directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("tengine-app-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create a temp dir");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn loopback_zero() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// `GET path` on a new connection; the status code and the body.
async fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer)).await.ok()?.ok()?;
    let status = answer.split(' ').nth(1)?.parse().ok()?;
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Some((status, body))
}

/// Polls `GET path` until it answers `status`, for at most 20 seconds.
async fn until(addr: SocketAddr, path: &str, status: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match get(addr, path).await {
            Some((s, body)) if s == status => return body,
            other => assert!(Instant::now() < deadline, "GET {path} never answered {status}; last: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_application_on_port_zero_reports_its_ports_serves_there_and_stops_on_the_signal() {
    let dir = TempDir::new();
    let config = Config {
        store: StoreConfig { data_dir: dir.0.clone(), ..StoreConfig::default() },
        serve: ServeConfig { listen: loopback_zero(), metrics_listen: Some(loopback_zero()), ..ServeConfig::default() },
    };
    let app = Application::build(config).await.expect("the application builds");
    let addr = app.local_addr();
    let metrics = app.metrics_addr().expect("a metrics listener");
    assert_ne!(app.port(), 0, "the actual port, not the requested 0");
    assert_eq!(addr.port(), app.port());
    assert_ne!(metrics.port(), 0);
    assert_ne!(metrics.port(), addr.port());

    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    assert!(until(addr, "/readyz", 200).await.contains("ready"));
    until(metrics, "/metrics", 200).await;
    assert_eq!(get(addr, "/metrics").await.map(|(s, _)| s), Some(404), "the main listener does not serve /metrics");

    let _ = stop.send(());
    let ended = tokio::time::timeout(Duration::from_secs(20), running).await.expect("it stops on the signal");
    ended.expect("the task ends cleanly").expect("run_until_stopped succeeds");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "nothing listens after the stop");
}

#[tokio::test]
async fn the_stop_signal_ends_an_application_still_waiting_for_its_database() {
    let dir = TempDir::new();
    let config = Config {
        store: StoreConfig {
            // Nothing listens on port 1: the server keeps retrying.
            database_url: Some("postgres://postgres@127.0.0.1:1/postgres".into()),
            data_dir: dir.0.clone(),
            secret_key: Some("dGVuZ2luZSBlMmUgdGVzdCBrZXksIG5vdCBzZWNyZXQ=".into()),
            ..StoreConfig::default()
        },
        serve: ServeConfig { listen: loopback_zero(), ..ServeConfig::default() },
    };
    let app = Application::build(config).await.expect("the application builds");
    let addr = app.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    assert!(until(addr, "/healthz", 200).await.contains("starting"));
    until(addr, "/readyz", 503).await;

    let _ = stop.send(());
    let ended = tokio::time::timeout(Duration::from_secs(20), running).await.expect("it stops on the signal");
    ended.expect("the task ends cleanly").expect("stopping while starting is not an error");
}

#[tokio::test]
async fn a_malformed_bootstrap_key_fails_the_build_before_anything_listens() {
    let dir = TempDir::new();
    let config = Config {
        store: StoreConfig { data_dir: dir.0.clone(), ..StoreConfig::default() },
        serve: ServeConfig {
            listen: loopback_zero(),
            bootstrap_key: Some("tng_not-a-key".into()),
            ..ServeConfig::default()
        },
    };
    let error = Application::build(config).await.err().expect("the build fails");
    assert!(error.to_string().contains("TENGINE_BOOTSTRAP_KEY"), "{error:#}");
}

#[tokio::test]
async fn every_backend_operation_goes_through_the_one_dispatch() {
    let dir = TempDir::new();
    let config = StoreConfig { data_dir: dir.0.clone(), ..StoreConfig::default() };
    let backend = Backend::open(&config, Duration::ZERO).await.expect("SQLite opens and migrates");
    assert_eq!(backend.describe(), "sqlite");
    assert!((backend.readiness())().await, "the store answers");
    assert!(backend.connections_in_use() >= 0.0);
    backend.delivery_notifier().await.expect("SQLite's notifier is in-process");
    assert!(backend.limiter().is_shared(), "limits are counted in the database");
}
