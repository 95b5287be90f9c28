//! The event outbox and usage-alert claims, written inside transactions.

use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqliteExecutor};
use tengine_domain::{AccountId, Event, EventType};
use tengine_ports::RepoError;

use crate::delivery;
use crate::error::map_err;
use crate::rows::micros;

/// Appends events (one statement) and fans them out to the webhooks that receive them;
/// returns the number of deliveries created. `Conflict` on a duplicate id.
pub(crate) async fn append(conn: &mut SqliteConnection, events: &[Event]) -> Result<usize, RepoError> {
    // VALUES needs a row.
    if events.is_empty() {
        return Ok(0);
    }
    let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO events (id, account_id, project_id, type, data, created_at) ");
    q.push_values(events, |mut row, e| {
        row.push_bind(e.id.to_string())
            .push_bind(e.account_id.to_string())
            .push_bind(e.project_id.map(|p| p.to_string()))
            .push_bind(e.event_type.as_str())
            .push_bind(e.data.as_str())
            .push_bind(micros(e.created_at));
    });
    q.build().execute(&mut *conn).await.map_err(map_err)?;
    delivery::fan_out(conn, events).await
}

/// Records the alert `kind` for the window; `true` if this call recorded it.
pub(crate) async fn claim_alert(
    ex: impl SqliteExecutor<'_>,
    account: AccountId,
    kind: EventType,
    window_start: DateTime<Utc>,
) -> Result<bool, RepoError> {
    let done = sqlx::query(
        "INSERT INTO usage_alerts (account_id, kind, window_start) VALUES (?1, ?2, ?3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(account.to_string())
    .bind(kind.as_str())
    .bind(micros(window_start))
    .execute(ex)
    .await
    .map_err(map_err)?;
    Ok(done.rows_affected() == 1)
}
