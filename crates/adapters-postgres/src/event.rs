//! Usage-alert claims, written inside transactions (the event outbox itself is
//! [`crate::delivery::append_and_fan_out`]).

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use tengine_domain::{AccountId, EventType};
use tengine_ports::RepoError;

use crate::error::map_err;

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
