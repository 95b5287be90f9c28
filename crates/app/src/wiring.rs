//! Opens the configured store and assembles the use cases and the HTTP state.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tengine_adapters_http::state::AppStateParts;
use tengine_adapters_http::{AppState, ReadinessCheck};
use tengine_adapters_postgres::PgDeliveryNotifier;
use tengine_adapters_postgres::PgStore;
use tengine_adapters_sqlite::SqliteStore;
use tengine_adapters_webhook_sender::{ReqwestSender, SenderConfig};
use tengine_application::delivery::{DeliveryWorker, WorkerConfig};
use tengine_application::{Deps, SlidingWindowLimiter, Tengine, UsageBuffer};
use tengine_domain::secret_key::Keyring;
use tengine_ports::{DeliveryNotifier, DeliveryQueue, RateCounterRepository, Store};

use crate::cli::{Global, Serve};
use tengine_app::system::{OsSecrets, SystemClock, UuidV7Ids};

/// The storage backend chosen by `DATABASE_URL`.
#[derive(Clone)]
pub enum Backend {
    /// PostgreSQL (production; many instances may share it).
    Postgres(PgStore),
    /// Embedded SQLite (the zero-setup default; one instance).
    Sqlite(SqliteStore),
}

impl Backend {
    /// Opens the store `global` describes, retrying a briefly unreachable PostgreSQL for
    /// up to `patience`, and applies migrations.
    ///
    /// # Errors
    /// When the database stays unreachable or a migration fails.
    pub async fn open(global: &Global, patience: Duration) -> anyhow::Result<Self> {
        let backend = match global.database_url.as_deref() {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                let deadline = tokio::time::Instant::now().checked_add(patience);
                let mut delay = Duration::from_millis(200);
                let store = loop {
                    match PgStore::connect(url, global.db_max_connections).await {
                        Ok(store) => break store,
                        Err(e) if deadline.is_none_or(|d| tokio::time::Instant::now() + delay < d) => {
                            tracing::warn!(error = %e, retry_in_ms = delay.as_millis(), "database unreachable; retrying");
                            tokio::time::sleep(delay).await;
                            delay = (delay * 2).min(Duration::from_secs(5));
                        }
                        Err(e) => return Err(e).context("could not connect to PostgreSQL"),
                    }
                };
                Backend::Postgres(store)
            }
            Some(url) if url.starts_with("sqlite:") => {
                Backend::Sqlite(SqliteStore::connect(url).await.context("could not open the SQLite database")?)
            }
            Some(_) => anyhow::bail!("DATABASE_URL must start with postgres://, postgresql:// or sqlite:"),
            None => {
                crate::secret_key::private_dir(&global.data_dir)?;
                let path = global.data_dir.join("tengine.db");
                let store = SqliteStore::open(&path)
                    .await
                    .with_context(|| format!("could not open the SQLite database at {}", path.display()))?;
                Backend::Sqlite(store)
            }
        };
        backend.migrate().await?;
        Ok(backend)
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Backend::Postgres(s) => s.migrate().await.context("PostgreSQL migration failed"),
            Backend::Sqlite(s) => s.migrate().await.context("SQLite migration failed"),
        }
    }

    /// A name for logs.
    pub fn describe(&self) -> &'static str {
        match self {
            Backend::Postgres(_) => "postgres",
            Backend::Sqlite(_) => "sqlite",
        }
    }

    /// The store behind the ports.
    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            Backend::Postgres(s) => Arc::new(s.clone()),
            Backend::Sqlite(s) => Arc::new(s.clone()),
        }
    }

    /// The `/readyz` check: the database answers a trivial query.
    pub fn readiness(&self) -> ReadinessCheck {
        let backend = self.clone();
        Arc::new(move || {
            let backend = backend.clone();
            Box::pin(async move {
                // A probe answers within a second, whatever the pool's acquire timeout.
                let ping = async {
                    match &backend {
                        Backend::Postgres(s) => s.ping().await.is_ok(),
                        Backend::Sqlite(s) => s.ping().await.is_ok(),
                    }
                };
                tokio::time::timeout(Duration::from_secs(1), ping).await.unwrap_or(false)
            })
        })
    }
}

