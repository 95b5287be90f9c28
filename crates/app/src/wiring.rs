//! Opens the configured store and assembles the use cases and the HTTP state: what
//! `tengine serve`, the one-shot commands and the fuzz harness share.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tengine_adapters_http::state::AppStateParts;
use tengine_adapters_http::{AppState, ReadinessCheck};
use tengine_adapters_postgres::{PgDeliveryNotifier, PgStore};
use tengine_adapters_sqlite::SqliteStore;
use tengine_adapters_tool_caller::{ReqwestToolCaller, ToolCallerConfig};
use tengine_adapters_webhook_sender::{ReqwestSender, SenderConfig};
use tengine_application::delivery::{DeliveryWorker, WorkerConfig};
use tengine_application::{Deps, SlidingWindowLimiter, Tengine, UsageBuffer};
use tengine_domain::secret_key::Keyring;
use tengine_ports::{DeliveryNotifier, DeliveryQueue, RateCounterRepository, Store, ToolCaller};
use tokio::sync::Notify;

use crate::config::{ServeConfig, StoreConfig};
use crate::system::{OsSecrets, SystemClock, UuidV7Ids};

/// Distinct (project, key, hour) rows the usage buffer holds before dropping.
const USAGE_CAPACITY: usize = 100_000;

/// What renders the Prometheus text of `/metrics`.
pub type MetricsRender = Arc<dyn Fn() -> String + Send + Sync>;

/// The storage backend chosen by `DATABASE_URL`: the ports over it, and the few
/// operations whose implementation differs per database.
#[derive(Clone)]
pub struct Backend {
    store: Arc<dyn Store>,
    counters: Arc<dyn RateCounterRepository>,
    queue: Arc<dyn DeliveryQueue>,
    database: Arc<dyn Database>,
}

/// What the wiring needs of a database beyond the ports: one implementation per
/// adapter, so no method of [`Backend`] matches on the database.
#[async_trait::async_trait]
trait Database: Send + Sync {
    /// A name for logs.
    fn name(&self) -> &'static str;
    async fn migrate(&self) -> anyhow::Result<()>;
    /// Whether the database answers a trivial query.
    async fn ping(&self) -> bool;
    /// Connections in use now, for the pool gauge.
    fn connections_in_use(&self) -> f64;
    /// What wakes the delivery worker after a commit.
    async fn delivery_notifier(&self) -> anyhow::Result<Arc<dyn DeliveryNotifier>>;
    /// How many delivery loops share this process's sends.
    fn delivery_loops(&self) -> usize;
}

#[async_trait::async_trait]
impl Database for PgStore {
    fn name(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        PgStore::migrate(self).await.context("PostgreSQL migration failed")
    }

    async fn ping(&self) -> bool {
        PgStore::ping(self).await.is_ok()
    }

    fn connections_in_use(&self) -> f64 {
        PgStore::connections_in_use(self) as f64
    }

    fn delivery_loops(&self) -> usize {
        // Two loops: one claims or records (a database round trip) while the other's
        // sends are in flight, instead of every send waiting on those round trips.
        2
    }

    /// `LISTEN`, so commits on any instance wake every instance.
    async fn delivery_notifier(&self) -> anyhow::Result<Arc<dyn DeliveryNotifier>> {
        let notifier = PgDeliveryNotifier::listen(self.pool()).await.context("could not listen for deliveries")?;
        Ok(Arc::new(notifier))
    }
}

#[async_trait::async_trait]
impl Database for SqliteStore {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        SqliteStore::migrate(self).await.context("SQLite migration failed")
    }

    async fn ping(&self) -> bool {
        SqliteStore::ping(self).await.is_ok()
    }

    fn connections_in_use(&self) -> f64 {
        let size = self.reader().size() + self.writer().size();
        f64::from(size) - (self.reader().num_idle() + self.writer().num_idle()) as f64
    }

    fn delivery_loops(&self) -> usize {
        // One writer: a second loop's claims and records would only queue behind it.
        1
    }

    /// An in-process signal: one instance owns a SQLite file.
    async fn delivery_notifier(&self) -> anyhow::Result<Arc<dyn DeliveryNotifier>> {
        Ok(Arc::new(SqliteStore::delivery_notifier(self)))
    }
}

