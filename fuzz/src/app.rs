//! The real application in-process, wired by `tengine_app::wiring` as `tengine serve`
//! wires it: the router over the embedded SQLite store in a temporary directory, with
//! the bootstrap admin key; plus a project, a key, a webhook and a delivery to aim at.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use serde_json::Value;
use tengine_adapters_http::Edge;
use tengine_app::wiring::{self, Backend};
use tengine_app::{secret_key, StoreConfig};
use tower::ServiceExt;

/// The bootstrap admin key (account-wide, every permission, no rate limit).
pub const ADMIN_KEY: &str = "tng_00000000000000000000000000000000000000002XzGTS";

/// One answer.
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Ids of resources that exist, for the paths.
#[derive(Debug, Clone)]
pub struct Fixtures {
    /// A project.
    pub project: String,
    /// A project-scoped key of it.
    pub api_key: String,
    /// A webhook of it.
    pub webhook: String,
    /// A delivery of that webhook.
    pub delivery: String,
}

/// The application and its runtime; the data directory is removed on drop.
pub struct App {
    runtime: tokio::runtime::Runtime,
    router: Edge,
    dir: PathBuf,
    /// Resources to aim at.
    pub fixtures: Fixtures,
    /// The OpenAPI document the router serves.
    pub doc: Value,
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn field(reply: &Reply, what: &str) -> String {
    let json = reply.json();
    let id = json["id"].as_str().or_else(|| json["data"][0]["id"].as_str());
    id.unwrap_or_else(|| panic!("creating {what} failed: {} {}", reply.status, String::from_utf8_lossy(&reply.body)))
        .to_owned()
}

impl App {
    /// Opens a fresh store, bootstraps it and creates the fixtures.
    ///
    /// # Panics
    /// When any of that fails.
    pub fn start() -> Self {
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime starts");
        let dir = std::env::temp_dir().join(format!("tengine-fuzz-{}-{}", std::process::id(), uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("the data directory is created");
        let router = runtime.block_on(async {
            // No database URL: the embedded SQLite file and a generated server key in `dir`.
            let store = StoreConfig { data_dir: dir.clone(), ..StoreConfig::default() };
            let backend = Backend::open(&store, Duration::ZERO).await.expect("SQLite opens and migrates");
            let keyring = secret_key::load(&store).expect("a server key is generated");
            let tools = wiring::tool_caller(false).expect("the tool-call client builds");
            let serve = tengine_app::ServeConfig::default();
            let wired = wiring::wire(&backend, Arc::new(keyring), tools, &serve, None, Arc::new(String::new));
            let admin = ADMIN_KEY.parse().expect("the admin key is valid");
            wired.tengine.bootstrap(Some(admin)).await.expect("bootstrap");
            tengine_adapters_http::router(wired.state)
        });
        let doc = serde_json::from_str(tengine_adapters_http::openapi::json()).expect("the document is JSON");
        let placeholder = Fixtures {
            project: String::new(),
            api_key: String::new(),
            webhook: String::new(),
            delivery: String::new(),
        };
        let mut app = Self { runtime, router, dir, fixtures: placeholder, doc };
        let post = |app: &Self, path: &str, body: &str| {
            app.send(Method::POST, path, Some("application/json"), &[], body.as_bytes().to_vec())
        };
        let project = field(&post(&app, "/api/v1/projects", r#"{"name": "fuzz"}"#), "a project");
        let base = format!("/api/v1/projects/{project}");
        let api_key =
            field(&post(&app, &format!("{base}/api-keys"), r#"{"name": "fuzz", "permissions": ["read"]}"#), "a key");
        let hook = r#"{"url": "https://example.com/hook", "events": ["*"]}"#;
        let webhook = field(&post(&app, &format!("{base}/webhooks"), hook), "a webhook");
        let test = post(&app, &format!("{base}/webhooks/{webhook}/test"), "");
        assert_eq!(test.status, StatusCode::ACCEPTED, "{}", String::from_utf8_lossy(&test.body));
        let list = app.send(Method::GET, &format!("{base}/webhooks/{webhook}/deliveries"), None, &[], Vec::new());
        let delivery = field(&list, "a delivery");
        app.fixtures = Fixtures { project, api_key, webhook, delivery };
        app
    }

    /// Sends one request with the admin key.
    ///
    /// # Panics
    /// When the request cannot be built (an invalid header is the caller's bug) or the
    /// router fails to answer (it is infallible).
    pub fn send(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Reply {
        let mut req =
            Request::builder().method(method).uri(path).header("authorization", format!("Bearer {ADMIN_KEY}"));
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let req = req.body(Body::from(body)).expect("a valid request");
        self.runtime.block_on(async {
            let res = self.router.clone().oneshot(req).await.expect("the router is infallible");
            let (parts, body) = res.into_parts();
            let body = to_bytes(body, usize::MAX).await.expect("the body is readable").to_vec();
            Reply { status: parts.status, headers: parts.headers, body }
        })
    }
}
