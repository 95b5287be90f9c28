//! Seeds a database of either backend to a given size for the growth curves of `cargo
//! xtask bench growth`, through the storage adapter (so the list counters are kept as in
//! production): `rows` projects in one account, and `rows` hourly usage rows, 720 of
//! them (30 days) for the measured project and the rest spread over the seeded projects;
//! in the measured project `rows` keys and `rows` events, each delivered to its one
//! webhook in one attempt (`rows` deliveries and `rows` attempts); and `rows` webhooks in
//! a project of a second account.

use std::time::Instant;

use anyhow::Context;
use chrono::{Duration, Utc};
use futures::future::try_join_all;
use tengine_adapters_postgres::PgStore;
use tengine_adapters_sqlite::SqliteStore;
use tengine_domain::delivery::{EventFilter, Webhook};
use tengine_domain::secret_key::SealedSecret;
use tengine_domain::usage::Granularity;
use tengine_domain::{
    base62, AccountId, ApiKey, ApiKeyId, Event, EventId, EventType, KeyScope, Permission, PermissionSet, PlainApiKey,
    Project, ProjectId, WebhookId,
};
use tengine_ports::{Store, UsageDelta};
use uuid::Uuid;

/// Projects per transaction.
const BATCH: u64 = 2_000;

/// Seeds `database_url` (PostgreSQL or SQLite) and prints what it made as JSON.
///
/// # Errors
/// A connection or store failure.
pub async fn seed(database_url: &str, account: &str, hooks_account: &str, rows: u64) -> anyhow::Result<()> {
    let account: AccountId = account.parse().context("--account")?;
    let hooks_account: AccountId = hooks_account.parse().context("--hooks-account")?;
    // The seeded deliveries are history: delivered, so the server's worker has nothing
    // to send while the bench measures, each with the attempt that delivered it (a page
    // of deliveries shows every delivery's attempts).
    // The attempt as the completion appends it (µs since the epoch first).
    const PG_DELIVERED: &str = "UPDATE deliveries SET status = 'succeeded', next_attempt_at = NULL, \
        attempt_count = 1, attempts = json_build_array(json_build_array(\
        CAST(EXTRACT(EPOCH FROM created_at) * 1000000 AS BIGINT), 200, 42, NULL, '{\"received\":true}'))::text";
    const SQLITE_DELIVERED: &str = "UPDATE deliveries SET status = 'succeeded', next_attempt_at = NULL, \
        attempt_count = 1, attempts = json_array(json_array(created_at, 200, 42, NULL, '{\"received\":true}'))";
    if database_url.starts_with("postgres") {
        let store = PgStore::connect(database_url, 8).await.context("connect")?;
        seed_into(&store, account, hooks_account, rows, 4).await?;
        sqlx::query(PG_DELIVERED).execute(store.pool()).await.context("deliveries")?;
        // What autovacuum does within a minute of a bulk load (it may be off on a
        // developer's server): the counters' dead row versions go, and the planner gets
        // statistics.
        sqlx::query("VACUUM (ANALYZE)").execute(store.pool()).await.context("vacuum")?;
        Ok(())
    } else {
        // One writer at a time in SQLite: concurrent transactions would only queue.
        let store = SqliteStore::connect(database_url).await.context("connect")?;
        seed_into(&store, account, hooks_account, rows, 1).await?;
        sqlx::query(SQLITE_DELIVERED).execute(store.writer()).await.context("deliveries")?;
        sqlx::query("ANALYZE").execute(store.writer()).await.context("analyze")?;
        Ok(())
    }
}