impl Backend {
    /// Opens the store `config` describes, retrying a briefly unreachable PostgreSQL for
    /// up to `patience`, and applies migrations.
    ///
    /// # Errors
    /// When the database stays unreachable or a migration fails.
    pub async fn open(config: &StoreConfig, patience: Duration) -> anyhow::Result<Self> {
        let backend = match config.database_url.as_deref() {
            Some(url) if config.is_postgres() => {
                Self::over(connect_postgres(url, config.max_connections, patience).await?)
            }
            Some(url) if url.starts_with("sqlite:") => {
                Self::over(SqliteStore::connect(url).await.context("could not open the SQLite database")?)
            }
            Some(_) => anyhow::bail!("DATABASE_URL must start with postgres://, postgresql:// or sqlite:"),
            None => {
                crate::secret_key::private_dir(&config.data_dir)?;
                let path = config.data_dir.join("tengine.db");
                let store = SqliteStore::open(&path)
                    .await
                    .with_context(|| format!("could not open the SQLite database at {}", path.display()))?;
                Self::over(store)
            }
        };
        backend.database.migrate().await?;
        Ok(backend)
    }

    /// Every port over one store; the single place that knows the store's type.
    fn over<S: Database + Store + Clone + 'static>(store: S) -> Self {
        Self {
            store: Arc::new(store.clone()),
            counters: Arc::new(store.clone()),
            queue: Arc::new(store.clone()),
            database: Arc::new(store),
        }
    }

    /// A name for logs.
    pub fn describe(&self) -> &'static str {
        self.database.name()
    }

    /// The store behind the ports.
    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// The `/readyz` check: the database answers a trivial query within a second,
    /// whatever the pool's acquire timeout.
    pub fn readiness(&self) -> ReadinessCheck {
        let database = self.database.clone();
        Arc::new(move || {
            let database = database.clone();
            Box::pin(
                async move { tokio::time::timeout(Duration::from_secs(1), database.ping()).await.unwrap_or(false) },
            )
        })
    }

    /// The rate limiter, counting through the database on both backends, so limits hold
    /// across instances and across restarts.
    pub fn limiter(&self) -> Arc<SlidingWindowLimiter> {
        Arc::new(SlidingWindowLimiter::shared(self.counters.clone()))
    }

    /// What wakes the delivery worker after a commit: PostgreSQL `LISTEN` (so commits
    /// on any instance wake every instance), or an in-process signal for SQLite.
    ///
    /// # Errors
    /// When PostgreSQL refuses the listening connection.
    pub async fn delivery_notifier(&self) -> anyhow::Result<Arc<dyn DeliveryNotifier>> {
        self.database.delivery_notifier().await
    }

    /// Database connections in use now, for the pool gauge.
    pub fn connections_in_use(&self) -> f64 {
        self.database.connections_in_use()
    }

    /// How many delivery loops share this process's sends.
    pub fn delivery_loops(&self) -> usize {
        self.database.delivery_loops().max(1)
    }
}

