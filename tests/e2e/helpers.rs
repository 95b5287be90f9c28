//! `TestApp`: the real `tengine` binary on a fresh database, plus typed request helpers
//! that check what every response must carry (a request id, never a 5xx).

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use rand::distributions::{Alphanumeric, DistString};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
pub use tengine_domain::error::error_chain;
use tengine_domain::PlainApiKey;

/// Runs an `async fn case(backend: Backend)` once per storage backend, as
/// `case::postgres` and `case::sqlite`. Attributes (e.g. `#[ignore = "..."]`) apply to both.
macro_rules! both {
    ($($(#[$meta:meta])* $name:ident),* $(,)?) => {$(
        mod $name {
            $(#[$meta])*
            #[tokio::test]
            async fn postgres() {
                super::$name($crate::helpers::Backend::Postgres).await;
            }
            $(#[$meta])*
            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await;
            }
        }
    )*};
}

/// The server key of test servers on PostgreSQL (which requires one; every instance of a
/// database shares it). SQLite servers generate theirs into the data directory.
pub const TEST_SECRET_KEY: &str = "dGVuZ2luZSBlMmUgdGVzdCBrZXksIG5vdCBzZWNyZXQ=";

/// How long a server may take to answer `/readyz` after it was started.
const START_DEADLINE: Duration = Duration::from_secs(30);
/// How long a server may take to exit after SIGTERM.
const STOP_DEADLINE: Duration = Duration::from_secs(20);

/// The storage a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A fresh database on the PostgreSQL server of `TENGINE_TEST_PG_URL`.
    Postgres,
    /// A fresh `TENGINE_DATA_DIR` with `DATABASE_URL` unset.
    Sqlite,
}

/// How to start a [`TestApp`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Leave `TENGINE_BOOTSTRAP_KEY` unset, so the server generates the admin key.
    pub no_bootstrap_key: bool,
    /// Extra environment for the server (and the CLI).
    pub env: Vec<(String, String)>,
}

/// One HTTP response, read whole.
#[derive(Debug)]
pub struct Resp {
    /// The status code.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body as JSON (`Null` when empty).
    pub body: Value,
    /// The raw body text.
    pub text: String,
}