async fn seed_into<S: Store>(
    store: &S,
    account: AccountId,
    hooks_account: AccountId,
    rows: u64,
    writers: u64,
) -> anyhow::Result<()> {
    let started = Instant::now();
    // The measured project is the oldest, so the seeded ones never push it off a page.
    let measured = project(account, 0)?;
    let mut tx = store.begin().await?;
    tx.insert_project(&measured).await?;
    tx.commit().await?;
    let others = rows.saturating_sub(1);
    let per_writer = others.div_ceil(writers);
    let made = try_join_all((0..writers).map(|w| async move {
        let (from, to) = (w * per_writer, ((w + 1) * per_writer).min(others));
        let mut ids = Vec::new();
        let mut n = from;
        while n < to {
            let batch =
                (n..(n + BATCH).min(to)).map(|i| project(account, i + 1)).collect::<anyhow::Result<Vec<_>>>()?;
            ids.extend(batch.iter().step_by(1_000).map(|p| p.id));
            let mut tx = store.begin().await?;
            tx.insert_projects(&batch).await?;
            tx.commit().await?;
            n = (n + BATCH).min(to);
        }
        anyhow::Ok(ids)
    }))
    .await?;
    let spread: Vec<ProjectId> = made.into_iter().flatten().collect();
    let projects_took = started.elapsed().as_secs_f64();

    let now = Granularity::Hour.floor(Utc::now());
    let key = ApiKeyId::from_uuid(Uuid::now_v7());
    let mut batch: Vec<UsageDelta> = (0..720i64)
        .map(|h| UsageDelta {
            hour: now - Duration::hours(h),
            account_id: account,
            project_id: measured.id,
            subject: key.into(),
            counts: crate::counts(h as u64),
        })
        .collect();
    let background = if spread.is_empty() { 0 } else { rows.saturating_sub(720) };
    let mut keys = Vec::new();
    for i in 0..background {
        // Each spread project gets one key; hours go back as far as the rows need.
        let slot = (i as usize) % spread.len().max(1);
        let Some(project) = spread.get(slot) else { break };
        if keys.len() <= slot {
            keys.push(ApiKeyId::from_uuid(Uuid::now_v7()));
        }
        batch.push(UsageDelta {
            hour: now - Duration::hours(i64::try_from(i / spread.len() as u64)?),
            account_id: account,
            project_id: *project,
            subject: keys[slot].into(),
            counts: crate::counts(i),
        });
        if batch.len() == 10_000 {
            store.add_usage(&batch).await.context("add_usage")?;
            batch.clear();
        }
    }
    store.add_usage(&batch).await.context("add_usage")?;
    let nested = Instant::now();
    let hook = webhook(account, measured.id, "api_key.created")?;
    let mut tx = store.begin().await?;
    tx.insert_webhook(&hook).await?;
    tx.commit().await?;
    in_batches(rows, writers, |n| async move {
        let mut tx = store.begin().await?;
        for i in n {
            tx.insert_api_key(&seeded_key(account, measured.id, i)?).await?;
        }
        tx.commit().await?;
        anyhow::Ok(())
    })
    .await
    .context("keys")?;
    in_batches(rows, writers, |n| async move {
        let events = n.map(|i| event(account, measured.id, i)).collect::<anyhow::Result<Vec<_>>>()?;
        let mut tx = store.begin().await?;
        tx.append_events(&events).await?;
        tx.commit().await?;
        anyhow::Ok(())
    })
    .await
    .context("events")?;
    let hooks_project = project(hooks_account, 0)?;
    let mut tx = store.begin().await?;
    tx.insert_project(&hooks_project).await?;
    tx.commit().await?;
    in_batches(rows, writers, |n| async move {
        let mut tx = store.begin().await?;
        for _ in n {
            tx.insert_webhook(&webhook(hooks_account, hooks_project.id, "project.deleted")?).await?;
        }
        tx.commit().await?;
        anyhow::Ok(())
    })
    .await
    .context("webhooks")?;
    println!(
        "{{\"projects\": {rows}, \"usage_rows\": {}, \"measured_project\": \"{}\", \"measured_webhook\": \"{}\", \"hooks_project\": \"{}\", \"projects_seconds\": {projects_took:.1}, \"nested_seconds\": {:.1}, \"seconds\": {:.1}}}",
        720 + background,
        measured.id,
        hook.id,
        hooks_project.id,
        nested.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs `write` over `0..rows` in batches of [`BATCH`], `writers` at a time.
async fn in_batches<F, Fut>(rows: u64, writers: u64, write: F) -> anyhow::Result<()>
where
    F: Fn(std::ops::Range<u64>) -> Fut + Copy,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let per_writer = rows.div_ceil(writers);
    try_join_all((0..writers).map(|w| async move {
        let (mut n, to) = (w * per_writer, ((w + 1) * per_writer).min(rows));
        while n < to {
            let end = (n + BATCH).min(to);
            write(n..end).await?;
            n = end;
        }
        anyhow::Ok(())
    }))
    .await?;
    Ok(())
}

/// The `n`th seeded key of `project` (its secret is never used).
fn seeded_key(account: AccountId, project: ProjectId, n: u64) -> anyhow::Result<ApiKey> {
    let at = seeded_at(n)?;
    let random = base62::encode_fixed(Uuid::new_v4().as_u128(), base62::U128_WIDTH)
        + &base62::encode_fixed(Uuid::new_v4().as_u128(), base62::U128_WIDTH);
    let plain = PlainApiKey::from_random(&random[..40]).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(ApiKey {
        id: ApiKeyId::from_uuid(Uuid::now_v7()),
        account_id: account,
        scope: KeyScope::Project(project),
        name: "seeded".parse()?,
        permissions: [Permission::Read, Permission::Write].into_iter().collect::<PermissionSet>(),
        prefix: plain.display_prefix().to_owned(),
        digest: plain.digest(),
        previous: None,
        expires_at: None,
        created_at: at,
        updated_at: at,
        last_used_at: None,
        revoked_at: None,
    })
}

/// The `n`th seeded `api_key.created` event of `project`, with a payload of the real size.
fn event(account: AccountId, project: ProjectId, n: u64) -> anyhow::Result<Event> {
    let key = seeded_key(account, project, n)?;
    Ok(Event {
        id: EventId::from_uuid(Uuid::now_v7()),
        account_id: account,
        project_id: Some(project),
        event_type: EventType::ApiKeyCreated,
        data: serde_json::json!({
            "id": key.id.to_string(), "project_id": project.to_string(), "name": "seeded",
            "prefix": key.prefix, "permissions": ["read", "write"], "expires_at": null,
            "created_at": tengine_domain::time::format(key.created_at),
        })
        .into(),
        created_at: key.created_at,
    })
}

/// A webhook of `project` subscribed to `events`.
fn webhook(account: AccountId, project: ProjectId, events: &str) -> anyhow::Result<Webhook> {
    let now = Utc::now();
    Ok(Webhook {
        id: WebhookId::from_uuid(Uuid::now_v7()),
        account_id: account,
        project_id: project,
        url: "https://hooks.example.com/tengine".parse()?,
        description: None,
        events: EventFilter::parse_list(&[events]).map_err(|e| anyhow::anyhow!("{e:?}"))?,
        active: true,
        secret: SealedSecret::from_stored("tengine-sealed:v1:0011223344556677:c2VhbGVk".to_owned()),
        previous_secret: None,
        failing_since: None,
        created_at: now,
        updated_at: now,
        rate_limit: None,
        ordering: tengine_domain::delivery::DeliveryOrder::default(),
    })
}

/// A day ago plus `n` microseconds: distinct, ordered times.
fn seeded_at(n: u64) -> anyhow::Result<chrono::DateTime<Utc>> {
    Ok(Utc::now() - Duration::days(1) + Duration::microseconds(i64::try_from(n)?))
}

/// The `n`th seeded project, created `n` microseconds after a day ago.
fn project(account: AccountId, n: u64) -> anyhow::Result<Project> {
    let at = seeded_at(n)?;
    Ok(Project {
        id: ProjectId::from_uuid(Uuid::now_v7()),
        account_id: account,
        name: "seeded".parse()?,
        description: None,
        created_at: at,
        updated_at: at,
    })
}
