//! The event outbox and usage-alert claims, written inside transactions.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use tengine_domain::{AccountId, Event, EventType};
use tengine_ports::RepoError;

use crate::delivery;
use crate::error::map_err;

/// Appends events (one statement) and fans them out to the webhooks that receive them;
/// returns the number of deliveries created. `Conflict` on a duplicate id.
pub(crate) async fn append(conn: &mut PgConnection, events: &[Event]) -> Result<usize, RepoError> {
    let ids: Vec<String> = events.iter().map(|e| e.id.to_string()).collect();
    let accounts: Vec<String> = events.iter().map(|e| e.account_id.to_string()).collect();
    let projects: Vec<Option<String>> = events.iter().map(|e| e.project_id.map(|p| p.to_string())).collect();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    let data: Vec<&str> = events.iter().map(|e| e.data.as_str()).collect();
    let created: Vec<DateTime<Utc>> = events.iter().map(|e| e.created_at).collect();
    sqlx::query(
        "INSERT INTO events (id, account_id, project_id, type, data, created_at) \
         SELECT id, account_id, project_id, type, data::json, created_at \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) \
         AS e(id, account_id, project_id, type, data, created_at)",
    )
    .bind(ids)
    .bind(accounts)
    .bind(projects)
    .bind(types)
    .bind(data)
    .bind(created)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    delivery::fan_out(conn, events).await
}

/// Records the alert `kind` for the window; `true` if this call recorded it (a
/// concurrent claim waits for this transaction, then finds the row).
pub(crate) async fn claim_alert(
    ex: impl PgExecutor<'_>,
    account: AccountId,
    kind: EventType,
    window_start: DateTime<Utc>,
) -> Result<bool, RepoError> {
    let done = sqlx::query(
        "INSERT INTO usage_alerts (account_id, kind, window_start) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(account.to_string())
    .bind(kind.as_str())
    .bind(window_start)
    .execute(ex)
    .await
    .map_err(map_err)?;
    Ok(done.rows_affected() == 1)
}
