//! Start-up statistics: a table that holds rows but was never analyzed (a restore, a
//! bulk load) is analyzed by `migrate`, so list pages are planned as index walks at once.

use std::time::{Duration, Instant};

use tengine_adapters_postgres::testing::{create_test_database, drop_test_database};
use tengine_adapters_postgres::PgStore;
use tengine_storage_contract::fixtures::{account, at, new_project};

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Whether `projects` has statistics, and how many live rows the statistics system
/// has seen in it.
async fn projects_stats(store: &PgStore) -> (bool, i64) {
    sqlx::query_as(
        "SELECT last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL, n_live_tup \
         FROM pg_stat_user_tables WHERE relname = 'projects'",
    )
    .fetch_one(store.pool())
    .await
    .expect("read pg_stat_user_tables")
}

#[tokio::test]
async fn migrate_analyzes_a_filled_table_that_has_no_statistics() {
    let admin = std::env::var("TENGINE_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned());
    let url = create_test_database(&admin).await;
    // One connection: the statistics of the inserts below are flushed from it.
    let store = PgStore::connect(&url, 1).await.expect("connect");
    store.migrate().await.expect("migrate");
    let acct = account(&store).await;
    let projects: Vec<_> = (0..50).map(|i| new_project(acct.id, at(i))).collect();
    let mut tx = tengine_ports::UnitOfWork::begin(&store).await.expect("begin");
    tx.insert_projects(&projects).await.expect("insert");
    tx.commit().await.expect("commit");
    sqlx::query("SELECT pg_stat_force_next_flush()").execute(store.pool()).await.expect("flush statistics");
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut seen = projects_stats(&store).await;
    while seen.1 == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        seen = projects_stats(&store).await;
    }
    assert_eq!(seen, (false, 50), "50 rows seen, never analyzed (autovacuum naps a minute)");

    store.migrate().await.expect("migrate again");
    assert!(projects_stats(&store).await.0, "migrate analyzed the table");
    store.close().await;
    drop_test_database(&admin, &url).await;
}
