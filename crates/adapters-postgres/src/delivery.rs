//! Deliveries: the fan-out of an event to its webhooks, single deliveries, and reads
//! of deliveries with their attempts.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::{FromRow, PgConnection, Postgres, Row};
use tengine_domain::delivery::{Delivery, Webhook};
use tengine_domain::{AccountId, DeliveryId, Event, EventId, Page, PageRequest, Project, ProjectId, WebhookId};
use tengine_ports::RepoError;

use crate::error::{affected, map_err};
use crate::list::List;
use crate::rows::{convert, count_inserted, delivery_columns, webhook_columns, DeliveryRow, Guard, WebhookRow};
use crate::PgStore;

/// The channel workers listen on; a notification means "deliveries were committed".
pub(crate) const CHANNEL: &str = "tengine_deliveries";

/// The events `$2`..`$7` inserted (`WHERE` the condition given holds) and counted in
/// their projects' lists: two `WITH` items.
macro_rules! appending {
    ($condition:literal) => {
        concat!(
            "appended AS ( \
                INSERT INTO events (id, account_id, project_id, type, data, created_at) \
                SELECT id, account_id, project_id, type, data::json, created_at \
                FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[]) \
                AS e(id, account_id, project_id, type, data, created_at)",
            $condition,
            " RETURNING project_id), ",
            count_inserted!("events", "project_id", "appended")
        )
    };
}

/// Inserts the events `$2`..`$7` and counts them in their projects' lists, then reads
/// the fan-out's candidates (the rest of the statement), in the same round trip.
macro_rules! append_then {
    ($candidates:expr) => {
        concat!("WITH ", appending!(""), " SELECT ", webhook_columns!(), $candidates)
    };
}

/// The webhooks of the live project `$8` of the accounts `$1`, key share locked.
macro_rules! project_candidates {
    () => {
        " FROM webhooks WHERE project_id = $8 AND account_id = ANY($1) \
         AND project_id IN (SELECT id FROM projects WHERE id = $8 AND account_id = ANY($1) AND deleted_at IS NULL) \
         FOR KEY SHARE"
    };
}

/// [`append_then`] every webhook of the accounts `$1` on a live project: the candidates
/// of an account-wide event. The key share lock makes a concurrent delete of one wait
/// (or be seen), so the deliveries inserted next never miss their webhook.
const APPEND_AND_CANDIDATES: &str = append_then!(
    " FROM webhooks WHERE account_id = ANY($1) \
     AND project_id IN (SELECT id FROM projects WHERE account_id = ANY($1) AND deleted_at IS NULL) \
     FOR KEY SHARE"
);

/// [`append_then`] the webhooks of the live project `$8` of the accounts `$1`: the
/// candidates of events about that project alone, by key, whatever the account holds.
/// One project (what a batch of one project's updates holds) is a plain parameter: for
/// `= ANY($8)` PostgreSQL's generic plan assumes ten elements and, from a thousand
/// webhooks in the account, reads them all instead of the project's index.
const APPEND_AND_PROJECT_CANDIDATES: &str = append_then!(project_candidates!());

/// [`APPEND_AND_PROJECT_CANDIDATES`] of the projects `$8`.
const APPEND_AND_PROJECTS_CANDIDATES: &str = append_then!(
    " FROM webhooks WHERE project_id = ANY($8) AND account_id = ANY($1) \
     AND project_id IN (SELECT id FROM projects WHERE id = ANY($8) AND account_id = ANY($1) AND deleted_at IS NULL) \
     FOR KEY SHARE"
);

/// The column of [`UPDATE_APPEND_AND_PROJECT_CANDIDATES`] that counts the projects
/// updated (one, or none when the project is missing or deleted).
const UPDATED_COLUMN: &str = "updated_";

/// Writes the live project `$8` of the account `$12` (name `$9`, description `$10`,
/// `updated_at` `$11`), then, if it was there, [`APPEND_AND_PROJECT_CANDIDATES`]: a
/// project update's three statements in one round trip. Every row carries how many
/// projects were updated; with no candidate there is still one row, its webhook
/// columns null.
const UPDATE_APPEND_AND_PROJECT_CANDIDATES: &str = concat!(
    "WITH updated AS (UPDATE projects SET name = $9, description = $10, updated_at = $11 \
        WHERE account_id = $12 AND id = $8 AND deleted_at IS NULL RETURNING 1), ",
    appending!(" WHERE EXISTS (SELECT 1 FROM updated)"),
    ", locked AS (SELECT ",
    webhook_columns!(),
    project_candidates!(),
    ") SELECT locked.*, (SELECT COUNT(*) FROM updated) AS updated_ FROM (SELECT 1) AS one LEFT JOIN locked ON true"
);

