//! Test support: throwaway databases on a PostgreSQL server, for this crate's contract
//! tests and for end-to-end tests elsewhere. Not for production use: the functions
//! panic, and the module is hidden from the documentation. It is not behind a `testing`
//! feature on purpose: only dev-dependencies would enable it, so `cargo test --workspace`
//! would rebuild this crate and everything above it with other features than
//! `cargo build --workspace --bins` did.

use sqlx::{Connection, PgConnection};

/// Creates an empty database `tengine_t_<uuid>` on the server of `admin_url` and
/// returns its URL (same server, credentials and query parameters).
///
/// # Panics
/// When the server refuses; a test cannot go on without its database.
pub async fn create_test_database(admin_url: &str) -> String {
    let name = format!("tengine_t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test server {admin_url}: {e}"));
    // The name is generated here (hex only), so formatting it into DDL is safe.
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
    let _ = conn.close().await;
    with_database(admin_url, &name)
}

/// Drops a database made by [`create_test_database`], closing its connections first.
/// Best effort: failures are only logged.
pub async fn drop_test_database(admin_url: &str, database_url: &str) {
    let Some(name) = database_name(database_url).filter(|n| n.starts_with("tengine_t_")) else {
        tracing::warn!("refusing to drop a database not made by create_test_database");
        return;
    };
    let dropped = async {
        let mut conn = PgConnection::connect(admin_url).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut conn).await?;
        conn.close().await
    };
    if let Err(e) = dropped.await {
        tracing::warn!(error = %e, database = name, "could not drop test database");
    }
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let root = match base[authority_start..].find('/') {
        Some(i) => &base[..authority_start + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

/// The database name of a URL made by [`with_database`].
fn database_name(url: &str) -> Option<&str> {
    let base = url.split('?').next()?;
    let after = &base[base.find("://").map_or(0, |i| i + 3)..];
    after.split_once('/').map(|(_, db)| db).filter(|db| !db.is_empty() && !db.contains('"'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_is_replaced_and_the_query_kept() {
        assert_eq!(with_database("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgres://u@h/postgres?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
        assert_eq!(database_name("postgres://u@h/x?a=b"), Some("x"));
    }
}
