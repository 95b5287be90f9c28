//! Maps sqlx errors onto the ports' `RepoError`, so no SQLSTATE leaves this crate.

use tengine_ports::RepoError;

/// Classifies a sqlx error: unique violations are conflicts, lost connections are
/// "unavailable" (retryable), everything else is a bug or corrupt data.
pub(crate) fn map_err(e: sqlx::Error) -> RepoError {
    match e {
        sqlx::Error::Database(db) => {
            if db.is_unique_violation() {
                let rule = db.constraint().unwrap_or("unique").to_owned();
                return RepoError::Conflict(rule);
            }
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            if code.starts_with("08") || matches!(code.as_str(), "57P01" | "57P02" | "57P03") {
                RepoError::Unavailable(Box::new(sqlx::Error::Database(db)))
            } else {
                RepoError::Other(Box::new(sqlx::Error::Database(db)))
            }
        }
        e @ (sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed) => RepoError::Unavailable(Box::new(e)),
        e => RepoError::Other(Box::new(e)),
    }
}

/// `NotFound` when a write touched no row.
pub(crate) fn affected(result: sqlx::postgres::PgQueryResult) -> Result<(), RepoError> {
    if result.rows_affected() == 0 {
        Err(RepoError::NotFound)
    } else {
        Ok(())
    }
}
