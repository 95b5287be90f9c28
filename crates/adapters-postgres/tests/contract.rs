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
        "SELECT COUNT(*) FROM events WHERE id = $1 AND account_id = $2 AND project_id = $3 \
         AND type = 'project.updated' AND data = $4::jsonb AND jsonb_typeof(data) = 'object' \
         AND created_at = $5",
    )
    .bind(e.id.to_string())
    .bind(acct.id.to_string())
    .bind(p.id.to_string())
    .bind(e.data.to_string())
    .bind(e.created_at)
    .fetch_one(store.pool())
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
