//! Deliveries: the fan-out of an event to its webhooks, single deliveries, and reads
//! of deliveries with their attempts.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqliteExecutor, SqlitePool};
use tengine_domain::delivery::{Delivery, Webhook};
use tengine_domain::{AccountId, DeliveryId, Event, EventId, Page, PageRequest, ProjectId, WebhookId};
use tengine_ports::RepoError;

use crate::error::{affected, map_err, map_missing};
use crate::list::List;
use crate::rows::{convert, delivery_columns, live_project, micros, webhook_columns, DeliveryRow, Guard, WebhookRow};

/// Every webhook of account `?1` on a live project: the fan-out's candidates, at one
/// key lookup per webhook whatever the number of projects.
const CANDIDATES: &str =
    concat!("SELECT ", webhook_columns!(), " FROM webhooks WHERE account_id = ?1 AND ", live_project!());

/// [`CANDIDATES`] of `n` projects (`?2`..) alone: the candidates of events about those
/// projects, by key, whatever the account (`?1`) holds. The index is named: without
/// statistics SQLite takes the account's equality for the narrower condition and would
/// walk the account's webhooks.
fn project_candidates(n: usize) -> String {
    let projects: Vec<String> = (2..n + 2).map(|i| format!("?{i}")).collect();
    format!(
        concat!(
            "SELECT ",
            webhook_columns!(),
            " FROM webhooks INDEXED BY webhooks_project_idx WHERE account_id = ?1 AND ",
            live_project!(),
            " AND project_id IN ({})"
        ),
        projects.join(", ")
    )
}

/// One pending delivery of a stored event to a stored webhook, due at `?4`; no row if
/// either is missing; paced as its webhook is.
const INSERT: &str = "\
INSERT INTO deliveries (id, event_id, webhook_id, event_type, status, attempt_count, next_attempt_at, created_at, paced) \
SELECT ?1, e.id, w.id, e.type, 'pending', 0, ?4, ?4, w.paced FROM events e, webhooks w WHERE e.id = ?2 AND w.id = ?3";

/// `SELECT <columns> FROM <table> WHERE <column> IN (<ids>) <suffix>`, with bound ids.
pub(crate) fn select_in<'a>(head: &str, ids: &'a [String], tail: &str) -> QueryBuilder<'a, Sqlite> {
    let mut q = QueryBuilder::new(head);
    q.push(" IN (");
    let mut list = q.separated(", ");
    for id in ids {
        list.push_bind(id.as_str());
    }
    q.push(") ");
    q.push(tail);
    q
}

/// Creates one pending delivery, due at the event's time, for every webhook of the
/// event's account that receives it ([`Webhook::receives`] decides, not SQL). The
/// candidates are read once per account of the batch, the deliveries written in one
/// statement.
pub(crate) async fn fan_out(conn: &mut SqliteConnection, events: &[Event]) -> Result<usize, RepoError> {
    let accounts: BTreeSet<AccountId> = events.iter().map(|e| e.account_id).collect();
    let projects = tengine_storage_rows::fan_out_projects(events);
    let mut candidates: Vec<Webhook> = Vec::new();
    for account in accounts {
        let rows = match &projects {
            None => sqlx::query_as::<_, WebhookRow>(CANDIDATES).bind(account.to_string()).fetch_all(&mut *conn).await,
            Some(projects) => {
                let sql = project_candidates(projects.len());
                let mut query = sqlx::query_as::<_, WebhookRow>(&sql).bind(account.to_string());
                for project in projects {
                    query = query.bind(project.as_str());
                }
                query.fetch_all(&mut *conn).await
            }
        }
        .map_err(map_err)?;
        candidates.extend(convert::<_, Webhook>(rows)?);
    }
    let due: Vec<(&Event, &Webhook)> = events
        .iter()
        .flat_map(|e| {
            candidates
                .iter()
                .filter(move |w| w.account_id == e.account_id && w.receives(e.event_type, e.project_id))
                .map(move |w| (e, w))
        })
        .collect();
    if due.is_empty() {
        return Ok(0);
    }
    let mut q = QueryBuilder::<Sqlite>::new(
        "INSERT INTO deliveries (id, event_id, webhook_id, event_type, status, attempt_count, next_attempt_at, created_at, paced) ",
    );
    q.push_values(&due, |mut row, (e, w)| {
        row.push_bind(DeliveryId::from_uuid(uuid::Uuid::now_v7()).to_string())
            .push_bind(e.id.to_string())
            .push_bind(w.id.to_string())
            .push_bind(e.event_type.as_str())
            .push_bind("pending")
            .push_bind(0i64)
            .push_bind(micros(e.created_at))
            .push_bind(micros(e.created_at))
            .push_bind(w.paced());
    });
    q.build().execute(&mut *conn).await.map_err(map_err)?;
    Ok(due.len())
}