/// One pending delivery per (id, webhook, event, event type, due time, paced), counted
/// in its webhook's list, and a wake-up for the workers on channel `$7`, sent when the
/// transaction commits (and dropped with it), in the same round trip.
const INSERT_MANY: &str = concat!(
    "WITH inserted AS ( \
        INSERT INTO deliveries (id, event_id, webhook_id, event_type, status, attempt_count, next_attempt_at, created_at, paced) \
        SELECT d.id, d.event_id, d.webhook_id, d.event_type, 'pending', 0, d.due, d.due, d.paced \
        FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::bool[]) \
        AS d(id, webhook_id, event_id, event_type, due, paced) RETURNING webhook_id), ",
    count_inserted!("deliveries", "webhook_id", "inserted"),
    " SELECT pg_notify($7, '')"
);

/// One pending delivery of a stored event to a stored webhook, counted in the webhook's
/// list; no row if either is missing; paced as its webhook is. The key share locks stand
/// in for foreign keys (see the `delivery_references_by_trigger` migration): a delete of
/// either waits for this transaction, or happened first and leaves no row to insert. The
/// rows it affects are the counter's: one exactly when the delivery was inserted.
const INSERT_ONE: &str = "\
WITH inserted AS ( \
    INSERT INTO deliveries (id, event_id, webhook_id, event_type, status, attempt_count, next_attempt_at, created_at, paced) \
    SELECT $1, e.id, w.id, e.type, 'pending', 0, $4, $4, w.paced FROM events e, webhooks w WHERE e.id = $2 AND w.id = $3 \
    FOR KEY SHARE OF e, w RETURNING webhook_id) \
INSERT INTO row_counts (scope, slot, n) SELECT 'deliveries:' || webhook_id, pg_backend_pid() % 16, 1 FROM inserted \
ON CONFLICT (scope, slot) DO UPDATE SET n = row_counts.n + EXCLUDED.n";

/// Queues a wake-up for the workers, sent when the transaction commits (and dropped
/// with it).
async fn notify(conn: &mut PgConnection) -> Result<(), RepoError> {
    sqlx::query("SELECT pg_notify($1, '')").bind(CHANNEL).execute(conn).await.map_err(map_err)?;
    Ok(())
}

/// Appends events and creates one pending delivery, due at the event's time, for every
/// webhook of the event's account that receives it ([`Webhook::receives`] decides, of
/// the candidates [`tengine_storage_rows::fan_out_projects`] names): two round trips.
/// Returns the number of deliveries. `Conflict` on a duplicate event id.
pub(crate) async fn append_and_fan_out(conn: &mut PgConnection, events: &[Event]) -> Result<usize, RepoError> {
    append_for(conn, events, tengine_storage_rows::fan_out_projects(events)).await
}

/// [`append_and_fan_out`] with the events' [`tengine_storage_rows::fan_out_projects`]
/// already named.
async fn append_for(
    conn: &mut PgConnection,
    events: &[Event],
    projects: Option<Vec<String>>,
) -> Result<usize, RepoError> {
    let query = match projects.as_deref() {
        None => events_bound(APPEND_AND_CANDIDATES, events),
        Some([project]) => events_bound(APPEND_AND_PROJECT_CANDIDATES, events).bind(project.as_str()),
        Some(many) => events_bound(APPEND_AND_PROJECTS_CANDIDATES, events).bind(many),
    };
    let rows = query.fetch_all(&mut *conn).await.map_err(map_err)?;
    let candidates = rows.iter().map(WebhookRow::from_row).collect::<Result<Vec<_>, _>>().map_err(map_err)?;
    fan_out(conn, events, convert(candidates)?).await
}

/// Writes `project` and appends `events` with their fan-out ([`append_and_fan_out`]):
/// in two round trips when the events are all about that project (a project update's),
/// else in three. `NotFound`, with nothing appended, when the project is missing or
/// deleted.
pub(crate) async fn update_append_and_fan_out(
    conn: &mut PgConnection,
    project: &Project,
    events: &[Event],
) -> Result<usize, RepoError> {
    let id = project.id.to_string();
    let projects = tengine_storage_rows::fan_out_projects(events);
    if !matches!(projects.as_deref(), Some([only]) if *only == id) {
        crate::project::update(&mut *conn, project).await?;
        return append_for(conn, events, projects).await;
    }
    let rows = events_bound(UPDATE_APPEND_AND_PROJECT_CANDIDATES, events)
        .bind(id)
        .bind(project.name.as_str())
        .bind(project.description.as_ref().map(|d| d.as_str()))
        .bind(project.updated_at)
        .bind(project.account_id.to_string())
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
    let updated: i64 = match rows.first() {
        Some(row) => row.try_get(UPDATED_COLUMN).map_err(map_err)?,
        None => 0,
    };
    if updated != 1 {
        return Err(RepoError::NotFound);
    }
    let mut candidates = Vec::with_capacity(rows.len());
    for row in &rows {
        // The one row of an update without candidates has null webhook columns.
        if row.try_get::<Option<&str>, _>(0).map_err(map_err)?.is_some() {
            candidates.push(WebhookRow::from_row(row).map_err(map_err)?);
        }
    }
    fan_out(conn, events, convert(candidates)?).await
}

