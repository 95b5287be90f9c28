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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_never_admit_past_the_limit_together() {
    use tengine_ports::RateCounterRepository;
    use tengine_storage_contract::fixtures::hour;

    let (first, cleanup) = fresh_store().await;
    let path = first.writer().connect_options().get_filename().to_owned();
    let second = SqliteStore::open(&path).await.expect("open the same file");
    let account = tengine_domain::AccountId::from_uuid(uuid::Uuid::now_v7());
    let admit = |store: &SqliteStore| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut admitted = 0;
            for _ in 0..25 {
                let (ok, _) = store.admit_one(account, hour(0), 0, 0, 20).await.expect("admit");
                admitted += u32::from(ok);
            }
            admitted
        })
    };
    let (a, b) = tokio::join!(admit(&first), admit(&second));
    assert_eq!(a.expect("first") + b.expect("second"), 20);
    second.close().await;
    cleanup.await;
}

#[tokio::test]
async fn events_are_stored_with_every_field_and_json_data() {
    use tengine_domain::EventType;
    use tengine_ports::UnitOfWork;
    use tengine_storage_contract::fixtures::{account, at, new_event, project};

    let (store, cleanup) = fresh_store().await;
    let acct = account(&store).await;
    let p = project(&store, acct.id, at(0)).await;
    let e = new_event(acct.id, Some(p.id), EventType::ProjectUpdated);
    let mut tx = store.begin().await.expect("begin");
    tx.append_event(&e).await.expect("append");
    tx.commit().await.expect("commit");
    let matching: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM events WHERE id = ?1 AND account_id = ?2 AND project_id = ?3 \
         AND type = 'project.updated' AND json(data) = json(?4) AND json_type(data) = 'object' \
         AND created_at = ?5",
    )
    .bind(e.id.to_string())
    .bind(acct.id.to_string())
    .bind(p.id.to_string())
    .bind(e.data.to_string())
    .bind(e.created_at.timestamp_micros())
    .fetch_one(store.reader())
    .await
    .expect("count");
    assert_eq!(matching, 1);
    cleanup.await;
}

#[tokio::test]
async fn old_rate_windows_are_purged() {
    use tengine_ports::{RateCounterRepository, RateDelta, UnitOfWork};
    use tengine_storage_contract::fixtures::{account, hour};

    let (store, cleanup) = fresh_store().await;
    let acct = account(&store).await;
    let deltas: Vec<_> = (0..5).map(|h| RateDelta { account_id: acct.id, window_start: hour(h), delta: 1 }).collect();
    store.sync_rate_counters(&deltas).await.expect("sync");
    let mut tx = store.begin().await.expect("begin");
    for h in 0..5 {
        let kind = tengine_domain::EventType::UsageLimitExceeded;
        assert!(tx.claim_usage_alert(acct.id, kind, hour(h)).await.expect("claim"));
    }
    tx.commit().await.expect("commit");

    assert_eq!(store.purge_rate_windows(hour(2)).await.expect("purge"), 4);
    let reads: Vec<_> = deltas.iter().map(|d| RateDelta { delta: 0, ..*d }).collect();
    let totals = store.sync_rate_counters(&reads).await.expect("read");
    assert_eq!(totals, vec![(0, 0), (0, 0), (1, 0), (1, 1), (1, 1)]);
    cleanup.await;
}