/// Connects to PostgreSQL, retrying with backoff until `patience` runs out.
async fn connect_postgres(url: &str, max_connections: u32, patience: Duration) -> anyhow::Result<PgStore> {
    let deadline = tokio::time::Instant::now().checked_add(patience);
    let mut delay = Duration::from_millis(200);
    loop {
        match PgStore::connect(url, max_connections).await {
            Ok(store) => return Ok(store),
            Err(e) if deadline.is_none_or(|d| tokio::time::Instant::now() + delay < d) => {
                tracing::warn!(error = %e, retry_in_ms = delay.as_millis(), "database unreachable; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(e).context("could not connect to PostgreSQL"),
        }
    }
}

/// The use cases over `backend` with the system clock, ids, secrets, `limiter`, the
/// server keys and the tool caller.
pub fn tengine_with(
    backend: &Backend,
    limiter: Arc<SlidingWindowLimiter>,
    keyring: Arc<Keyring>,
    tool_caller: Arc<dyn ToolCaller>,
) -> Tengine {
    Tengine::new(Deps {
        store: backend.store(),
        clock: Arc::new(SystemClock),
        ids: Arc::new(UuidV7Ids),
        secrets: Arc::new(OsSecrets),
        limiter,
        keyring,
        tool_caller,
    })
}

/// The use cases for one-shot commands (no limiter syncing; tool calls guarded).
///
/// # Errors
/// When the tool caller's HTTP client cannot be built.
pub fn tengine(backend: &Backend, keyring: Keyring) -> anyhow::Result<Tengine> {
    Ok(tengine_with(backend, backend.limiter(), Arc::new(keyring), tool_caller(false)?))
}

/// The client tool calls go out through; `allow_private` is `TENGINE_TOOLS_ALLOW_PRIVATE`.
///
/// # Errors
/// When the HTTP client cannot be built.
pub fn tool_caller(allow_private: bool) -> anyhow::Result<Arc<dyn ToolCaller>> {
    let caller = ReqwestToolCaller::new(ToolCallerConfig { allow_private, ..ToolCallerConfig::default() })
        .context("could not build the tool-call HTTP client")?;
    Ok(Arc::new(caller))
}

/// The application over an open store, before anything listens or runs in the
/// background. `tengine serve` adds the listeners and workers; the fuzz harness sends
/// requests to `tengine_adapters_http::router(state)` in-process.
pub struct Wired {
    /// The use cases.
    pub tengine: Tengine,
    /// The rate limiter the use cases count with (a worker syncs it across instances).
    pub limiter: Arc<SlidingWindowLimiter>,
    /// Usage records waiting to be written.
    pub usage: Arc<UsageBuffer>,
    /// Notified when the usage buffer fills, so it is flushed before the next tick.
    pub usage_full: Arc<Notify>,
    /// The state every HTTP handler shares.
    pub state: AppState,
}

/// Assembles the use cases and the HTTP state over `backend`; with `metering` off,
/// usage is not recorded and rate limits not applied; `tools_allow_private` accepts
/// plain-`http` tool base URLs; `public_url` is the server's public origin, if set.
pub fn wire(
    backend: &Backend,
    keyring: Arc<Keyring>,
    tool_caller: Arc<dyn ToolCaller>,
    serve: &ServeConfig,
    public_url: Option<String>,
    metrics: MetricsRender,
) -> Wired {
    let limiter = backend.limiter();
    let tengine = tengine_with(backend, limiter.clone(), keyring, tool_caller)
        .with_tools_allow_private(serve.tools_allow_private)
        .with_public_url(public_url)
        .with_retention(serve.retention);
    let usage_full = Arc::new(Notify::new());
    let waker = usage_full.clone();
    let usage = Arc::new(UsageBuffer::new(USAGE_CAPACITY, move || waker.notify_one()));
    let state = AppState::new(AppStateParts {
        tengine: tengine.clone(),
        ready: backend.readiness(),
        usage: usage.clone(),
        metering: serve.metering,
        metrics,
        streams: Default::default(),
    });
    Wired { tengine, limiter, usage, usage_full, state }
}

/// The webhook delivery worker of this process.
///
/// # Errors
/// When the HTTP client cannot be built.
pub fn delivery_worker(
    backend: &Backend,
    serve: &ServeConfig,
    keyring: Arc<Keyring>,
) -> anyhow::Result<Arc<DeliveryWorker>> {
    let sender =
        ReqwestSender::new(SenderConfig { allow_private: serve.webhook_allow_private, ..SenderConfig::default() })
            .context("could not build the webhook HTTP client")?;
    // The loops share the process's sends.
    let sends = serve.webhook_concurrency.div_ceil(backend.delivery_loops()).max(1);
    let config = WorkerConfig {
        worker_id: format!("tengine-{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()),
        // A batch no larger than what is sent at once: a claim never waits behind
        // other sends, so a slow receiver cannot outlast the lease.
        batch: sends,
        concurrency: sends,
        lease: Duration::from_secs(60),
    };
    let queue = backend.queue.clone();
    Ok(Arc::new(DeliveryWorker::new(
        queue,
        Arc::new(sender),
        Arc::new(SystemClock),
        Arc::new(UuidV7Ids),
        keyring,
        config,
    )))
}

/// Installs the Prometheus recorder once and returns what renders `/metrics`. A task
/// drains histogram samples every few seconds: the recorder keeps each one until then,
/// so without it memory would grow with every request between scrapes.
pub fn metrics() -> MetricsRender {
    match metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder() {
        Ok(handle) => {
            let upkeep = handle.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
                loop {
                    tick.tick().await;
                    upkeep.run_upkeep();
                }
            });
            Arc::new(move || handle.render())
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics are unavailable");
            Arc::new(String::new)
        }
    }
}
