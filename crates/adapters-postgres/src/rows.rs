//! Private row structs and their conversions into domain types.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::Row;
use tengine_domain::usage::{UsageCounts, HISTOGRAM_LEN};
use tengine_domain::{Account, ApiKey, ApiKeyDigest, KeyScope, PermissionSet, Plan, PreviousSecret, Project};
use tengine_ports::RepoError;

mod idempotency;
mod webhook;

pub(crate) use idempotency::{headers_json, idempotency_columns, IdempotencyRow};
pub(crate) use webhook::{event_filter, AttemptRow, ClaimRow, DeliveryRow, EventRow, WebhookRow};

/// The columns of [`AccountRow`], in order.
macro_rules! account_columns {
    () => {
        "id, name, plan, rate_limit_per_hour, created_at"
    };
}

/// The columns of [`ProjectRow`], in order.
macro_rules! project_columns {
    () => {
        "id, account_id, name, description, created_at, updated_at"
    };
}

/// The columns of [`ApiKeyRow`], in order.
macro_rules! api_key_columns {
    () => {
        "id, account_id, project_id, name, permissions, prefix, digest, previous_digest, \
         previous_expires_at, expires_at, created_at, updated_at, last_used_at, revoked_at"
    };
}

/// The columns of [`WebhookRow`], in order.
macro_rules! webhook_columns {
    () => {
        "id, account_id, project_id, url, description, events, active, secret, previous_secret, \
         previous_secret_expires_at, failing_since, created_at, updated_at"
    };
}

/// The columns of [`EventRow`], in order (`data` read as text).
macro_rules! event_columns {
    () => {
        "id, account_id, project_id, type, data::text AS data, created_at"
    };
}

/// The columns of [`DeliveryRow`], in order.
macro_rules! delivery_columns {
    () => {
        "id, event_id, webhook_id, event_type, status, next_attempt_at, created_at"
    };
}

/// The columns of [`AttemptRow`], in order.
macro_rules! attempt_columns {
    () => {
        "delivery_id, attempted_at, status_code, latency_ms, error, response_excerpt"
    };
}

pub(crate) use {
    account_columns, api_key_columns, attempt_columns, delivery_columns, event_columns, project_columns,
    webhook_columns,
};

/// A row of `accounts`.
#[derive(sqlx::FromRow)]
pub(crate) struct AccountRow {
    id: String,
    name: String,
    plan: String,
    rate_limit_per_hour: Option<i64>,
    created_at: DateTime<Utc>,
}

impl TryFrom<AccountRow> for Account {
    type Error = RepoError;

    fn try_from(row: AccountRow) -> Result<Self, RepoError> {
        let limit = row.rate_limit_per_hour.map(u32::try_from).transpose().map_err(RepoError::other)?;
        Ok(Account {
            id: row.id.parse().map_err(RepoError::other)?,
            name: tengine_domain::AccountName::from_stored(row.name),
            plan: Plan::from_parts(&row.plan, limit).map_err(RepoError::other)?,
            created_at: row.created_at,
        })
    }
}

/// The custom limit column of a plan (enterprise only).
pub(crate) fn plan_limit(plan: &Plan) -> Option<i64> {
    match plan {
        Plan::Enterprise { limit } => limit.map(i64::from),
        Plan::Free | Plan::Pro => None,
    }
}

