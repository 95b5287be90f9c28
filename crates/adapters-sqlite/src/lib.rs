//! Embedded SQLite implementations of Tengine's storage ports.
//!
//! [`SqliteStore`] keeps two pools on one database file: a single-connection writer
//! that runs every transaction (begun with `BEGIN IMMEDIATE`) and every last-use
//! stamp, and a multi-connection reader for plain reads. With WAL, readers never wait
//! for the writer, and writes queue in the process instead of failing with "database
//! is locked". The schema is embedded as [`MIGRATOR`]. Commits that create deliveries
//! wake this store's [`SqliteDeliveryNotifier`].

mod account;
mod api_key;
mod delivery;
mod error;
mod event;
mod idempotency;
mod integration;
mod list;
mod notifier;
mod project;
mod queue;
mod rate_counter;
mod rows;
mod session;
mod signing_key;
mod tool;
mod tool_call;
mod transaction;
mod usage;
mod webhook;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};
use tengine_ports::RepoError;
use tokio::sync::Notify;

pub use notifier::SqliteDeliveryNotifier;
pub use transaction::SqliteTransaction;

/// The embedded schema migrations.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long SQLite retries when another process holds the write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a write waits for the writer connection (other writes of this process).
const WRITER_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a read waits for a reader connection.
const READER_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Reader connections per store.
const READERS: u32 = 4;

/// Every storage port, backed by one SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
    /// Signalled after a commit that created deliveries.
    deliveries: Arc<Notify>,
}

impl SqliteStore {
    /// Opens a database from a `sqlite:` URL (`sqlite://PATH?mode=rwc`, which also
    /// creates missing parent folders; `sqlite::memory:`) or, for anything else, a file
    /// path (see [`SqliteStore::open`]).
    ///
    /// An in-memory database has a single connection for reads and writes, so a read
    /// made while a transaction is open waits for that transaction to end.
    ///
    /// # Errors
    /// `Unavailable` when the file cannot be opened; `Other` for a malformed URL.
    pub async fn connect(url_or_path: &str) -> Result<SqliteStore, RepoError> {
        if !url_or_path.starts_with("sqlite:") {
            return Self::open(Path::new(url_or_path)).await;
        }
        let options = SqliteConnectOptions::from_str(url_or_path).map_err(error::map_err)?;
        let in_memory = url_or_path.contains(":memory:") || url_or_path.contains("mode=memory");
        if !in_memory && url_or_path.contains("mode=rwc") {
            create_parent(options.get_filename())?;
        }
        if !in_memory {
            private_files(options.get_filename(), url_or_path.contains("mode=rwc"))?;
        }
        Self::with_options(options, in_memory).await
    }

    /// Opens (creating if needed) the database file at `path`, and its parent folders.
    ///
    /// # Errors
    /// `Unavailable` when the folder or file cannot be created or opened.
    pub async fn open(path: &Path) -> Result<SqliteStore, RepoError> {
        create_parent(path)?;
        private_files(path, true)?;
        let options = SqliteConnectOptions::new().filename(path).create_if_missing(true);
        Self::with_options(options, false).await
    }

    async fn with_options(options: SqliteConnectOptions, in_memory: bool) -> Result<SqliteStore, RepoError> {
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        // The writer connects first, so the file exists and is in WAL mode before any
        // reader opens it. An in-memory database must never lose its last connection.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(u32::from(in_memory))
            .acquire_timeout(WRITER_ACQUIRE_TIMEOUT)
            .test_before_acquire(false)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone())
            .await
            .map_err(error::map_err)?;
        let reader = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(READERS)
                .acquire_timeout(READER_ACQUIRE_TIMEOUT)
                .test_before_acquire(false)
                .connect_with(options.create_if_missing(false))
                .await
                .map_err(error::map_err)?
        };
        Ok(SqliteStore { reader, writer, deliveries: Arc::new(Notify::new()) })
    }

    /// Applies every pending migration.
    ///
    /// # Errors
    /// `Unavailable` when the database cannot be written; `Other` if a migration fails.
    pub async fn migrate(&self) -> Result<(), RepoError> {
        MIGRATOR.run(&self.writer).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(e) => error::map_err(e),
            e => RepoError::other(e),
        })
    }

    /// Checks that the database answers (for readiness probes).
    ///
    /// # Errors
    /// `Unavailable` when the database cannot be read.
    pub async fn ping(&self) -> Result<(), RepoError> {
        sqlx::query("SELECT 1").execute(&self.reader).await.map_err(error::map_err)?;
        Ok(())
    }

    /// The pool for plain reads.
    pub fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    /// The single-connection pool every write goes through.
    pub fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// Wakes delivery workers of this process when a transaction of this store (or a
    /// clone) commits new deliveries. Another process writing the same file does not
    /// wake it; workers poll for those.
    pub fn delivery_notifier(&self) -> SqliteDeliveryNotifier {
        SqliteDeliveryNotifier::new(Arc::clone(&self.deliveries))
    }

    /// Closes both pools, waiting for connections in use to come back.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }

    /// Starts a write transaction that holds the database's write lock from the start.
    async fn begin_immediate(&self) -> Result<sqlx::Transaction<'static, Sqlite>, RepoError> {
        self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(error::map_err)
    }
}

/// Creates the folders above `path`, if any are missing.
/// Creates the missing folders above `path`, readable by the owner only.
fn create_parent(path: &Path) -> Result<(), RepoError> {
    let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) else { return Ok(()) };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(parent).map_err(|e| RepoError::Unavailable(Box::new(e)))
}

/// Makes the database file (if missing and `create`) and its `-wal` and `-shm`
/// companions readable by the owner only. SQLite creates the companions with the
/// database file's mode, so making the file first, 0600, covers them too; existing
/// files are tightened.
fn private_files(path: &Path, create: bool) -> Result<(), RepoError> {
    let io = |e: std::io::Error| RepoError::Unavailable(Box::new(e));
    if create && !path.exists() {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        drop(options.open(path).map_err(io)?);
    }
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm"] {
        use std::os::unix::fs::PermissionsExt;
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        match std::fs::metadata(&file) {
            Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
    }
    Ok(())
}
