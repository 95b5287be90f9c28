//! Accounts and the bootstrap marker.

use sqlx::PgExecutor;
use tengine_domain::{Account, AccountId};
use tengine_ports::{AccountRepository, RepoError};

use crate::error::map_err;
use crate::rows::{account_columns, plan_limit, AccountRow};
use crate::PgStore;

/// Reads one account.
pub(crate) async fn fetch(ex: impl PgExecutor<'_>, id: AccountId) -> Result<Option<Account>, RepoError> {
    sqlx::query_as::<_, AccountRow>(concat!("SELECT ", account_columns!(), " FROM accounts WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(ex)
        .await
        .map_err(map_err)?
        .map(Account::try_from)
        .transpose()
}

/// Inserts an account; `Conflict` on a duplicate id.
pub(crate) async fn insert(ex: impl PgExecutor<'_>, account: &Account) -> Result<(), RepoError> {
    sqlx::query("INSERT INTO accounts (id, name, plan, rate_limit_per_hour, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(account.id.to_string())
        .bind(account.name.as_str())
        .bind(account.plan.name())
        .bind(plan_limit(&account.plan))
        .bind(account.created_at)
        .execute(ex)
        .await
        .map_err(map_err)?;
    Ok(())
}

/// Inserts the single bootstrap row; `true` if this call inserted it.
pub(crate) async fn claim_bootstrap(ex: impl PgExecutor<'_>) -> Result<bool, RepoError> {
    let done = sqlx::query("INSERT INTO bootstrap_state (singleton) VALUES (TRUE) ON CONFLICT DO NOTHING")
        .execute(ex)
        .await
        .map_err(map_err)?;
    Ok(done.rows_affected() == 1)
}

#[async_trait::async_trait]
impl AccountRepository for PgStore {
    async fn get_account(&self, id: AccountId) -> Result<Option<Account>, RepoError> {
        fetch(&self.pool, id).await
    }
}