impl Backend {
    /// The rate limiter, counting through the database on both backends, so limits hold
    /// across instances and across restarts.
    pub fn limiter(&self) -> Arc<SlidingWindowLimiter> {
        let counters: Arc<dyn RateCounterRepository> = match self {
            Backend::Postgres(s) => Arc::new(s.clone()),
            Backend::Sqlite(s) => Arc::new(s.clone()),
        };
        Arc::new(SlidingWindowLimiter::shared(counters))
    }
}

/// The use cases over `backend` with the system clock, ids, secrets, `limiter` and the
/// server keys.
pub fn tengine_with(backend: &Backend, limiter: Arc<SlidingWindowLimiter>, keyring: Arc<Keyring>) -> Tengine {
    Tengine::new(Deps {
        store: backend.store(),
        clock: Arc::new(SystemClock),
        ids: Arc::new(UuidV7Ids),
        secrets: Arc::new(OsSecrets),
        limiter,
        keyring,
    })
}

/// The use cases for one-shot commands (no limiter syncing).
pub fn tengine(backend: &Backend, keyring: Keyring) -> Tengine {
    tengine_with(backend, backend.limiter(), Arc::new(keyring))
}

impl Backend {
    /// What wakes the delivery worker after a commit: PostgreSQL `LISTEN` (so commits
    /// on any instance wake every instance), or an in-process signal for SQLite.
    ///
    /// # Errors
    /// When PostgreSQL refuses the listening connection.
    pub async fn delivery_notifier(&self) -> anyhow::Result<Arc<dyn DeliveryNotifier>> {
        Ok(match self {
            Backend::Postgres(s) => {
                Arc::new(PgDeliveryNotifier::listen(s.pool()).await.context("could not listen for deliveries")?)
            }
            Backend::Sqlite(s) => Arc::new(s.delivery_notifier()),
        })
    }

    /// Database connections in use now, for the pool gauge.
    pub fn connections_in_use(&self) -> f64 {
        let (size, idle) = match self {
            // Connections kept for hot reads are idle too, though the pool lent them out.
            Backend::Postgres(s) => (s.pool().size(), s.pool().num_idle() + s.kept_idle()),
            Backend::Sqlite(s) => {
                (s.reader().size() + s.writer().size(), s.reader().num_idle() + s.writer().num_idle())
            }
        };
        f64::from(size) - idle as f64
    }

    fn queue(&self) -> Arc<dyn DeliveryQueue> {
        match self {
            Backend::Postgres(s) => Arc::new(s.clone()),
            Backend::Sqlite(s) => Arc::new(s.clone()),
        }
    }
}

/// The webhook delivery worker of this process.
///
/// # Errors
/// When the HTTP client cannot be built.
pub fn delivery_worker(backend: &Backend, serve: &Serve, keyring: Arc<Keyring>) -> anyhow::Result<Arc<DeliveryWorker>> {
    let sender =
        ReqwestSender::new(SenderConfig { allow_private: serve.webhook_allow_private, ..SenderConfig::default() })
            .context("could not build the webhook HTTP client")?;
    let config = WorkerConfig {
        worker_id: format!("tengine-{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()),
        // A batch no larger than what is sent at once: a claim never waits behind
        // other sends, so a slow receiver cannot outlast the lease.
        batch: serve.webhook_concurrency.max(1),
        concurrency: serve.webhook_concurrency.max(1),
        lease: Duration::from_secs(60),
    };
    Ok(Arc::new(DeliveryWorker::new(backend.queue(), Arc::new(sender), Arc::new(SystemClock), keyring, config)))
}

/// Installs the Prometheus recorder once and returns what renders `/metrics`. A task
/// drains histogram samples every few seconds: the recorder keeps each one until then,
/// so without it memory would grow with every request between scrapes.
pub fn metrics() -> Arc<dyn Fn() -> String + Send + Sync> {
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

/// The HTTP state.
pub fn http_state(
    backend: &Backend,
    tengine: Tengine,
    usage: Arc<UsageBuffer>,
    metering: bool,
    metrics: Arc<dyn Fn() -> String + Send + Sync>,
) -> AppState {
    AppState::new(AppStateParts { tengine, ready: backend.readiness(), usage, metering, metrics })
}