/// `sql` with the events bound as `$1` (their accounts, once each) to `$7`.
fn events_bound<'q>(sql: &'static str, events: &'q [Event]) -> Query<'q, Postgres, PgArguments> {
    let mut accounts: Vec<String> = events.iter().map(|e| e.account_id.to_string()).collect();
    accounts.sort_unstable();
    accounts.dedup();
    sqlx::query(sql)
        .bind(accounts)
        .bind(events.iter().map(|e| e.id.to_string()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.account_id.to_string()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.project_id.map(|p| p.to_string())).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.event_type.as_str()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.data.as_str()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.created_at).collect::<Vec<_>>())
}

/// Creates one pending delivery of each of `events` to each of `candidates` that
/// receives it, in one statement. Returns how many.
async fn fan_out(conn: &mut PgConnection, events: &[Event], candidates: Vec<Webhook>) -> Result<usize, RepoError> {
    if candidates.is_empty() {
        return Ok(0);
    }
    let (mut ids, mut webhooks, mut event_ids, mut types, mut due) = (vec![], vec![], vec![], vec![], vec![]);
    let mut paced = vec![];
    for e in events {
        for w in candidates.iter().filter(|w| w.account_id == e.account_id && w.receives(e.event_type, e.project_id)) {
            ids.push(DeliveryId::from_uuid(uuid::Uuid::now_v7()).to_string());
            webhooks.push(w.id.to_string());
            event_ids.push(e.id.to_string());
            types.push(e.event_type.as_str());
            due.push(e.created_at);
            paced.push(w.paced());
        }
    }
    if ids.is_empty() {
        return Ok(0);
    }
    let created = ids.len();
    sqlx::query(INSERT_MANY)
        .bind(ids)
        .bind(webhooks)
        .bind(event_ids)
        .bind(types)
        .bind(due)
        .bind(paced)
        .bind(CHANNEL)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    Ok(created)
}

/// Creates one pending delivery due at `at`; `NotFound` if the event or webhook is
/// missing, `Conflict` on a duplicate id.
pub(crate) async fn insert(
    conn: &mut PgConnection,
    id: DeliveryId,
    event: EventId,
    webhook: WebhookId,
    at: DateTime<Utc>,
) -> Result<(), RepoError> {
    let done = sqlx::query(INSERT_ONE)
        .bind(id.to_string())
        .bind(event.to_string())
        .bind(webhook.to_string())
        .bind(at)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    affected(done)?;
    notify(conn).await
}

/// A page of a webhook's deliveries, newest first, with their attempts, and the total.
pub(crate) async fn list(
    store: &PgStore,
    account: AccountId,
    project: ProjectId,
    webhook: WebhookId,
    page: PageRequest,
) -> Result<Page<Delivery>, RepoError> {
    let (hook, project, account) = (webhook.to_string(), project.to_string(), account.to_string());
    let list = List {
        table: "deliveries",
        columns: delivery_columns!(),
        scope: "webhook_id = $1",
        binds: &[Some(&hook), Some(project.as_str()), Some(account.as_str())],
        counter: Some(format!("deliveries:{hook}")),
        guard: Some(Guard::ProjectWebhook),
    };
    list.read::<DeliveryRow>(store, page).await?.try_map(|row| row.into_delivery(webhook))
}

/// One delivery of a webhook, with its attempts.
pub(crate) async fn get(
    pool: &sqlx::PgPool,
    webhook: WebhookId,
    id: DeliveryId,
) -> Result<Option<Delivery>, RepoError> {
    let row = sqlx::query_as::<_, DeliveryRow>(concat!(
        // By primary key, then the webhook (see `project::SELECT_LIVE`).
        "WITH d AS MATERIALIZED (SELECT webhook_id, ",
        delivery_columns!(),
        " FROM deliveries WHERE id = $2) SELECT ",
        delivery_columns!(),
        " FROM d WHERE webhook_id = $1"
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
    ex: impl sqlx::PgExecutor<'_>,
    webhook: WebhookId,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    at: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<(DeliveryId, EventId)>, RepoError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "UPDATE deliveries SET recovered_at = $5 WHERE id IN (\
           SELECT id FROM deliveries WHERE webhook_id = $1 AND status = 'failed' AND recovered_at IS NULL \
           AND created_at >= $2 AND created_at < $3 ORDER BY created_at, id LIMIT $4) \
         RETURNING id, event_id",
    )
    .bind(webhook.to_string())
    .bind(since)
    .bind(until)
    .bind(i64::from(limit))
    .bind(at)
    .fetch_all(ex)
    .await
    .map_err(map_err)?;
    rows.into_iter()
        .map(|(d, e)| Ok((d.parse().map_err(RepoError::other)?, e.parse().map_err(RepoError::other)?)))
        .collect()
}
