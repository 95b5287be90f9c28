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

/// Deletes an event row but not its deliveries, as a manual edit would.
async fn remove_event(store: SqliteStore, id: tengine_domain::EventId) {
    let mut conn = store.writer().acquire().await.expect("a connection");
    sqlx::query("PRAGMA foreign_keys = OFF").execute(&mut *conn).await.expect("foreign keys off");
    let done = sqlx::query("DELETE FROM events WHERE id = ?1").bind(id.to_string()).execute(&mut *conn).await;
    // Back on before the connection returns to the pool.
    sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await.expect("foreign keys on");
    assert_eq!(done.expect("delete").rows_affected(), 1);
}

tengine_storage_contract::contract_tests!(fresh_store, remove_event);

/// With STAT4, statistics from an ANALYZE (an operator's, or the bench's after a bulk
/// load) make SQLite re-prepare a cached statement whenever a parameter is bound.
#[tokio::test]
async fn sqlite_is_built_without_stat4() {
    let (store, cleanup) = fresh_store().await;
    let stat4: bool = sqlx::query_scalar("SELECT sqlite_compileoption_used('ENABLE_STAT4')")
        .fetch_one(store.reader())
        .await
        .expect("compile options");
    assert!(!stat4, "the bundled SQLite must be built with -USQLITE_ENABLE_STAT4 (.cargo/config.toml)");
    cleanup.await;
}

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

#[cfg(unix)]
#[tokio::test]
async fn database_files_and_created_folders_are_private_to_the_owner() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    let dir = std::env::temp_dir().join(format!("tengine-test-{}", uuid::Uuid::new_v4().simple()));
    let path = dir.join("nested").join("tengine.db");
    let store = SqliteStore::open(&path).await.expect("open");
    store.migrate().await.expect("migrate");
    tengine_storage_contract::cases::committed_writes_become_visible(&store).await;
    assert_eq!(mode(&dir.join("nested")), 0o700);
    for file in ["tengine.db", "tengine.db-wal", "tengine.db-shm"] {
        assert_eq!(mode(&dir.join("nested").join(file)), 0o600, "{file}");
    }
    store.close().await;
    // A database made by an older version (0644) is tightened when opened.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let url = format!("sqlite://{}", path.display());
    let again = SqliteStore::connect(&url).await.expect("reopen");
    assert_eq!(mode(&path), 0o600);
    again.close().await;
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
    .bind(e.data.as_str())
    .bind(e.created_at.timestamp_micros())
    .fetch_one(store.reader())
    .await
    .expect("count");
    assert_eq!(matching, 1);
    cleanup.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_that_creates_deliveries_wakes_the_notifier_within_a_second() {
    use std::time::Duration;

    use tengine_domain::EventType;
    use tengine_ports::{DeliveryNotifier, UnitOfWork};
    use tengine_storage_contract::fixtures::{account, append, at, new_event, project, webhook};

    let (store, cleanup) = fresh_store().await;
    let notifier = store.delivery_notifier();
    let acct = account(&store).await;
    let p = project(&store, acct.id, at(0)).await;
    webhook(&store, acct.id, p.id, &["*"]).await;

    // Neither a rolled-back fan-out nor a commit without deliveries wakes anyone.
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(tx.append_event(&new_event(acct.id, Some(p.id), EventType::ApiKeyCreated)).await.expect("append"), 1);
    drop(tx);
    assert_eq!(append(&store, &new_event(acct.id, Some(p.id), EventType::WebhookTest)).await, 0);
    assert!(tokio::time::timeout(Duration::from_millis(300), notifier.wait()).await.is_err(), "woken for nothing");

    let waiting = tokio::spawn(async move { tokio::time::timeout(Duration::from_secs(1), notifier.wait()).await });
    assert_eq!(append(&store, &new_event(acct.id, Some(p.id), EventType::ApiKeyCreated)).await, 1);
    assert!(waiting.await.expect("the waiter finishes").is_ok(), "woken within a second of the commit");
    cleanup.await;
}

/// The `attempts_on_the_delivery` migration moves each delivery's attempts onto its
/// row, oldest first, text intact; a delivery without attempts gets none.
#[tokio::test]
async fn attempts_move_onto_their_deliveries() {
    use tengine_storage_contract::fixtures::{
        assert_attempts_moved, attempts_to_migrate, migrator_before, webhook_with_two_deliveries,
    };

    let dir = std::env::temp_dir().join(format!("tengine-test-{}", uuid::Uuid::new_v4().simple()));
    let store = SqliteStore::open(&dir.join("tengine.db")).await.expect("open");
    let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let older = migrator_before(&migrations, 20250125000000, &dir.join("migrations")).await;
    older.run(store.writer()).await.expect("the older schema");
    let w = webhook_with_two_deliveries(&store).await;
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT id FROM deliveries ORDER BY id").fetch_all(store.reader()).await.expect("ids");
    let attempts = attempts_to_migrate();
    // Numbered 2 then 1: the order comes from `n`, not from the insert.
    for (n, a) in [(2, &attempts[1]), (1, &attempts[0])] {
        sqlx::query(
            "INSERT INTO delivery_attempts (delivery_id, n, attempted_at, status_code, latency_ms, error, \
             response_excerpt) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .bind(&ids[0])
        .bind(n)
        .bind(a.attempted_at.timestamp_micros())
        .bind(a.status_code.map(i64::from))
        .bind(i64::try_from(a.latency_ms).expect("small"))
        .bind(a.error.as_deref())
        .bind(a.response_excerpt.as_deref())
        .execute(store.writer())
        .await
        .expect("an attempt");
    }

    store.migrate().await.expect("migrate");
    assert_attempts_moved(&store, &w, &ids[0], &ids[1]).await;
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