impl Resp {
    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: StatusCode) -> &Self {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text);
        self
    }

    /// Asserts an error response: status, `error.code`, the envelope's shape and that
    /// `error.request_id` equals the `X-Request-Id` header. Returns `error.details`.
    #[track_caller]
    pub fn error(&self, status: StatusCode, code: &str) -> &Value {
        self.expect(status);
        let error = &self.body["error"];
        assert_eq!(error["code"], code, "wrong error code; body: {}", self.text);
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "error without a message: {}", self.text);
        assert!(error["details"].is_object(), "error details must be an object: {}", self.text);
        assert_eq!(
            error["request_id"].as_str(),
            Some(self.request_id()),
            "request_id must equal X-Request-Id: {}",
            self.text
        );
        &error["details"]
    }

    /// The `X-Request-Id` header (every response has one).
    pub fn request_id(&self) -> &str {
        self.header("x-request-id").expect("every response carries X-Request-Id")
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A running `tengine serve` on its own database, killed (and its database dropped) on drop.
pub struct TestApp {
    client: reqwest::Client,
    base_url: String,
    admin_key: String,
    dir: PathBuf,
    pg: Option<PgDatabase>,
    options: Options,
    child: Option<Child>,
    generation: u32,
}

struct PgDatabase {
    admin_url: String,
    url: String,
    /// Whether this app made the database (and so drops it).
    owned: bool,
}

impl TestApp {
    /// Starts a server on a fresh, empty database with a known bootstrap admin key.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, Options::default()).await
    }

    /// Like [`TestApp::spawn`], with options.
    pub async fn spawn_with(backend: Backend, options: Options) -> Self {
        let dir = std::env::temp_dir().join(format!("tengine-e2e-{}", uuid::Uuid::new_v4().simple()));
        fs::create_dir_all(dir.join("data")).expect("create the test's temp dir");
        let pg = match backend {
            Backend::Postgres => {
                let admin_url = std::env::var("TENGINE_TEST_PG_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
                let url = tengine_adapters_postgres::testing::create_test_database(&admin_url).await;
                Some(PgDatabase { admin_url, url, owned: true })
            }
            Backend::Sqlite => None,
        };
        // The server closes a connection idle for its header timeout (10 s by default);
        // dropping idle ones sooner means none is reused just as the server closes it.
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_idle_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("build an HTTP client");
        let mut app = Self {
            client,
            base_url: String::new(),
            admin_key: random_key(),
            dir,
            pg,
            options,
            child: None,
            generation: 0,
        };
        app.start().await;
        app
    }

    /// Starts another server process on the same PostgreSQL database (scale-out).
    pub async fn spawn_sibling(&self) -> Self {
        self.spawn_sibling_with(Vec::new()).await
    }

    /// [`TestApp::spawn_sibling`] with `env` set on top of this instance's options.
    pub async fn spawn_sibling_with(&self, env: Vec<(String, String)>) -> Self {
        let pg = self.pg.as_ref().expect("only PostgreSQL is shared by several instances");
        let dir = std::env::temp_dir().join(format!("tengine-e2e-{}", uuid::Uuid::new_v4().simple()));
        fs::create_dir_all(dir.join("data")).expect("create the sibling's temp dir");
        let mut sibling = Self {
            client: self.client.clone(),
            base_url: String::new(),
            admin_key: self.admin_key.clone(),
            dir,
            pg: Some(PgDatabase { admin_url: pg.admin_url.clone(), url: pg.url.clone(), owned: false }),
            options: Options { env: [self.options.env.clone(), env].concat(), ..self.options.clone() },
            child: None,
            generation: 0,
        };
        sibling.start().await;
        sibling
    }

    /// The bootstrap admin key (account-wide, all permissions). Empty when the server
    /// generated it (see [`Options::no_bootstrap_key`]).
    pub fn admin_key(&self) -> &str {
        &self.admin_key
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// A clone of the HTTP client (for concurrent use).
    pub fn client(&self) -> reqwest::Client {
        self.client.clone()
    }

    /// Stops the server with SIGTERM, waits for it to exit, and starts it again on the
    /// same data. Returns how the first process exited.
    pub async fn restart(&mut self) -> ExitStatus {
        let status = self.stop().await;
        self.generation += 1;
        self.start().await;
        status
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub async fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("the server is running");
        let sent = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().expect("run kill");
        assert!(sent.success(), "could not send SIGTERM");
        let deadline = Instant::now() + STOP_DEADLINE;
        loop {
            if let Some(status) = child.try_wait().expect("wait for the server") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("the server did not stop within {STOP_DEADLINE:?} of SIGTERM");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts the server again after [`TestApp::stop`], on the same data.
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "the server is still running");
        self.generation += 1;
        self.start().await;
    }

    /// Runs one SQL statement on this app's database (`psql` for PostgreSQL, the
    /// `sqlite3` CLI for SQLite) and returns its rows, one per line, columns joined by `|`.
    /// For checks that have no HTTP route yet, and for setup the API cannot do.
    pub fn sql(&self, statement: &str) -> String {
        let mut cmd = match &self.pg {
            Some(pg) => {
                let mut cmd = Command::new("psql");
                cmd.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", &pg.url, "-c", statement]);
                cmd
            }
            None => {
                let mut cmd = Command::new("sqlite3");
                cmd.args(["-batch", "-cmd", ".timeout 5000"])
                    .arg(self.dir.join("data").join("tengine.db"))
                    .arg(statement);
                cmd
            }
        };
        let out = cmd.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("run {cmd:?} (is it installed?): {e}"));
        assert!(out.status.success(), "{statement} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Every byte the database holds: the SQLite files (database, WAL, shared memory) as
    /// they are on disk, or every row of every PostgreSQL table as text.
    pub fn raw_database(&self) -> Vec<u8> {
        if self.pg.is_none() {
            let data = self.dir.join("data");
            return ["tengine.db", "tengine.db-wal", "tengine.db-shm"]
                .iter()
                .flat_map(|f| fs::read(data.join(f)).unwrap_or_default())
                .collect();
        }
        let tables = self.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
        let mut all = Vec::new();
        for table in tables.lines() {
            all.extend(self.sql(&format!("SELECT t::text FROM \"{table}\" t")).into_bytes());
            all.push(b'\n');
        }
        all
    }

    /// The settings of the next start (see [`TestApp::start_again`]).
    pub fn options_mut(&mut self) -> &mut Options {
        &mut self.options
    }

    /// The data directory of a SQLite server.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Everything the server printed on stdout, over all its starts.
    pub fn stdout(&self) -> String {
        (0..=self.generation).map(|g| read(&self.log_path("stdout", g))).collect()
    }

    /// What the current server process printed on stdout.
    pub fn current_stdout(&self) -> String {
        read(&self.log_path("stdout", self.generation))
    }

    /// Everything the server wrote to stdout and stderr, over all its starts.
    pub fn logs(&self) -> String {
        let mut all = self.stdout();
        for g in 0..=self.generation {
            all.push_str(&read(&self.log_path("stderr", g)));
        }
        all
    }

    /// Runs the CLI (`tengine ARGS...`) against this server's database.
    pub async fn cli(&self, args: &[&str]) -> Output {
        let mut cmd = tokio::process::Command::new(binary());
        self.configure(cmd.as_std_mut());
        cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.output().await.expect("run the tengine CLI")
    }

    /// Runs the CLI with `env` set on top of the server's settings (an empty value unsets).
    pub async fn cli_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = tokio::process::Command::new(binary());
        self.configure(cmd.as_std_mut());
        cmd.envs(env.iter().copied()).args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.kill_on_drop(true).output().await.expect("run the tengine CLI")
    }

    /// Runs the CLI, asserts success, and parses the one JSON object it prints.
    pub async fn cli_json(&self, args: &[&str]) -> Value {
        let out = self.cli(args).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "tengine {args:?} failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("tengine {args:?} printed no JSON object ({e}): {stdout}"))
    }

    // ---- requests -----------------------------------------------------------------

    /// Sends any request. Checks the invariants of every response: an `X-Request-Id`
    /// header and no 5xx status; an error body is the JSON envelope.
    pub async fn send<H: AsRef<str>>(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, H)],
        body: Option<Vec<u8>>,
    ) -> Resp {
        let mut req = self.client.request(method.clone(), format!("{}{path}", self.base_url));
        for (name, value) in headers {
            req = req.header(*name, value.as_ref());
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        let res = req.send().await.unwrap_or_else(|e| panic!("{method} {path} failed: {}", error_chain(&e)));
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_else(|e| panic!("{method} {path}: reading the body failed: {e}"));
        let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::Null) };
        let resp = Resp { status, headers, body, text };
        assert!(!status.is_server_error(), "{method} {path} answered {status}: {}", resp.text);
        assert!(resp.header("x-request-id").is_some_and(|v| !v.is_empty()), "{method} {path} has no X-Request-Id");
        if status.is_client_error() {
            assert!(
                resp.body["error"]["code"].is_string(),
                "{method} {path} {status} without the error envelope: {}",
                resp.text
            );
        }
        resp
    }

    /// Sends `body` with `POST path` over a plain TCP connection (`Connection: close`),
    /// ignoring write errors, and reads whatever response arrives. For oversized bodies:
    /// the server may answer before reading the whole body, and reqwest drops such an
    /// early response when its own write then fails.
    pub async fn post_raw_tcp(&self, path: &str, key: &str, content_type: &str, body: &[u8]) -> Resp {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.base_url.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect to the server");
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        let _ = stream.write_all(&request).await;
        let mut raw = Vec::new();
        let mut buf = [0_u8; 16 * 1024];
        let read = async {
            // A reset after the response arrived is fine: keep what was read.
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                raw.extend_from_slice(&buf[..n]);
            }
        };
        tokio::time::timeout(Duration::from_secs(30), read)
            .await
            .expect("the server answers and closes the connection");
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body_text) =
            text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no HTTP response to POST {path}: {text:?}"));
        let mut lines = head.lines();
        let status_line = lines.next().unwrap_or_default();
        let code: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let mut headers = HeaderMap::new();
        for line in lines {
            if let Some((name, value)) = line.split_once(':') {
                if let (Ok(n), Ok(v)) =
                    (reqwest::header::HeaderName::from_bytes(name.trim().as_bytes()), value.trim().parse())
                {
                    headers.append(n, v);
                }
            }
        }
        let status = StatusCode::from_u16(code).expect("a valid status code");
        let body = serde_json::from_str(body_text).unwrap_or(Value::Null);
        let resp = Resp { status, headers, body, text: body_text.to_owned() };
        assert!(!status.is_server_error(), "POST {path} answered {status}: {}", resp.text);
        assert!(resp.header("x-request-id").is_some(), "POST {path} has no X-Request-Id");
        resp
    }

    /// `GET path` with `key` (none when empty).
    pub async fn get(&self, path: &str, key: &str) -> Resp {
        self.send(Method::GET, path, &auth(key), None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, key: &str, body: &Value) -> Resp {
        self.send(Method::POST, path, &json_auth(key), Some(body.to_string().into_bytes())).await
    }

    /// `PATCH path` with a JSON body.
    pub async fn patch_json(&self, path: &str, key: &str, body: &Value) -> Resp {
        self.send(Method::PATCH, path, &json_auth(key), Some(body.to_string().into_bytes())).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str, key: &str) -> Resp {
        self.send(Method::DELETE, path, &auth(key), None).await
    }

    /// `POST /api/v1/projects` with the admin key; asserts `expected`, returns the body.
    pub async fn create_project(&self, body: Value, expected: StatusCode) -> Value {
        self.create_project_as(&self.admin_key, body, expected).await
    }

    /// `POST /api/v1/projects` with `key`.
    pub async fn create_project_as(&self, key: &str, body: Value, expected: StatusCode) -> Value {
        let res = self.post_json("/api/v1/projects", key, &body).await;
        res.expect(expected);
        res.body
    }

    /// Creates a project named `name` and returns its id.
    pub async fn project(&self, name: &str) -> String {
        let p = self.create_project(json!({ "name": name }), StatusCode::CREATED).await;
        p["id"].as_str().expect("project id").to_owned()
    }

    /// `POST /api/v1/projects/{id}/api-keys` with the admin key; asserts `expected`.
    pub async fn create_key(&self, project_id: &str, body: Value, expected: StatusCode) -> Value {
        self.create_key_as(&self.admin_key, project_id, body, expected).await
    }

    /// `POST /api/v1/projects/{id}/api-keys` with `key`.
    pub async fn create_key_as(&self, key: &str, project_id: &str, body: Value, expected: StatusCode) -> Value {
        let res = self.post_json(&format!("/api/v1/projects/{project_id}/api-keys"), key, &body).await;
        res.expect(expected);
        res.body
    }

    /// Creates a project-scoped key with `permissions`; returns `(key id, secret)`.
    pub async fn key(&self, project_id: &str, permissions: &[&str]) -> (String, String) {
        let k = self
            .create_key(project_id, json!({"name": "test key", "permissions": permissions}), StatusCode::CREATED)
            .await;
        (k["id"].as_str().expect("key id").to_owned(), k["key"].as_str().expect("key secret").to_owned())
    }

    // ---- process ------------------------------------------------------------------

    fn log_path(&self, stream: &str, generation: u32) -> PathBuf {
        self.dir.join(format!("{stream}.{generation}.log"))
    }

    /// Database settings (and extra env) shared by the server and the CLI.
    fn configure(&self, cmd: &mut Command) {
        for (name, _) in std::env::vars_os() {
            if name.to_str().is_some_and(|n| n.starts_with("TENGINE_") || n == "DATABASE_URL") {
                cmd.env_remove(name);
            }
        }
        cmd.current_dir(&self.dir).env("TENGINE_LOG_FORMAT", "json").env("TENGINE_DATA_DIR", self.dir.join("data"));
        if let Some(pg) = &self.pg {
            cmd.env("DATABASE_URL", &pg.url);
        }
        if self.pg.is_some() || self.options.env.iter().any(|(k, _)| k == "DATABASE_URL") {
            cmd.env("TENGINE_SECRET_KEY", TEST_SECRET_KEY);
        }
        for (k, v) in &self.options.env {
            cmd.env(k, v);
        }
    }

    /// Starts the server on port 0 and reads the port it got from its stdout (no
    /// bind-drop-rebind race), then waits until it is ready.
    async fn start(&mut self) {
        let mut cmd = Command::new(binary());
        self.configure(&mut cmd);
        cmd.arg("serve")
            .env("TENGINE_LISTEN", "127.0.0.1:0")
            .env("TENGINE_SHUTDOWN_TIMEOUT_SECS", "5")
            .stdin(Stdio::null())
            .stdout(append(&self.log_path("stdout", self.generation)))
            .stderr(append(&self.log_path("stderr", self.generation)));
        if !self.options.no_bootstrap_key {
            cmd.env("TENGINE_BOOTSTRAP_KEY", &self.admin_key);
        }
        self.child = Some(cmd.spawn().expect("start the tengine binary"));
        let addr = self.wait_for_line(LISTENING).await;
        self.base_url = format!("http://{addr}");
        self.wait_until_ready().await;
    }

    /// The address of the `/metrics` listener (`TENGINE_METRICS_LISTEN`, port 0 is fine),
    /// as the current server printed it.
    pub fn metrics_addr(&self) -> Option<String> {
        listening(&self.current_stdout(), METRICS_LISTENING)
    }

    /// Polls the current stdout for `prefix ADDR` until it appears; panics when the
    /// process exits first or the start deadline passes.
    async fn wait_for_line(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if let Some(addr) = listening(&self.current_stdout(), prefix) {
                return addr;
            }
            self.assert_running();
            assert!(Instant::now() < deadline, "the server printed no {prefix:?} line within {START_DEADLINE:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Polls `/readyz` until it answers 200; panics when the process exits first.
    async fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + START_DEADLINE;
        let url = format!("{}/readyz", self.base_url);
        loop {
            self.assert_running();
            let probe = self.client.get(&url).timeout(Duration::from_millis(500)).send().await;
            if probe.is_ok_and(|res| res.status() == StatusCode::OK) {
                return;
            }
            assert!(Instant::now() < deadline, "the server did not become healthy within {START_DEADLINE:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn assert_running(&mut self) {
        let child = self.child.as_mut().expect("a started server");
        if let Some(status) = child.try_wait().expect("poll the server process") {
            self.child = None;
            let stderr = read(&self.log_path("stderr", self.generation));
            panic!("the server exited ({status}) while starting:\n{stderr}");
        }
    }
}

/// The line `tengine serve` prints on stdout once its API listener is bound.
pub const LISTENING: &str = "tengine: listening on ";
/// The line it prints for its `/metrics` listener.
pub const METRICS_LISTENING: &str = "tengine: metrics listening on ";

/// The address on the first complete `prefix ADDR` line of `stdout`.
fn listening(stdout: &str, prefix: &str) -> Option<String> {
    // Only whole lines: the file may be read while the line is being written.
    stdout
        .split_inclusive('\n')
        .filter(|l| l.ends_with('\n'))
        .find_map(|l| l.strip_prefix(prefix))
        .map(|a| a.trim().to_owned())
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(pg) = self.pg.take().filter(|pg| pg.owned) {
            // Drop runs inside the test's runtime, so the async cleanup gets its own.
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    rt.block_on(tengine_adapters_postgres::testing::drop_test_database(&pg.admin_url, &pg.url));
                }
            })
            .join();
        }
        if std::thread::panicking() {
            eprintln!("test server files kept in {}", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// The `tengine` binary: `TENGINE_BIN`, else next to this test's target directory.
pub fn binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("TENGINE_BIN") {
        return PathBuf::from(bin);
    }
    let name = format!("tengine{}", std::env::consts::EXE_SUFFIX);
    let mut candidates = Vec::new();
    // The test runs as <target>/<profile>/deps/e2e-<hash>.
    if let Some(profile_dir) = std::env::current_exe().ok().and_then(|e| e.parent()?.parent().map(Path::to_path_buf)) {
        candidates.push(profile_dir.join(&name));
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(target).join("debug").join(&name));
    }
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("the tengine binary was not found; build it first: cargo build -p tengine-app"))
}