/// Creates one pending delivery due at `at`; `NotFound` if the event or webhook is
/// missing, `Conflict` on a duplicate id.
pub(crate) async fn insert(
    ex: impl SqliteExecutor<'_>,
    id: DeliveryId,
    event: EventId,
    webhook: WebhookId,
    at: DateTime<Utc>,
) -> Result<(), RepoError> {
    let done = sqlx::query(INSERT)
        .bind(id.to_string())
        .bind(event.to_string())
        .bind(webhook.to_string())
        .bind(micros(at))
        .execute(ex)
        .await
        .map_err(map_missing)?;
    affected(done)
}

/// A page of a webhook's deliveries, newest first, with their attempts, and the total.
pub(crate) async fn list(
    pool: &SqlitePool,
    account: AccountId,
    project: ProjectId,
    webhook: WebhookId,
    page: PageRequest,
) -> Result<Page<Delivery>, RepoError> {
    let (hook, project, account) = (webhook.to_string(), project.to_string(), account.to_string());
    let list = List {
        table: "deliveries",
        columns: delivery_columns!(),
        scope: "webhook_id = ?1",
        binds: &[Some(&hook), Some(project.as_str()), Some(account.as_str())],
        counter: Some(format!("deliveries:{hook}")),
        guard: Some(Guard::ProjectWebhook),
    };
    list.fetch::<DeliveryRow>(pool, page).await?.try_map(|row| row.into_delivery(webhook))
}

/// One delivery of a webhook, with its attempts.
pub(crate) async fn get(pool: &SqlitePool, webhook: WebhookId, id: DeliveryId) -> Result<Option<Delivery>, RepoError> {
    let row = sqlx::query_as::<_, DeliveryRow>(concat!(
        "SELECT ",
        delivery_columns!(),
        " FROM deliveries WHERE webhook_id = ?1 AND id = ?2"
    ))
    .bind(webhook.to_string())
    .bind(id.to_string())
    .fetch_optional(pool)
    .await
    .map_err(map_err)?;
    row.map(|row| row.into_delivery(webhook)).transpose()
}

/// Marks recovered up to `limit` failed, never-recovered deliveries of `webhook` created in
/// `[since, until)`, oldest first, and returns them.
pub(crate) async fn take_failed(
    ex: impl sqlx::SqliteExecutor<'_>,
    webhook: WebhookId,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    at: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<(DeliveryId, EventId)>, RepoError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "UPDATE deliveries SET recovered_at = ?5 WHERE id IN (\
           SELECT id FROM deliveries WHERE webhook_id = ?1 AND status = 'failed' AND recovered_at IS NULL \
           AND created_at >= ?2 AND created_at < ?3 ORDER BY created_at, id LIMIT ?4) \
         RETURNING id, event_id",
    )
    .bind(webhook.to_string())
    .bind(micros(since))
    .bind(micros(until))
    .bind(i64::from(limit))
    .bind(micros(at))
    .fetch_all(ex)
    .await
    .map_err(map_err)?;
    rows.into_iter()
        .map(|(d, e)| Ok((d.parse().map_err(RepoError::other)?, e.parse().map_err(RepoError::other)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::SqliteStore;

    /// The query plan of `sql` with every parameter bound to `''`, one line per step.
    async fn plan(store: &SqliteStore, sql: &str, params: usize) -> Vec<String> {
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let mut q = sqlx::query_as::<_, (i64, i64, i64, String)>(&explain);
        for _ in 0..params {
            q = q.bind("");
        }
        q.fetch_all(store.reader()).await.expect("explain").into_iter().map(|(_, _, _, step)| step).collect()
    }

    #[tokio::test]
    async fn webhook_reads_by_account_never_list_the_accounts_projects() {
        let dir = std::env::temp_dir().join(format!("tengine-plan-{}", uuid::Uuid::new_v4().simple()));
        let store = SqliteStore::open(&dir.join("plan.db")).await.expect("open");
        store.migrate().await.expect("migrate");
        for (sql, params) in [(super::CANDIDATES, 1), (crate::webhook::FAILING, 3)] {
            let steps = plan(&store, sql, params).await;
            assert!(
                steps.iter().all(|s| !s.contains("LIST SUBQUERY") && !s.starts_with("SCAN")),
                "a step walks the account's projects or a whole table: {steps:?}"
            );
            assert!(steps.iter().any(|s| s.contains("projects") && s.contains("(id=?)")), "{steps:?}");
        }
        // A project's event: its project's webhooks, by that index, not the account's.
        let steps = plan(&store, &super::project_candidates(2), 3).await;
        assert!(steps.iter().all(|s| !s.starts_with("SCAN")), "{steps:?}");
        assert!(steps.iter().any(|s| s.contains("webhooks") && s.contains("(project_id=?)")), "{steps:?}");
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