/// A row of `projects`.
#[derive(sqlx::FromRow)]
pub(crate) struct ProjectRow {
    id: String,
    account_id: String,
    name: String,
    description: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ProjectRow> for Project {
    type Error = RepoError;

    fn try_from(row: ProjectRow) -> Result<Self, RepoError> {
        Ok(Project {
            id: row.id.parse().map_err(RepoError::other)?,
            account_id: row.account_id.parse().map_err(RepoError::other)?,
            name: tengine_domain::ProjectName::from_stored(row.name),
            description: row.description.map(tengine_domain::ProjectDescription::from_stored),
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A row of `api_keys`.
#[derive(sqlx::FromRow)]
pub(crate) struct ApiKeyRow {
    id: String,
    account_id: String,
    project_id: Option<String>,
    name: String,
    permissions: i16,
    prefix: String,
    digest: Vec<u8>,
    previous_digest: Option<Vec<u8>>,
    previous_expires_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

fn digest(bytes: &[u8]) -> Result<ApiKeyDigest, RepoError> {
    <[u8; 32]>::try_from(bytes).map(ApiKeyDigest::from_bytes).map_err(RepoError::other)
}

impl TryFrom<ApiKeyRow> for ApiKey {
    type Error = RepoError;

    fn try_from(row: ApiKeyRow) -> Result<Self, RepoError> {
        let scope = match row.project_id {
            None => KeyScope::Account,
            Some(p) => KeyScope::Project(p.parse().map_err(RepoError::other)?),
        };
        let permissions = u8::try_from(row.permissions)
            .ok()
            .and_then(PermissionSet::from_bits)
            .ok_or_else(|| RepoError::other(format!("invalid permission bits {}", row.permissions)))?;
        let previous = match (row.previous_digest, row.previous_expires_at) {
            (Some(d), Some(expires_at)) => Some(PreviousSecret { digest: digest(&d)?, expires_at }),
            (None, None) => None,
            _ => return Err(RepoError::other("previous digest without expiry (or the reverse)")),
        };
        Ok(ApiKey {
            id: row.id.parse().map_err(RepoError::other)?,
            account_id: row.account_id.parse().map_err(RepoError::other)?,
            scope,
            name: tengine_domain::ApiKeyName::from_stored(row.name),
            permissions,
            prefix: row.prefix,
            digest: digest(&row.digest)?,
            previous,
            expires_at: row.expires_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        })
    }
}

/// Collects rows into domain values, failing on the first bad row.
pub(crate) fn convert<R, T: TryFrom<R, Error = RepoError>>(rows: Vec<R>) -> Result<Vec<T>, RepoError> {
    rows.into_iter().map(T::try_from).collect()
}

/// The names of the histogram columns `h0..h15`, in bucket order.
pub(crate) fn histogram_columns() -> &'static [String; HISTOGRAM_LEN] {
    static NAMES: LazyLock<[String; HISTOGRAM_LEN]> = LazyLock::new(|| std::array::from_fn(|i| format!("h{i}")));
    &NAMES
}

/// One hour of summed `usage_hourly` rows.
pub(crate) struct UsageRow {
    hour: DateTime<Utc>,
    requests: i64,
    errors: i64,
    rate_limited: i64,
    latency_sum_us: i64,
    histogram: [i64; HISTOGRAM_LEN],
}

impl<'r> sqlx::FromRow<'r, PgRow> for UsageRow {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        let mut histogram = [0; HISTOGRAM_LEN];
        for (slot, name) in histogram.iter_mut().zip(histogram_columns()) {
            *slot = row.try_get(name.as_str())?;
        }
        Ok(UsageRow {
            hour: row.try_get("hour")?,
            requests: row.try_get("requests")?,
            errors: row.try_get("errors")?,
            rate_limited: row.try_get("rate_limited")?,
            latency_sum_us: row.try_get("latency_sum_us")?,
            histogram,
        })
    }
}

impl UsageRow {
    /// The hour and its counters.
    pub(crate) fn into_counts(self) -> Result<(DateTime<Utc>, UsageCounts), RepoError> {
        let count = |n: i64| u64::try_from(n).map_err(RepoError::other);
        let mut histogram = [0; HISTOGRAM_LEN];
        for (slot, n) in histogram.iter_mut().zip(self.histogram) {
            *slot = count(n)?;
        }
        let counts = UsageCounts {
            requests: count(self.requests)?,
            errors: count(self.errors)?,
            rate_limited: count(self.rate_limited)?,
            latency_sum_us: count(self.latency_sum_us)?,
            histogram,
        };
        Ok((self.hour, counts))
    }
}

/// A rate counter after a sync, with the count of the window an hour earlier.
#[derive(sqlx::FromRow)]
pub(crate) struct RateCounterRow {
    pub(crate) account_id: String,
    pub(crate) window_start: DateTime<Utc>,
    pub(crate) count: i64,
    pub(crate) previous: i64,
}

/// A rate counter after one admission attempt.
#[derive(sqlx::FromRow)]
pub(crate) struct AdmitRow {
    pub(crate) count: i64,
    pub(crate) last_admitted: bool,
}