/// A valid key string that no server knows (yet).
pub fn random_key() -> String {
    let random = Alphanumeric.sample_string(&mut rand::thread_rng(), 40);
    PlainApiKey::from_random(&random).expect("alphanumeric is base62").expose_secret().to_owned()
}

/// Asserts `id` is `prefix` + 22 base62 characters.
#[track_caller]
pub fn assert_id(id: &Value, prefix: &str) {
    let id = id.as_str().unwrap_or_else(|| panic!("id is not a string: {id}"));
    let rest = id.strip_prefix(prefix).unwrap_or_else(|| panic!("{id} does not start with {prefix}"));
    assert!(rest.len() == 22 && rest.bytes().all(|b| b.is_ascii_alphanumeric()), "malformed id {id}");
}

/// Asserts an RFC 3339 UTC timestamp with microseconds and `Z`; returns it parsed.
#[track_caller]
pub fn assert_timestamp(t: &Value) -> chrono::DateTime<chrono::Utc> {
    let s = t.as_str().unwrap_or_else(|| panic!("timestamp is not a string: {t}"));
    assert!(s.len() == 27 && s.ends_with('Z') && s.as_bytes()[19] == b'.', "not RFC 3339 UTC with microseconds: {s}");
    chrono::DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}")).with_timezone(&chrono::Utc)
}

/// An RFC 3339 timestamp `seconds` from now (negative for the past).
pub fn in_seconds(seconds: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(seconds)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Polls `check` every 100 ms until it returns true or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The ids of a list response's `data`, in order.
pub fn ids(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .expect("a list has data")
        .iter()
        .map(|i| i["id"].as_str().expect("an id").to_owned())
        .collect()
}

fn auth(key: &str) -> Vec<(&'static str, String)> {
    if key.is_empty() {
        Vec::new()
    } else {
        vec![("authorization", format!("Bearer {key}"))]
    }
}

fn json_auth(key: &str) -> Vec<(&'static str, String)> {
    let mut h = auth(key);
    h.push(("content-type", "application/json".to_owned()));
    h
}

fn append(path: &Path) -> File {
    OpenOptions::new().create(true).append(true).open(path).expect("open a log file")
}

fn read(path: &Path) -> String {
    fs::read(path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
}
