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
        closing.close().await;
        drop_test_database(&admin, &url).await;
    };
    (store, cleanup)
}

/// Deletes an event row but not its deliveries, as a manual edit would (no foreign key
/// stops it: see the `delivery_references_by_trigger` migration).
async fn remove_event(store: PgStore, id: tengine_domain::EventId) {
    let done = sqlx::query("DELETE FROM events WHERE id = $1")
        .bind(id.to_string())
        .execute(store.pool())
        .await
        .expect("delete");
    assert_eq!(done.rows_affected(), 1);
}

tengine_storage_contract::contract_tests!(fresh_store, remove_event);

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
         AND type = 'project.updated' AND data::text = $4 AND json_typeof(data) = 'object' \
         AND created_at = $5",
    )
    .bind(e.id.to_string())
    .bind(acct.id.to_string())
    .bind(p.id.to_string())
    .bind(e.data.as_str())
    .bind(e.created_at)
    .fetch_one(store.pool())
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
    let notifier = tengine_adapters_postgres::PgDeliveryNotifier::listen(store.pool()).await.expect("listen");
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

/// A store on a fresh database with a pool of `max` connections.
async fn small_store(max: u32) -> (PgStore, String, String) {
    let admin = std::env::var("TENGINE_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned());
    let url = create_test_database(&admin).await;
    let store = PgStore::connect(&url, max).await.expect("connect to the test database");
    store.migrate().await.expect("migrate the test database");
    (store, admin, url)
}

/// The server ends every session of the database at `url` (a restart or failover looks
/// alike).
async fn end_sessions(admin: &str, url: &str) {
    let db = url.rsplit('/').next().expect("a database name");
    let mut admin_conn = <sqlx::PgConnection as sqlx::Connection>::connect(admin).await.expect("admin connection");
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(db)
        .execute(&mut admin_conn)
        .await
        .expect("terminate the sessions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_kept_for_reads_leave_room_for_transactions_and_close_cleanly() {
    use tengine_ports::{ProjectRepository, UnitOfWork};
    use tengine_storage_contract::fixtures::{account, at, project};

    let (store, admin, url) = small_store(2).await;
    let acct = account(&store).await;
    let p = project(&store, acct.id, at(0)).await;
    // One of the two connections is now kept for reads...
    assert!(store.get_project(acct.id, p.id).await.expect("read").is_some());
    assert_eq!(store.kept_idle(), 1);
    // ...and a transaction still gets the other, while reads go on beside it.
    let tx = store.begin().await.expect("a transaction starts beside a kept connection");
    assert!(store.get_project(acct.id, p.id).await.expect("read beside a transaction").is_some());
    tx.commit().await.expect("commit");
    // Closing waits for every connection; the kept one must not make it hang.
    tokio::time::timeout(std::time::Duration::from_secs(10), store.close())
        .await
        .expect("the store closes with a connection kept for reads");
    drop_test_database(&admin, &url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_recover_when_the_server_drops_kept_connections() {
    use tengine_ports::ProjectRepository;
    use tengine_storage_contract::fixtures::{account, at, project};

    let (store, admin, url) = small_store(8).await;
    let acct = account(&store).await;
    let p = project(&store, acct.id, at(0)).await;
    let reads = (0..8).map(|_| store.get_project(acct.id, p.id));
    for read in futures::future::join_all(reads).await {
        assert!(read.expect("read").is_some());
    }
    assert!(store.kept_idle() > 0, "reads keep connections");
    end_sessions(&admin, &url).await;
    // A read on a dead kept connection fails as unavailable (no panic) and is not kept;
    // within as many reads as were kept, they answer again.
    let mut failures = 0;
    let mut answered = false;
    for _ in 0..=8 {
        match store.get_project(acct.id, p.id).await {
            Ok(found) => {
                assert!(found.is_some());
                answered = true;
                break;
            }
            Err(e) => {
                assert!(matches!(e, tengine_ports::RepoError::Unavailable(_)), "{e:?}");
                failures += 1;
            }
        }
    }
    assert!(answered, "reads answer again after {failures} failures");
    store.close().await;
    drop_test_database(&admin, &url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_lookup_uses_the_primary_key_even_without_statistics() {
    use sqlx::Connection;
    use tengine_storage_contract::fixtures::{account, at, project};

    let (store, admin, url) = small_store(2).await;
    let acct = account(&store).await;
    let mut last = None;
    for i in 0..300 {
        last = Some(project(&store, acct.id, at(i)).await);
    }
    let p = last.expect("a project");
    // A new database has no statistics; force what a connection ends up with after five
    // executions of a prepared statement.
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
    sqlx::query("SET plan_cache_mode = force_generic_plan").execute(&mut conn).await.expect("set");
    let sql = format!("PREPARE lookup(text, text) AS {}", tengine_adapters_postgres::PROJECT_LOOKUP_SQL);
    sqlx::query(&sql).execute(&mut conn).await.expect("prepare");
    let plan: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN EXECUTE lookup('{}', '{}')", acct.id, p.id))
        .fetch_all(&mut conn)
        .await
        .expect("explain");
    let plan = plan.join("\n");
    assert!(plan.contains("projects_pkey"), "{plan}");
    assert!(!plan.contains("projects_account_live_idx"), "{plan}");
    conn.close().await.expect("close");
    store.close().await;
    drop_test_database(&admin, &url).await;
}

/// The generic plan `statement` gets on a delivery-queue connection of a new database,
/// with `args` for its parameters.
async fn queue_plan(store: &PgStore, statement: &str, types: &str, args: &str) -> String {
    use sqlx::Connection;

    let options = store.queue_pool().connect_options().as_ref().clone();
    let mut conn = sqlx::PgConnection::connect_with(&options).await.expect("connect");
    let mode: String = sqlx::query_scalar("SHOW plan_cache_mode").fetch_one(&mut conn).await.expect("show");
    assert_eq!(mode, "force_generic_plan");
    sqlx::query(&format!("PREPARE s({types}) AS {statement}")).execute(&mut conn).await.expect("prepare");
    let plan: Vec<String> =
        sqlx::query_scalar(&format!("EXPLAIN EXECUTE s({args})")).fetch_all(&mut conn).await.expect("explain");
    conn.close().await.expect("close");
    plan.join("\n")
}

/// Rows named by id are reached by primary key, never by reading some other index and
/// filtering it by id: such a plan, cached while the table was empty, read every pending
/// delivery on each call once there was a backlog.
fn assert_by_key(plan: &str) {
    let filtered = plan.lines().find(|l| l.contains("Filter:") && l.contains("(id = ANY"));
    assert!(filtered.is_none(), "a lookup by id is a filter: {plan}");
}

#[tokio::test]
async fn the_delivery_queue_plans_once_and_by_index_on_a_new_database() {
    let (store, cleanup) = fresh_store().await;
    // A table never analyzed is taken for ten pages; a plan cached then, with sequential
    // scans allowed, read every row of `deliveries` on each call as the table grew.
    let claim = queue_plan(
        &store,
        tengine_adapters_postgres::CLAIM_SQL,
        "text, timestamptz, timestamptz, bigint, timestamptz",
        "'w', now(), now() + interval '1 minute', 64, date_trunc('second', now())",
    )
    .await;
    assert!(!claim.contains("Seq Scan on deliveries"), "{claim}");
    assert!(claim.contains("deliveries_due_unpaced_idx"), "{claim}");
    assert_by_key(&claim);
    // The claim reads each delivery's event and webhook by key, one probe a delivery.
    assert!(claim.contains("Index Scan using events_pkey"), "{claim}");
    assert!(claim.contains("Index Scan using webhooks_pkey"), "{claim}");
    for statement in [tengine_adapters_postgres::POSTPONE_SQL, tengine_adapters_postgres::FAIL_ORPHANS_SQL] {
        let plan = queue_plan(&store, statement, "text[], text, timestamptz", "'{d}', 'w', now()").await;
        assert!(plan.contains("deliveries_pkey"), "{plan}");
        assert_by_key(&plan);
    }
    let complete = queue_plan(
        &store,
        tengine_adapters_postgres::COMPLETE_SQL,
        "text[], text[], timestamptz[], timestamptz[], int[], bigint[], text[], text[], text[], text[], \
         timestamptz[], text[], timestamptz[], bigint[], bigint[], bigint[]",
        "'{d}', '{delivered}', '{NULL}', ARRAY[now()], '{200}', '{1}', '{NULL}', '{NULL}', '{w}', '{clear}', \
         ARRAY[now()], '{w}', ARRAY[now()], '{1}', '{1}', '{1}'",
    )
    .await;
    assert!(!complete.contains("Seq Scan on deliveries"), "{complete}");
    assert!(complete.contains("deliveries_pkey"), "{complete}");
    cleanup.await;
}

/// Only claims and hand-backs commit without waiting for the WAL's flush: the API's
/// writes (events and deliveries included) and the queue's completions stay durable.
#[tokio::test]
async fn only_the_queues_leases_commit_without_waiting_for_the_wal() {
    let (store, cleanup) = fresh_store().await;
    assert_eq!(show(store.lease_pool(), "synchronous_commit").await, "off");
    assert_eq!(show(store.queue_pool(), "synchronous_commit").await, "on");
    assert_eq!(show(store.pool(), "synchronous_commit").await, "on");
    // The leases plan like the rest of the queue.
    assert_eq!(show(store.lease_pool(), "plan_cache_mode").await, "force_generic_plan");
    cleanup.await;
}

/// A setting of a connection of `pool`.
async fn show(pool: &sqlx::PgPool, setting: &str) -> String {
    sqlx::query_scalar(&format!("SHOW {setting}")).fetch_one(pool).await.expect("show")
}

#[tokio::test]
async fn a_claim_changes_no_indexed_column_so_it_can_stay_on_its_page() {
    let (store, cleanup) = fresh_store().await;
    // An index on (or a partial index's condition over) a column the claim writes would
    // make every claim a full update, with a new entry in each index.
    let touching: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         WHERE i.indrelid = 'deliveries'::regclass AND (EXISTS (SELECT 1 FROM pg_attribute a \
             WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) AND a.attname IN ('claimed_by', 'lease_until')) \
           OR pg_get_expr(i.indpred, i.indrelid) ~ '(claimed_by|lease_until)' \
           OR pg_get_expr(i.indexprs, i.indrelid) ~ '(claimed_by|lease_until)')",
    )
    .fetch_all(store.pool())
    .await
    .expect("indexes");
    assert!(touching.is_empty(), "{touching:?}");
    let options: Option<Vec<String>> =
        sqlx::query_scalar("SELECT reloptions FROM pg_class WHERE oid = 'deliveries'::regclass")
            .fetch_one(store.pool())
            .await
            .expect("options");
    assert_eq!(options, Some(vec!["fillfactor=90".to_owned()]));
    cleanup.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_keeps_its_connections_and_recovers_when_the_server_drops_them() {
    use tengine_ports::DeliveryQueue;

    let (store, admin, url) = small_store(2).await;
    let lease = std::time::Duration::from_secs(60);
    let claimed = store.claim_due("w", chrono::Utc::now(), lease, 8).await.expect("claim");
    assert!(claimed.is_empty());
    assert_eq!(store.leases_kept_idle(), 1, "the claim's connection is kept with the leases'");
    assert!(store.claim_due("w", chrono::Utc::now(), lease, 8).await.expect("claim").is_empty());
    assert_eq!(store.leases_kept_idle(), 1, "and handed to the next claim");
    assert_eq!(store.queue_kept_idle(), 0);
    assert!(store.next_due().await.expect("next due").is_none());
    assert_eq!(store.queue_kept_idle(), 1, "the queue's other statements keep theirs");
    assert!(store.next_due().await.expect("next due").is_none());
    assert_eq!(store.queue_kept_idle(), 1, "and hand it to the next statement");
    assert_eq!(store.connections_in_use(), 0, "a kept connection is idle, not in use");
    end_sessions(&admin, &url).await;
    // The dead kept connections fail one statement each as unavailable, and are not kept.
    let jobs = answered_again(|| store.claim_due("w", chrono::Utc::now(), lease, 8)).await;
    assert!(jobs.is_empty(), "claims answer again");
    let due = answered_again(|| store.next_due()).await;
    assert!(due.is_none(), "the queue's other statements answer again");
    tokio::time::timeout(std::time::Duration::from_secs(10), store.close()).await.expect("the store closes");
    drop_test_database(&admin, &url).await;
}

/// What `call` answers within three tries, each failure being `Unavailable` (a
/// connection the server dropped).
async fn answered_again<T, F, Fut>(mut call: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, tengine_ports::RepoError>>,
{
    for _ in 0..3 {
        match call().await {
            Ok(answer) => return answer,
            Err(e) => assert!(matches!(e, tengine_ports::RepoError::Unavailable(_)), "{e:?}"),
        }
    }
    panic!("no answer within three tries");
}

/// Rows of `table` whose `column` is one of `ids`.
async fn rows_of(store: &PgStore, table: &str, column: &str, ids: &[String]) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table} WHERE {column} = ANY($1)"))
        .bind(ids)
        .fetch_one(store.pool())
        .await
        .expect("count")
}

/// Deliveries have no foreign keys (see the `delivery_references_by_trigger` migration);
/// a deleted webhook's cascade is a trigger. It leaves no delivery behind, and another
/// webhook's deliveries stay with their attempts (which they carry on their rows, see
/// the `attempts_on_the_delivery` migration) until they are purged.
#[tokio::test]
async fn deletes_cascade_to_deliveries_without_foreign_keys() {
    use chrono::Utc;
    use tengine_domain::delivery::DeliveryStatus;
    use tengine_domain::EventType;
    use tengine_ports::{AttemptResult, DeliveryQueue, UnitOfWork, WebhookEffect, WebhookRepository};
    use tengine_storage_contract::fixtures::{account, append, at, attempt, new_event, project, webhook};

    let (store, cleanup) = fresh_store().await;
    let acct = account(&store).await;
    let p = project(&store, acct.id, at(0)).await;
    let (gone, kept) = (webhook(&store, acct.id, p.id, &["*"]).await, webhook(&store, acct.id, p.id, &["*"]).await);
    for _ in 0..3 {
        assert_eq!(append(&store, &new_event(acct.id, Some(p.id), EventType::ProjectUpdated)).await, 2);
    }
    let jobs = store.claim_due("w", at(10), std::time::Duration::from_secs(30), 10).await.expect("claim");
    assert_eq!(jobs.len(), 6);
    let results: Vec<AttemptResult> = jobs
        .iter()
        .map(|j| AttemptResult {
            delivery_id: j.delivery_id,
            webhook_id: j.webhook.id,
            attempt: attempt(at(11), Some(200), 5, None, None),
            status: DeliveryStatus::Succeeded,
            next_attempt_at: None,
            webhook_effect: WebhookEffect::Healthy,
            announcement: None,
        })
        .collect();
    store.complete(&results).await.expect("complete");
    let ids_of = |w: tengine_domain::WebhookId| -> Vec<String> {
        jobs.iter().filter(|j| j.webhook.id == w).map(|j| j.delivery_id.to_string()).collect()
    };
    let (gone_ids, kept_ids) = (ids_of(gone.id), ids_of(kept.id));
    assert_eq!(rows_of(&store, "deliveries", "id", &gone_ids).await, 3);

    let mut tx = store.begin().await.expect("begin");
    tx.delete_webhook(p.id, gone.id).await.expect("delete");
    tx.commit().await.expect("commit");
    assert_eq!(rows_of(&store, "deliveries", "webhook_id", &[gone.id.to_string()]).await, 0);
    assert_eq!(rows_of(&store, "deliveries", "id", &kept_ids).await, 3, "the other webhook keeps its deliveries");
    for id in &kept_ids {
        let d = store.get_delivery(kept.id, id.parse().expect("an id")).await.expect("read").expect("kept");
        assert_eq!(d.attempts.len(), 1, "with its attempt");
    }

    let purged = store.purge_delivered(Utc::now(), 10).await.expect("purge");
    assert_eq!(purged.deliveries, 3);
    assert_eq!(rows_of(&store, "deliveries", "id", &kept_ids).await, 0, "purged");
    cleanup.await;
}

/// Whether another transaction would wait for webhook `id`'s row: a fan-out's key share
/// lock on it is held.
async fn webhook_locked(store: &PgStore, id: tengine_domain::WebhookId) -> bool {
    match sqlx::query("SELECT 1 FROM webhooks WHERE id = $1 FOR UPDATE NOWAIT")
        .bind(id.to_string())
        .fetch_optional(store.pool())
        .await
    {
        Ok(row) => {
            assert!(row.is_some(), "webhook {id} is stored");
            false
        }
        // lock_not_available: any other error is the test's own failure.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55P03") => true,
        Err(e) => panic!("locking webhook {id}: {e}"),
    }
}

/// A project's event reads, and key share locks, the webhooks of its project alone, so
/// its cost does not grow with the account's other projects and it holds none of their
/// webhooks; an account-wide event reads every webhook of the account.
#[tokio::test]
async fn a_projects_event_locks_only_its_projects_webhooks() {
    use tengine_domain::EventType;
    use tengine_ports::UnitOfWork;
    use tengine_storage_contract::fixtures::{account, at, new_event, project, webhook};

    let (store, cleanup) = fresh_store().await;
    let acct = account(&store).await;
    let (mine, other) = (project(&store, acct.id, at(0)).await, project(&store, acct.id, at(0)).await);
    let hook = webhook(&store, acct.id, mine.id, &["*"]).await;
    let elsewhere = webhook(&store, acct.id, other.id, &["*"]).await;
    let third = project(&store, acct.id, at(0)).await;
    let idle = webhook(&store, acct.id, third.id, &["*"]).await;

    let mut tx = store.begin().await.expect("begin");
    let updated = new_event(acct.id, Some(mine.id), EventType::ProjectUpdated);
    assert_eq!(tx.append_event(&updated).await.expect("append"), 1);
    assert!(webhook_locked(&store, hook.id).await, "its project's webhook is held until the commit");
    assert!(!webhook_locked(&store, elsewhere.id).await, "another project's webhook is not");
    tx.commit().await.expect("commit");

    // A batch about two projects: theirs, not a third's.
    let mut tx = store.begin().await.expect("begin");
    let both = [
        new_event(acct.id, Some(mine.id), EventType::ProjectUpdated),
        new_event(acct.id, Some(other.id), EventType::ProjectUpdated),
    ];
    assert_eq!(tx.append_events(&both).await.expect("append"), 2);
    assert!(webhook_locked(&store, hook.id).await && webhook_locked(&store, elsewhere.id).await);
    assert!(!webhook_locked(&store, idle.id).await, "a third project's webhook is not held");
    tx.commit().await.expect("commit");

    let mut tx = store.begin().await.expect("begin");
    let created = new_event(acct.id, Some(mine.id), EventType::ProjectCreated);
    assert_eq!(tx.append_event(&created).await.expect("append"), 3, "account-wide: every webhook receives it");
    assert!(webhook_locked(&store, idle.id).await, "and every webhook is held");
    tx.commit().await.expect("commit");
    cleanup.await;
}

/// The `attempts_on_the_delivery` migration moves each delivery's attempts onto its
/// row, oldest first, text intact; a delivery without attempts gets none.
#[tokio::test]
async fn attempts_move_onto_their_deliveries() {
    use tengine_storage_contract::fixtures::{
        assert_attempts_moved, attempts_to_migrate, migrator_before, webhook_with_two_deliveries,
    };

    let admin = std::env::var("TENGINE_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned());
    let url = create_test_database(&admin).await;
    let store = PgStore::connect(&url, 2).await.expect("connect");
    let scratch = std::env::temp_dir().join(format!("tengine-migrations-{}", uuid::Uuid::new_v4().simple()));
    let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    migrator_before(&migrations, 20250125000000, &scratch).await.run(store.pool()).await.expect("the older schema");
    let _ = std::fs::remove_dir_all(&scratch);
    let w = webhook_with_two_deliveries(&store).await;
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT id FROM deliveries ORDER BY id").fetch_all(store.pool()).await.expect("ids");
    let attempts = attempts_to_migrate();
    // Numbered 2 then 1: the order comes from `n`, not from the insert.
    for (n, a) in [(2, &attempts[1]), (1, &attempts[0])] {
        sqlx::query(
            "INSERT INTO delivery_attempts (delivery_id, n, attempted_at, status_code, latency_ms, error, \
             response_excerpt) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&ids[0])
        .bind(n)
        .bind(a.attempted_at)
        .bind(a.status_code.map(i32::from))
        .bind(i64::try_from(a.latency_ms).expect("small"))
        .bind(a.error.as_deref())
        .bind(a.response_excerpt.as_deref())
        .execute(store.pool())
        .await
        .expect("an attempt");
    }

    store.migrate().await.expect("migrate");
    assert_attempts_moved(&store, &w, &ids[0], &ids[1]).await;
    store.close().await;
    drop_test_database(&admin, &url).await;
}
