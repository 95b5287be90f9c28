//! The shared port-contract suite against SQLite: each test gets its own database
//! file in the temp folder, deleted afterwards.

use std::future::Future;
use std::path::PathBuf;

use tengine_adapters_sqlite::SqliteStore;

/// A migrated store on a new file, and the future that deletes it.
async fn fresh_store() -> (SqliteStore, impl Future<Output = ()>) {
    let dir = std::env::temp_dir().join(format!("tengine-test-{}", uuid::Uuid::new_v4().simple()));
    let path = dir.join("nested").join("tengine.db");
    let store = SqliteStore::open(&path).await.expect("open the test database");
    store.migrate().await.expect("migrate the test database");
    let closing = store.clone();
    let cleanup = async move {
        closing.close().await;
        let _ = std::fs::remove_dir_all(&dir);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_urls_and_in_memory_databases_open() {
    let memory = SqliteStore::connect("sqlite::memory:").await.expect("in-memory");
    memory.migrate().await.expect("migrate in-memory");
    memory.ping().await.expect("ping in-memory");
    // One connection serves both reads and writes here, so only cases that never read
    // outside an open transaction can run.
    tengine_storage_contract::cases::reads_inside_a_transaction_see_its_own_writes(&memory).await;
    tengine_storage_contract::cases::last_used_only_moves_forward(&memory).await;
    tengine_storage_contract::cases::bootstrap_is_claimed_once(&memory).await;
    let dir = std::env::temp_dir().join(format!("tengine-test-{}", uuid::Uuid::new_v4().simple()));
    let path: PathBuf = dir.join("url.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let store = SqliteStore::connect(&url).await.expect("url");
    store.migrate().await.expect("migrate");
    assert!(path.exists());
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_write_concurrently_without_lock_errors() {
    // Like the CLI writing while a server runs: two processes' worth of pools.
    let (first, cleanup) = fresh_store().await;
    let path = first.writer().connect_options().get_filename().to_owned();
    let second = SqliteStore::open(&path).await.expect("open the same file");
    tokio::join!(
        tengine_storage_contract::cases::concurrent_transactions_all_succeed(&first),
        tengine_storage_contract::cases::concurrent_transactions_all_succeed(&second),
    );
    second.close().await;
    cleanup.await;
}
