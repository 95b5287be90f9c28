//! Rows of `accounts`.

use tengine_domain::{Account, AccountName, Plan};
use tengine_ports::RepoError;

use crate::{at, narrow, Dialect};

/// A row of `accounts`.
#[derive(sqlx::FromRow)]
pub struct AccountRow<D: Dialect> {
    id: String,
    name: String,
    plan: String,
    rate_limit_per_hour: Option<i64>,
    created_at: D::Timestamp,
}

impl<D: Dialect> TryFrom<AccountRow<D>> for Account {
    type Error = RepoError;

    fn try_from(row: AccountRow<D>) -> Result<Self, RepoError> {
        let limit = row.rate_limit_per_hour.map(narrow::<u32>).transpose()?;
        Ok(Account {
            id: row.id.parse().map_err(RepoError::other)?,
            name: AccountName::from_stored(row.name),
            plan: Plan::from_parts(&row.plan, limit).map_err(RepoError::other)?,
            created_at: at::<D>(row.created_at)?,
        })
    }
}

/// The custom limit column of a plan (enterprise only).
pub fn plan_limit(plan: &Plan) -> Option<i64> {
    match plan {
        Plan::Enterprise { limit } => limit.map(i64::from),
        Plan::Free | Plan::Pro => None,
    }
}
