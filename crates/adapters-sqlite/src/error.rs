//! Maps sqlx errors onto the ports' `RepoError`, so no SQLite code leaves this crate.

use tengine_ports::RepoError;

/// Classifies a sqlx error: unique violations are conflicts; a busy or unreachable
/// database is "unavailable" (retryable); everything else is a bug or corrupt data.
pub(crate) fn map_err(e: sqlx::Error) -> RepoError {
    match e {
        sqlx::Error::Database(db) => {
            if db.is_unique_violation() {
                return RepoError::Conflict(db.message().to_owned());
            }
            // Primary result codes: 5 SQLITE_BUSY, 6 SQLITE_LOCKED, 10 SQLITE_IOERR,
            // 13 SQLITE_FULL, 14 SQLITE_CANTOPEN (extended codes keep them in the low byte).
            let primary = db.code().and_then(|c| c.parse::<i32>().ok()).map(|c| c & 0xff);
            if matches!(primary, Some(5 | 6 | 10 | 13 | 14)) {
                RepoError::Unavailable(Box::new(sqlx::Error::Database(db)))
            } else {
                RepoError::Other(Box::new(sqlx::Error::Database(db)))
            }
        }
        e @ (sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed) => {
            RepoError::Unavailable(Box::new(e))
        }
        e => RepoError::Other(Box::new(e)),
    }
}

/// `NotFound` when a write touched no row.
pub(crate) fn affected(result: sqlx::sqlite::SqliteQueryResult) -> Result<(), RepoError> {
    if result.rows_affected() == 0 {
        Err(RepoError::NotFound)
    } else {
        Ok(())
    }
}

/// Like [`map_err`], but a foreign-key violation means a referenced row is missing.
pub(crate) fn map_missing(e: sqlx::Error) -> RepoError {
    match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => RepoError::NotFound,
        _ => map_err(e),
    }
}
