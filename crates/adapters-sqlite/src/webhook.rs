//! Webhook endpoints: writes inside a transaction, and the reads of webhooks, their
//! deliveries and the event log.

use chrono::{DateTime, DurationRound, Utc};
use sqlx::SqliteExecutor;
use tengine_domain::delivery::{Delivery, DeliveryStats, Webhook, WebhookSummary};
use tengine_domain::secret_key::SealedSecret;
use tengine_domain::{AccountId, DeliveryId, Event, EventType, Page, PageRequest, ProjectId, WebhookId};
use tengine_ports::{RepoError, StoredWebhookSecrets, WebhookRepository, WebhookStats};

use crate::error::{affected, map_err};
use crate::list::List;
use crate::rows::{
    convert, event_columns, event_filter, live_project, micros, opt_micros, webhook_columns, EventRow, Guard,
    WebhookRow, WebhookSummaryRow, WEBHOOK_SUMMARY_COLUMNS,
};
use crate::{delivery, SqliteStore};

/// Reads a webhook of `project`. Inside an immediate transaction this is also a lock:
/// SQLite has one writer, which holds the whole database.
pub(crate) async fn fetch(
    ex: impl SqliteExecutor<'_>,
    project: ProjectId,
    id: WebhookId,
) -> Result<Option<Webhook>, RepoError> {
    sqlx::query_as::<_, WebhookRow>(concat!(
        "SELECT ",
        webhook_columns!(),
        " FROM webhooks WHERE project_id = ?1 AND id = ?2"
    ))
    .bind(project.to_string())
    .bind(id.to_string())
    .fetch_optional(ex)
    .await
    .map_err(map_err)?
    .map(Webhook::try_from)
    .transpose()
}

