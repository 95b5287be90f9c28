//! PostgreSQL implementations of Tengine's storage ports.
//!
//! [`PgStore`] wraps a connection pool and implements every repository trait plus
//! `UnitOfWork`; [`PgTransaction`] is its transaction, and [`PgDeliveryNotifier`] wakes
//! delivery workers when one commits new deliveries. Queries are built at run time
//! (`query_as` into private row structs), so building needs no database. The schema is
//! embedded as [`MIGRATOR`].

mod account;
mod api_key;
mod delivery;
mod error;
mod event;
mod idempotency;
mod integration;
mod kept;
mod list;
mod notifier;
mod project;
mod queue;
mod rate_counter;
mod rows;
mod session;
mod signing_key;
// Hidden rather than behind a feature: see the module's documentation.
#[doc(hidden)]
pub mod testing;
mod tool;
mod tool_call;
mod transaction;
mod usage;
mod webhook;

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tengine_ports::RepoError;

pub use notifier::PgDeliveryNotifier;
#[doc(hidden)]
pub use project::SELECT_LIVE as PROJECT_LOOKUP_SQL;
#[doc(hidden)]
pub use queue::{
    CLAIM as CLAIM_SQL, COMPLETE_ONCE as COMPLETE_SQL, FAIL_ORPHANS as FAIL_ORPHANS_SQL, POSTPONE as POSTPONE_SQL,
};
pub use transaction::PgTransaction;

/// The embedded schema migrations.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a caller waits for a pooled connection before the store is "unavailable".
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The delivery queue's own connections: its two loops and the odd purge or count.
const QUEUE_CONNECTIONS: u32 = 4;

/// The connections that take and hand back the queue's leases: one per delivery loop.
const LEASE_CONNECTIONS: u32 = 2;

/// Every storage port, backed by one PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// The delivery queue's connections (see [`queue_pool`]).
    queue: PgPool,
    kept: std::sync::Arc<kept::Kept>,
    /// The queue's single statements keep their connections too: each delivery takes a
    /// claim (which reads its event and webhook too) and a completion, and sqlx would
    /// ping after every one.
    queue_kept: std::sync::Arc<kept::Kept>,
    /// Claims and hand-backs (see [`lease_pool`]), kept like the queue's.
    leases: PgPool,
    leases_kept: std::sync::Arc<kept::Kept>,
}

/// A pool for the delivery queue's statements, which run for every delivery and are
/// written to reach their rows through indexes. PostgreSQL plans a prepared statement
/// afresh on each execution until it judges a generic plan good enough, and keeps a
/// generic plan until the table's statistics change. Measured on a new database (one
/// webhook, one writer): the completion was planned on every call (0.38 ms of planning
/// against 0.23 of execution), and the claim's cached plan, made while `deliveries` was
/// nearly empty, read the whole table three times a call (0.84 ms at 3,600 rows) until
/// autovacuum first analyzed it. These connections plan each statement once and never
/// choose a sequential scan where an index serves.
fn queue_pool(pool: &PgPool) -> PgPool {
    PgPoolOptions::new()
        .max_connections(QUEUE_CONNECTIONS)
        .acquire_timeout(pool.options().get_acquire_timeout())
        .test_before_acquire(false)
        .connect_lazy_with(queue_options(pool))
}

/// The queue's connection options: `pool`'s, planning each statement once, by index.
fn queue_options(pool: &PgPool) -> sqlx::postgres::PgConnectOptions {
    pool.connect_options()
        .as_ref()
        .clone()
        .options([("plan_cache_mode", "force_generic_plan"), ("enable_seqscan", "off")])
}

/// A pool like [`queue_pool`] whose commits do not wait for the WAL to reach disk, for
/// the statements that only take or hand back a lease. A lease is soft state: if the
/// database crashes before one is flushed, the delivery is simply unclaimed again, which
/// is what a lost round already means (its completion fails with the connection and it is
/// sent again), only without waiting for the lease to run out. A completion, committed
/// durably afterwards, flushes the WAL up to and past its claim. Every write of the API,
/// events and deliveries included, stays synchronous. With one writer and one webhook the
/// claim's flush was one of three on each delivery's path; without it event-to-arrival
/// p50 fell by about a quarter, throughput unchanged (docs/PERFORMANCE.md).
fn lease_pool(pool: &PgPool) -> PgPool {
    let options = queue_options(pool).options([("synchronous_commit", "off")]);
    PgPoolOptions::new()
        .max_connections(LEASE_CONNECTIONS)
        .acquire_timeout(pool.options().get_acquire_timeout())
        .test_before_acquire(false)
        .connect_lazy_with(options)
}

