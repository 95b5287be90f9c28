//! The shared rows (`tengine-storage-rows`) as PostgreSQL decodes them, the column
//! lists the queries select, and rows only this adapter reads.

use chrono::{DateTime, Utc};
use tengine_ports::RepoError;
use tengine_storage_rows::Dialect;
pub(crate) use tengine_storage_rows::{
    announcements, assemble_claim, convert, counted, event_filter, headers_json, histogram_columns, hourly_stats,
    plan_limit, single_page, Guard, ListShape, API_KEY_SUMMARY_COLUMNS, TOTAL_COLUMN, WEBHOOK_SUMMARY_COLUMNS,
};

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

/// The columns of [`IdempotencyRow`], in order.
macro_rules! idempotency_columns {
    () => {
        "fingerprint, response_status, response_headers, response_body"
    };
}

/// The columns of [`WebhookRow`], in order.
macro_rules! webhook_columns {
    () => {
        "id, account_id, project_id, url, description, events, active, secret, previous_secret, \
         previous_secret_expires_at, failing_since, created_at, updated_at, rate_limit, ordering"
    };
}

/// The columns of [`ToolRow`], in order.
macro_rules! tool_columns {
    () => {
        "id, account_id, project_id, name, description, input_schema, base_url, http_method, endpoint_path, \
         headers_template, query_template, body_template, enabled, require_member, inject_member_identity, \
         auth_strategy, auth_secret, timeout_ms, max_response_bytes, created_at, updated_at, log_payloads"
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
        "id, event_id, event_type, status, next_attempt_at, created_at, attempts"
    };
}

/// A data-modifying `WITH` item that adds the rows of `$rows` (a `RETURNING $owner` of
/// an insert) to their owners' `$list` counters, one upsert per owner in owner order (so
/// two statements that share a slot take its rows in the same order), in the inserting
/// statement itself: a trigger did it before, at the cost of a plpgsql call, a
/// transition table and a statement of its own per insert.
macro_rules! count_inserted {
    ($list:literal, $owner:literal, $rows:literal) => {
        concat!(
            "counted AS (INSERT INTO row_counts (scope, slot, n) SELECT '",
            $list,
            ":' || ",
            $owner,
            ", pg_backend_pid() % 16, COUNT(*) FROM ",
            $rows,
            " WHERE ",
            $owner,
            " IS NOT NULL GROUP BY ",
            $owner,
            " ORDER BY ",
            $owner,
            " ON CONFLICT (scope, slot) DO UPDATE SET n = row_counts.n + EXCLUDED.n)"
        )
    };
}

pub(crate) use {
    account_columns, api_key_columns, count_inserted, delivery_columns, event_columns, idempotency_columns,
    project_columns, tool_columns, webhook_columns,
};

/// PostgreSQL's column types for the shared rows: native timestamps, SMALLINT and
/// INTEGER as `i16` and `i32`.
pub(crate) enum Pg {}

impl Dialect for Pg {
    type Timestamp = DateTime<Utc>;
    type SmallInt = i16;
    type Int = i32;

    fn timestamp(stored: DateTime<Utc>) -> Result<DateTime<Utc>, RepoError> {
        Ok(stored)
    }
}

/// A row of `accounts`.
pub(crate) type AccountRow = tengine_storage_rows::AccountRow<Pg>;
/// A row of `projects`.
pub(crate) type ProjectRow = tengine_storage_rows::ProjectRow<Pg>;
/// A row of `api_keys`.
pub(crate) type ApiKeyRow = tengine_storage_rows::ApiKeyRow<Pg>;
/// What a page of keys reads of a row of `api_keys`.
pub(crate) type ApiKeySummaryRow = tengine_storage_rows::ApiKeySummaryRow<Pg>;
/// A row of `webhooks`.
pub(crate) type WebhookRow = tengine_storage_rows::WebhookRow<Pg>;
/// What a page of webhooks reads of a row of `webhooks`.
pub(crate) type WebhookSummaryRow = tengine_storage_rows::WebhookSummaryRow<Pg>;
/// A row of `tools`.
pub(crate) type ToolRow = tengine_storage_rows::ToolRow<Pg>;
/// A row of `tool_calls`.
pub(crate) type ToolCallRow = tengine_storage_rows::ToolCallRow<Pg>;
/// A row of `events`.
pub(crate) type EventRow = tengine_storage_rows::EventRow<Pg>;
/// A row of `deliveries`, with its attempts.
pub(crate) type DeliveryRow = tengine_storage_rows::DeliveryRow<Pg>;
/// A delivery just claimed.
pub(crate) type ClaimRow = tengine_storage_rows::ClaimRow<Pg>;
/// What an idempotency claim reads of an existing record.
pub(crate) type IdempotencyRow = tengine_storage_rows::IdempotencyRow<Pg>;
/// One hour of summed `usage_hourly` rows.
pub(crate) type UsageRow = tengine_storage_rows::UsageRow<Pg>;

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