/// Inserts a webhook; `Conflict` on a duplicate id.
pub(crate) async fn insert(ex: impl SqliteExecutor<'_>, w: &Webhook) -> Result<(), RepoError> {
    sqlx::query(concat!(
        "INSERT INTO webhooks (",
        webhook_columns!(),
        ", paced) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
    ))
    .bind(w.id.to_string())
    .bind(w.account_id.to_string())
    .bind(w.project_id.to_string())
    .bind(w.url.as_str())
    .bind(w.description.as_deref())
    .bind(event_filter(&w.events))
    .bind(w.active)
    .bind(w.secret.as_stored())
    .bind(w.previous_secret.as_ref().map(|p| p.secret.as_stored()))
    .bind(w.previous_secret.as_ref().map(|p| micros(p.expires_at)))
    .bind(opt_micros(w.failing_since))
    .bind(micros(w.created_at))
    .bind(micros(w.updated_at))
    .bind(w.rate_limit.map(i64::from))
    .bind(w.ordering.as_str())
    .bind(w.paced())
    .execute(ex)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// Writes every mutable field of a webhook; switching it off records `manual` as the reason (the
/// worker records its own), switching it on clears it. Its pending deliveries follow it
/// into or out of the paced queue (see the `paced_deliveries` migration): moved first,
/// while the stored row still says how it was, and only when being paced changes, not on
/// every edit of a webhook with a backlog.
pub(crate) async fn update(conn: &mut sqlx::SqliteConnection, w: &Webhook) -> Result<(), RepoError> {
    sqlx::query(
        "UPDATE deliveries SET paced = ?3 WHERE (SELECT paced FROM webhooks WHERE project_id = ?1 AND id = ?2) <> ?3 \
         AND webhook_id = ?2 AND status = 'pending' AND paced <> ?3",
    )
    .bind(w.project_id.to_string())
    .bind(w.id.to_string())
    .bind(w.paced())
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    let done = sqlx::query(
        "UPDATE webhooks SET url = ?3, description = ?4, events = ?5, active = ?6, secret = ?7, \
         previous_secret = ?8, previous_secret_expires_at = ?9, failing_since = ?10, updated_at = ?11, rate_limit = ?12, ordering = ?13, \
         disabled_reason = CASE WHEN ?6 THEN NULL WHEN active THEN 'manual' ELSE disabled_reason END, \
         disabled_at = CASE WHEN ?6 THEN NULL WHEN active THEN ?11 ELSE disabled_at END, paced = ?14 \
         WHERE project_id = ?1 AND id = ?2",
    )
    .bind(w.project_id.to_string())
    .bind(w.id.to_string())
    .bind(w.url.as_str())
    .bind(w.description.as_deref())
    .bind(event_filter(&w.events))
    .bind(w.active)
    .bind(w.secret.as_stored())
    .bind(w.previous_secret.as_ref().map(|p| p.secret.as_stored()))
    .bind(w.previous_secret.as_ref().map(|p| micros(p.expires_at)))
    .bind(opt_micros(w.failing_since))
    .bind(micros(w.updated_at))
    .bind(w.rate_limit.map(i64::from))
    .bind(w.ordering.as_str())
    .bind(w.paced())
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    affected(done)
}

/// Deletes a webhook of `project`; its deliveries (with their attempts) go by cascade.
pub(crate) async fn delete(ex: impl SqliteExecutor<'_>, project: ProjectId, id: WebhookId) -> Result<(), RepoError> {
    let done = sqlx::query("DELETE FROM webhooks WHERE project_id = ?1 AND id = ?2")
        .bind(project.to_string())
        .bind(id.to_string())
        .execute(ex)
        .await
        .map_err(map_err)?;
    affected(done)
}

/// The failing webhooks of account `?1` (of project `?2` if given) on live projects,
/// longest failing first, at most `?3`.
pub(crate) const FAILING: &str = concat!(
    "SELECT ",
    webhook_columns!(),
    " FROM webhooks WHERE account_id = ?1 AND failing_since IS NOT NULL \
     AND (?2 IS NULL OR project_id = ?2) AND ",
    live_project!(),
    " ORDER BY failing_since, id LIMIT ?3"
);

#[async_trait::async_trait]
impl WebhookRepository for SqliteStore {
    async fn get_webhook(&self, project: ProjectId, id: WebhookId) -> Result<Option<Webhook>, RepoError> {
        fetch(&self.reader, project, id).await
    }

    async fn failing_webhooks(
        &self,
        account: AccountId,
        project: Option<ProjectId>,
        limit: u32,
    ) -> Result<Vec<Webhook>, RepoError> {
        let rows = sqlx::query_as::<_, WebhookRow>(FAILING)
            .bind(account.to_string())
            .bind(project.map(|p| p.to_string()))
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(map_err)?;
        convert(rows)
    }

    async fn list_webhooks(
        &self,
        account: AccountId,
        project: ProjectId,
        page: PageRequest,
    ) -> Result<Page<WebhookSummary>, RepoError> {
        let (project, account) = (project.to_string(), account.to_string());
        let list = List {
            table: "webhooks",
            columns: WEBHOOK_SUMMARY_COLUMNS,
            scope: "project_id = ?1",
            binds: &[Some(project.as_str()), Some(account.as_str())],
            counter: Some(format!("webhooks:{project}")),
            guard: Some(Guard::Project),
        };
        list.fetch::<WebhookSummaryRow>(&self.reader, page).await?.try_map(WebhookSummary::try_from)
    }

    async fn list_deliveries(
        &self,
        account: AccountId,
        project: ProjectId,
        webhook: WebhookId,
        page: PageRequest,
    ) -> Result<Page<Delivery>, RepoError> {
        delivery::list(&self.reader, account, project, webhook, page).await
    }

    async fn get_delivery(&self, webhook: WebhookId, id: DeliveryId) -> Result<Option<Delivery>, RepoError> {
        delivery::get(&self.reader, webhook, id).await
    }

    async fn webhook_stats(&self, webhook: WebhookId, since: DateTime<Utc>) -> Result<WebhookStats, RepoError> {
        // The rollups are whole hours: the hour holding `since` counts whole.
        let since_hour = since.duration_trunc(chrono::Duration::hours(1)).unwrap_or(since);
        let row: Option<(Option<String>, Option<i64>, i64, i64, i64)> = sqlx::query_as(
            "SELECT w.disabled_reason, w.disabled_at, COALESCE(SUM(h.attempts), 0), \
             COALESCE(SUM(h.succeeded), 0), COALESCE(SUM(h.latency_ms_sum), 0) \
             FROM webhooks w LEFT JOIN webhook_hourly h ON h.webhook_id = w.id AND h.hour >= ?2 \
             WHERE w.id = ?1 GROUP BY w.id, w.disabled_reason, w.disabled_at",
        )
        .bind(webhook.to_string())
        .bind(micros(since_hour))
        .fetch_optional(&self.reader)
        .await
        .map_err(map_err)?;
        let (reason, at, attempts, succeeded, latency_ms_sum) = row.ok_or(RepoError::NotFound)?;
        let count = |n: i64| u64::try_from(n).map_err(RepoError::other);
        let disabled = match (reason, at) {
            (Some(reason), Some(at)) => Some((
                reason.parse().map_err(|()| RepoError::other(format!("unknown disabled_reason {reason}")))?,
                crate::rows::at(at)?,
            )),
            _ => None,
        };
        Ok(WebhookStats {
            stats: DeliveryStats {
                attempts: count(attempts)?,
                succeeded: count(succeeded)?,
                latency_ms_sum: count(latency_ms_sum)?,
            },
            disabled,
        })
    }

    async fn list_events(
        &self,
        account: AccountId,
        project: ProjectId,
        kind: Option<EventType>,
        page: PageRequest,
    ) -> Result<Page<Event>, RepoError> {
        let (project, account) = (project.to_string(), account.to_string());
        let kind = kind.map(|k| k.as_str());
        let list = List {
            table: "events",
            columns: event_columns!(),
            scope: if kind.is_some() { "project_id = ?1 AND type = ?3" } else { "project_id = ?1" },
            binds: if kind.is_some() {
                &[Some(project.as_str()), Some(account.as_str()), kind]
            } else {
                &[Some(&project), Some(&account)]
            },
            // The type filter's total is counted on its index (see the migration).
            counter: kind.is_none().then(|| format!("events:{project}")),
            guard: Some(Guard::Project),
        };
        let page = list.fetch::<EventRow>(&self.reader, page).await?;
        page.try_map(Event::try_from)
    }

    async fn webhook_secrets_after(
        &self,
        after: Option<WebhookId>,
        limit: u32,
    ) -> Result<Vec<StoredWebhookSecrets>, RepoError> {
        let rows: Vec<(String, String, Option<String>)> =
            sqlx::query_as("SELECT id, secret, previous_secret FROM webhooks WHERE id > ?1 ORDER BY id LIMIT ?2")
                // "" sorts before every id: a plain range, which walks the primary key (an
                // `IS NULL OR` made SQLite scan and sort the whole table for every page).
                .bind(after.map(|id| id.to_string()).unwrap_or_default())
                .bind(i64::from(limit))
                .fetch_all(&self.reader)
                .await
                .map_err(map_err)?;
        rows.into_iter()
            .map(|(id, secret, previous)| {
                Ok(StoredWebhookSecrets {
                    id: id.parse().map_err(RepoError::other)?,
                    secret: SealedSecret::from_stored(secret),
                    previous: previous.map(SealedSecret::from_stored),
                })
            })
            .collect()
    }

    async fn replace_webhook_secrets(
        &self,
        old: &StoredWebhookSecrets,
        new: &StoredWebhookSecrets,
    ) -> Result<bool, RepoError> {
        let done = sqlx::query(
            "UPDATE webhooks SET secret = ?4, previous_secret = ?5 \
             WHERE id = ?1 AND secret = ?2 AND previous_secret IS ?3",
        )
        .bind(old.id.to_string())
        .bind(old.secret.as_stored())
        .bind(old.previous.as_ref().map(SealedSecret::as_stored))
        .bind(new.secret.as_stored())
        .bind(new.previous.as_ref().map(SealedSecret::as_stored))
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }
}
