//! Seeds a database of either backend to a given size for the growth curves of `cargo
//! xtask bench growth`, through the storage adapter (so the list counters are kept as in
//! production): `rows` projects in one account, and `rows` hourly usage rows, 720 of
//! them (30 days) for the measured project and the rest spread over the seeded projects.

use std::time::Instant;

use anyhow::Context;
use chrono::{Duration, Utc};
use futures::future::try_join_all;
use tengine_adapters_postgres::PgStore;
use tengine_adapters_sqlite::SqliteStore;
use tengine_domain::usage::Granularity;
use tengine_domain::{AccountId, ApiKeyId, Project, ProjectId};
use tengine_ports::{Store, UsageDelta};
use uuid::Uuid;

/// Projects per transaction.
const BATCH: u64 = 2_000;

/// Seeds `database_url` (PostgreSQL or SQLite) and prints what it made as JSON.
///
/// # Errors
/// A connection or store failure.
pub async fn seed(database_url: &str, account: &str, rows: u64) -> anyhow::Result<()> {
    let account: AccountId = account.parse().context("--account")?;
    if database_url.starts_with("postgres") {
        let store = PgStore::connect(database_url, 8).await.context("connect")?;
        seed_into(&store, account, rows, 4).await?;
        // What autovacuum does within a minute of a bulk load (it may be off on a
        // developer's server): the counters' dead row versions go, and the planner gets
        // statistics.
        sqlx::query("VACUUM (ANALYZE)").execute(store.pool()).await.context("vacuum")?;
        Ok(())
    } else {
        // One writer at a time in SQLite: concurrent transactions would only queue.
        let store = SqliteStore::connect(database_url).await.context("connect")?;
        seed_into(&store, account, rows, 1).await
    }
}

async fn seed_into<S: Store>(store: &S, account: AccountId, rows: u64, writers: u64) -> anyhow::Result<()> {
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
    println!(
        "{{\"projects\": {rows}, \"usage_rows\": {}, \"measured_project\": \"{}\", \"projects_seconds\": {projects_took:.1}, \"seconds\": {:.1}}}",
        720 + background,
        measured.id,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The `n`th seeded project, created `n` microseconds after a day ago.
fn project(account: AccountId, n: u64) -> anyhow::Result<Project> {
    let at = Utc::now() - Duration::days(1) + Duration::microseconds(i64::try_from(n)?);
    Ok(Project {
        id: ProjectId::from_uuid(Uuid::now_v7()),
        account_id: account,
        name: "seeded".parse()?,
        description: None,
        created_at: at,
        updated_at: at,
    })
}
