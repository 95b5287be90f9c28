//! The shared port-contract suite against PostgreSQL: each test gets its own fresh
//! database on the server at `TENGINE_TEST_PG_URL`, dropped afterwards.

use std::future::Future;

use tengine_adapters_postgres::testing::{create_test_database, drop_test_database};
use tengine_adapters_postgres::PgStore;

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A migrated store on a new database, and the future that drops that database.
async fn fresh_store() -> (PgStore, impl Future<Output = ()>) {
    let admin = std::env::var("TENGINE_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned());
    let url = create_test_database(&admin).await;
    let store = PgStore::connect(&url, 8).await.expect("connect to the test database");
    store.migrate().await.expect("migrate the test database");
    let closing = store.clone();
    let cleanup = async move {
        closing.pool().close().await;
        drop_test_database(&admin, &url).await;
    };
    (store, cleanup)
}

tengine_storage_contract::contract_tests!(fresh_store);

#[tokio::test]
async fn ping_answers_and_migrations_are_idempotent() {
    let (store, cleanup) = fresh_store().await;
    store.ping().await.expect("ping");
    store.migrate().await.expect("second migrate is a no-op");
    cleanup.await;
}
