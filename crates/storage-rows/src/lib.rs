//! The rows both SQL storage adapters read, and their conversions into domain types,
//! written once so PostgreSQL and SQLite cannot drift apart in what a row means.
//!
//! Only adapters depend on this crate: rows are a storage detail and never reach
//! `ports`, `application` or HTTP. The SQL stays in each adapter, but for a list page's
//! statements ([`ListShape`]), which differ only in how a parameter is written. Where the two
//! databases store a value differently (timestamps, integer widths), a row is generic
//! over a [`Dialect`] that names the decoded column types and how to read them back.

use chrono::{DateTime, Utc};
use tengine_ports::RepoError;

/// Declares a row read by column position: its fields in the order of the adapters'
/// column lists, each with the name its column must have. Reading by position skips a
/// hash lookup per column per row (list pages read 20 rows of up to 15 columns); debug
/// builds check every column's name, so each test that reads a row checks the order.
macro_rules! positional_row {
    (
        $(#[$meta:meta])*
        pub struct $name:ident<D: Dialect> {
            $($(#[$field_meta:meta])* $vis:vis $field:ident: $ty:ty = $column:literal,)*
        }
    ) => {
        $(#[$meta])*
        pub struct $name<D: Dialect> {
            $($(#[$field_meta])* $vis $field: $ty,)*
        }

        impl<D: Dialect> $name<D> {
            /// How many columns the row takes.
            pub const COLUMNS: usize = [$($column),*].len();

            /// Reads the row's fields from the columns at `next` on, leaving `next` after them.
            pub fn read_at<'r, R: sqlx::Row>(row: &'r R, next: &mut usize) -> Result<Self, sqlx::Error>
            where
                usize: sqlx::ColumnIndex<R>,
                $($ty: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,)*
            {
                // Field initializers run in the order written: the columns' order.
                Ok(Self { $($field: $crate::column(row, next, $column)?,)* })
            }
        }

        impl<'r, D: Dialect, R: sqlx::Row> sqlx::FromRow<'r, R> for $name<D>
        where
            usize: sqlx::ColumnIndex<R>,
            $($ty: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,)*
        {
            fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
                Self::read_at(row, &mut 0)
            }
        }
    };
}

/// The value of the column at `next`, which must be named `name`; moves `next` on.
fn column<'r, R, T>(row: &'r R, next: &mut usize, name: &str) -> Result<T, sqlx::Error>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    T: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    use sqlx::Column;
    debug_assert_eq!(
        row.columns().get(*next).map(Column::name),
        Some(name),
        "column {next} of the statement is not the row's `{name}`"
    );
    let value = row.try_get(*next)?;
    *next += 1;
    Ok(value)
}

mod account;
mod api_key;
mod claim;
mod delivery;
mod event;
mod idempotency;
mod integration;
mod list;
mod project;
mod session;
mod signing_key;
mod tool;
mod tool_call;
mod usage;
mod webhook;

pub use account::{plan_limit, AccountRow};
pub use api_key::{ApiKeyRow, ApiKeySummaryRow, API_KEY_SUMMARY_COLUMNS};
pub use claim::{assemble_claim, Claim, ClaimRow};
pub use delivery::{announcements, fan_out_projects, hourly_stats, DeliveryRow, HourlyStats};
pub use event::EventRow;
pub use idempotency::{headers_json, IdempotencyRow};
pub use integration::{
    stored_redirect_uris, ClientRow, CodeRow, ConnectionRow, IntegrationRow, RegistrationRow, TokenRow, CODE_COLUMNS,
    CONNECTION_COLUMNS, INTEGRATION_COLUMNS,
};
pub use list::{counted, Guard, ListShape, Placeholder, TOTAL_COLUMN};
pub use project::ProjectRow;
pub use session::{SessionRow, SessionValues, SESSION_COLUMNS};
pub use signing_key::{stored_public_key, SigningKeyRow, SIGNING_KEY_COLUMNS};
pub use tool::{ToolRow, ToolValues};
pub use tool_call::ToolCallRow;
pub use usage::{histogram_columns, UsageRow};
pub use webhook::{event_filter, WebhookRow, WebhookSummaryRow, WEBHOOK_SUMMARY_COLUMNS};

/// The column types one database decodes into, where the two databases differ.
pub trait Dialect {
    /// A timestamp column as decoded.
    type Timestamp;
    /// A SMALLINT column (permission bits).
    type SmallInt: Into<i64>;
    /// An INTEGER column (status codes, attempt counts).
    type Int: Into<i64>;

    /// The instant a stored timestamp stands for.
    ///
    /// # Errors
    /// `RepoError::Other` when the stored value is no instant.
    fn timestamp(stored: Self::Timestamp) -> Result<DateTime<Utc>, RepoError>;
}

/// Native timestamps and integers, as PostgreSQL decodes them: the dialect of the unit
/// tests.
#[cfg(test)]
pub(crate) enum Native {}

#[cfg(test)]
impl Dialect for Native {
    type Timestamp = DateTime<Utc>;
    type SmallInt = i16;
    type Int = i32;

    fn timestamp(stored: DateTime<Utc>) -> Result<DateTime<Utc>, RepoError> {
        Ok(stored)
    }
}

/// A stored timestamp read back.
fn at<D: Dialect>(stored: D::Timestamp) -> Result<DateTime<Utc>, RepoError> {
    D::timestamp(stored)
}

/// An optional stored timestamp read back.
fn opt_at<D: Dialect>(stored: Option<D::Timestamp>) -> Result<Option<DateTime<Utc>>, RepoError> {
    stored.map(D::timestamp).transpose()
}

/// A stored integer narrowed to the type the domain uses.
fn narrow<T: TryFrom<i64, Error = std::num::TryFromIntError>>(n: impl Into<i64>) -> Result<T, RepoError> {
    T::try_from(n.into()).map_err(RepoError::other)
}

/// Collects rows into domain values, failing on the first bad row.
///
/// # Errors
/// The first row's conversion error.
pub fn convert<R, T: TryFrom<R, Error = RepoError>>(rows: Vec<R>) -> Result<Vec<T>, RepoError> {
    rows.into_iter().map(T::try_from).collect()
}

/// The list of a project-scoped key, which holds at most its own project: `found` on the
/// first page, nothing after it, and an unknown cursor for any other id.
///
/// # Errors
/// `UnknownCursor` when the cursor is not the one project's id.
pub fn single_page(
    found: Option<tengine_domain::Project>,
    page: tengine_domain::PageRequest,
) -> Result<tengine_domain::Page<tengine_domain::Project>, RepoError> {
    let total = u64::from(found.is_some());
    if let Some(cursor) = page.cursor() {
        if found.as_ref().is_none_or(|p| p.id.to_string() != cursor.id()) {
            return Err(RepoError::UnknownCursor(cursor.field()));
        }
        return Ok(tengine_domain::Page::from_probe(Vec::new(), total, page));
    }
    let items = found.filter(|_| page.offset() == 0).into_iter().collect();
    Ok(tengine_domain::Page::new(items, total, page))
}