impl PgStore {
    /// Connects a pool of at most `max_connections` to `url` (`postgres://...`).
    ///
    /// # Errors
    /// `Unavailable` when the server cannot be reached; `Other` for a malformed URL.
    pub async fn connect(url: &str, max_connections: u32) -> Result<PgStore, RepoError> {
        let options: sqlx::postgres::PgConnectOptions = url.parse().map_err(RepoError::other)?;
        // No statement may hold a request (or a worker) longer than this.
        let options = options.options([("statement_timeout", "30s")]);
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(error::map_err)?;
        Ok(Self::from_pool(pool))
    }

    /// Wraps an existing pool.
    pub fn from_pool(pool: PgPool) -> PgStore {
        let kept = kept::Kept::new(pool.options().get_max_connections(), pool.options().get_acquire_timeout());
        let queue_kept = kept::Kept::new(QUEUE_CONNECTIONS, pool.options().get_acquire_timeout());
        let leases_kept = kept::Kept::new(LEASE_CONNECTIONS, pool.options().get_acquire_timeout());
        PgStore { queue: queue_pool(&pool), leases: lease_pool(&pool), pool, kept, queue_kept, leases_kept }
    }

    /// Closes the pool, waiting for every connection to come back (use this rather than
    /// `pool().close()`, which would wait for the connections kept for reads).
    pub async fn close(&self) {
        self.kept.close();
        self.queue_kept.close();
        self.leases_kept.close();
        self.queue.close().await;
        self.leases.close().await;
        self.pool.close().await;
    }

    /// Connections kept idle for the hot reads (counted by the pool as in use).
    pub fn kept_idle(&self) -> usize {
        self.kept.idle()
    }

    /// The underlying pool (for other adapters sharing the database).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Connections doing work now, in all three pools: those kept idle for hot reads,
    /// for the queue and for its leases are lent out by their pools but idle all the same.
    pub fn connections_in_use(&self) -> usize {
        let lent = |pool: &PgPool| usize::try_from(pool.size()).unwrap_or(usize::MAX).saturating_sub(pool.num_idle());
        (lent(&self.pool) + lent(&self.queue) + lent(&self.leases))
            .saturating_sub(self.kept.idle() + self.queue_kept.idle() + self.leases_kept.idle())
    }

    /// Connections the delivery queue keeps idle (counted by its pool as in use).
    #[doc(hidden)]
    pub fn queue_kept_idle(&self) -> usize {
        self.queue_kept.idle()
    }

    /// Connections kept idle for the queue's leases (counted by their pool as in use).
    #[doc(hidden)]
    pub fn leases_kept_idle(&self) -> usize {
        self.leases_kept.idle()
    }

    /// The pool of the queue's claims and hand-backs (for tests of its settings).
    #[doc(hidden)]
    pub fn lease_pool(&self) -> &PgPool {
        &self.leases
    }

    /// The delivery queue's pool (for tests of its plans).
    #[doc(hidden)]
    pub fn queue_pool(&self) -> &PgPool {
        &self.queue
    }

    /// Applies every pending migration, then gathers statistics for tables that hold
    /// rows but were never analyzed.
    ///
    /// # Errors
    /// `Unavailable` when the server cannot be reached; `Other` if a migration fails.
    pub async fn migrate(&self) -> Result<(), RepoError> {
        MIGRATOR.run(&self.pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(e) => error::map_err(e),
            e => RepoError::other(e),
        })?;
        self.analyze_unanalyzed().await;
        Ok(())
    }

    /// A table filled by `pg_restore` or a bulk load has no statistics until autovacuum
    /// gets to it, and without them the planner guesses two rows per account: list pages
    /// then read and sort the whole list (page 1 of 10^5 projects ran at 84 req/s, of
    /// 10^6 at 4, in `cargo xtask bench growth`). Statistics are gathered here once, at
    /// start; a failure only leaves the work to autovacuum.
    async fn analyze_unanalyzed(&self) {
        let tables: Result<Vec<String>, _> = sqlx::query_scalar(
            "SELECT quote_ident(relname) FROM pg_stat_user_tables WHERE schemaname = current_schema() \
             AND n_live_tup > 0 AND last_analyze IS NULL AND last_autoanalyze IS NULL",
        )
        .fetch_all(&self.pool)
        .await;
        for table in tables.unwrap_or_default() {
            let started = std::time::Instant::now();
            match sqlx::query(&format!("ANALYZE {table}")).execute(&self.pool).await {
                Ok(_) => {
                    tracing::info!(%table, ms = started.elapsed().as_millis(), "analyzed a table that had no statistics")
                }
                Err(e) => tracing::warn!(%table, error = %e, "could not analyze a table that has no statistics"),
            }
        }
    }

    /// Checks that the database answers (for readiness probes).
    ///
    /// # Errors
    /// `Unavailable` when the server cannot be reached.
    pub async fn ping(&self) -> Result<(), RepoError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(error::map_err)?;
        Ok(())
    }
}
