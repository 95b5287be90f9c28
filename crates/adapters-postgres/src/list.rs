//! List pages whose cost does not grow with the list: the total from the `row_counts`
//! counters (kept in the same transaction as the rows: by the inserting statement for
//! projects, events and deliveries, by triggers for the rest), and deep pages by keyset
//! (`starting_after` / `ending_before`) instead of OFFSET. The statements are
//! [`ListShape`]'s, shared with SQLite.

use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgConnection, Row};
use tengine_domain::{Page, PageRequest};
use tengine_ports::RepoError;

use crate::error::map_err;
use crate::rows::{counted, Guard, ListShape, TOTAL_COLUMN};
use crate::PgStore;

/// PostgreSQL's parameter `n`.
fn dollar(n: usize) -> String {
    format!("${n}")
}

/// One list: its shape and the values it is read with.
pub(crate) struct List<'a> {
    /// The table.
    pub table: &'static str,
    /// The selected columns.
    pub columns: &'static str,
    /// The owner's rows, with `$1`..`$n` bound to `binds` in order.
    pub scope: &'static str,
    /// The values of the scope's parameters.
    pub binds: &'a [Option<&'a str>],
    /// The `row_counts` scope that holds the list's total; `None` counts the rows (a
    /// filtered list, whose total grows with what it matches).
    pub counter: Option<String>,
    /// The owner that must be visible, checked in the page's statement; `binds` start
    /// with its parameters.
    pub guard: Option<Guard>,
}

impl List<'_> {
    fn shape(&self) -> ListShape {
        ListShape {
            table: self.table,
            columns: self.columns,
            scope: self.scope,
            binds: self.binds.len(),
            counted: self.counter.is_some(),
            guard: self.guard,
        }
    }

    /// [`List::fetch`] on one of `store`'s kept read connections, kept again after a
    /// page was read: every list page skips the pool's ping round trip.
    ///
    /// # Errors
    /// As [`List::fetch`]; `Unavailable` when no connection comes in time.
    pub(crate) async fn read<R>(&self, store: &PgStore, page: PageRequest) -> Result<Page<R>, RepoError>
    where
        R: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let mut conn = store.kept.acquire(&store.pool).await?;
        let read = self.fetch(&mut conn, page).await?;
        conn.keep();
        Ok(read)
    }

    /// Reads the page `page` and the list's total, in one round trip unless the page is
    /// empty.
    ///
    /// # Errors
    /// `NotFound` when the guard's owner is not visible; `UnknownCursor` when the cursor
    /// is not an item of this list; store errors.
    pub(crate) async fn fetch<R>(&self, conn: &mut PgConnection, page: PageRequest) -> Result<Page<R>, RepoError>
    where
        R: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let sql = self.shape().page_sql(&page, dollar);
        let mut query = sqlx::query(&sql);
        for b in self.binds {
            query = query.bind(*b);
        }
        if let Some(cursor) = page.cursor() {
            query = query.bind(cursor.id());
        }
        if let Some(scope) = &self.counter {
            query = query.bind(scope.as_str());
        }
        let raw = query.fetch_all(&mut *conn).await.map_err(map_err)?;
        if let (Some(guard), true) = (self.guard, raw.is_empty()) {
            // An empty page: of a visible owner's list, or of an owner out of sight.
            let sql = guard.check_sql(dollar);
            let mut query = sqlx::query_scalar::<_, bool>(&sql);
            for b in self.binds.iter().take(guard.binds()) {
                query = query.bind(*b);
            }
            if !query.fetch_one(&mut *conn).await.map_err(map_err)? {
                return Err(RepoError::NotFound);
            }
        }
        let total = match (&self.counter, raw.first()) {
            (Some(_), Some(row)) => counted(row.try_get(TOTAL_COLUMN).map_err(map_err)?),
            // An empty page (past the end, or an empty list) still has a total.
            (Some(scope), None) => counted(
                sqlx::query_scalar(&ListShape::counter_sql(dollar))
                    .bind(scope.as_str())
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(map_err)?,
            ),
            (None, _) => {
                let sql = self.shape().count_sql(dollar);
                let mut query = sqlx::query_scalar::<_, i64>(&sql);
                for b in self.binds {
                    query = query.bind(*b);
                }
                counted(query.fetch_one(&mut *conn).await.map_err(map_err)?)
            }
        };
        let rows = raw.iter().map(R::from_row).collect::<Result<Vec<R>, _>>().map_err(map_err)?;
        let Some(cursor) = page.cursor() else { return Ok(Page::new(rows, total, page)) };
        if rows.is_empty() {
            let sql = self.shape().holds_sql(dollar);
            let mut query = sqlx::query_scalar::<_, bool>(&sql);
            for b in self.binds {
                query = query.bind(*b);
            }
            if !query.bind(cursor.id()).fetch_one(&mut *conn).await.map_err(map_err)? {
                return Err(RepoError::UnknownCursor(cursor.field()));
            }
        }
        Ok(Page::from_probe(rows, total, page))
    }
}
