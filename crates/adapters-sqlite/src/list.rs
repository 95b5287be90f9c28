//! List pages whose cost does not grow with the list: the total from the `row_counts`
//! counters (kept by triggers in the same transaction as the rows), and deep pages by
//! keyset (`starting_after` / `ending_before`) instead of OFFSET.

use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, SqlitePool};
use tengine_domain::{Cursor, Page, PageRequest};
use tengine_ports::RepoError;

use crate::error::map_err;

/// One list: its table, columns, and the rows of one owner. Every such list is ordered
/// newest first by `(created_at, id)` and has an index in that order.
pub(crate) struct List<'a> {
    /// The table.
    pub table: &'static str,
    /// The selected columns.
    pub columns: &'static str,
    /// The owner's rows, with `?1`..`?n` bound to `binds` in order.
    pub scope: &'static str,
    /// The values of the scope's parameters.
    pub binds: &'a [Option<&'a str>],
    /// The `row_counts` scope that holds the list's total; `None` counts the rows (a
    /// filtered list, whose total grows with what it matches).
    pub counter: Option<String>,
}

impl List<'_> {
    /// Reads the page `page` and the list's total.
    ///
    /// # Errors
    /// `UnknownCursor` when the cursor is not an item of this list; store errors.
    pub(crate) async fn fetch<R>(&self, pool: &SqlitePool, page: PageRequest) -> Result<Page<R>, RepoError>
    where
        R: for<'r> FromRow<'r, SqliteRow> + Send + Unpin,
    {
        let total = match &self.counter {
            Some(scope) => count(pool, scope).await?,
            None => self.count_rows(pool).await?,
        };
        let n = self.binds.len();
        let Some(cursor) = page.cursor() else {
            let sql = format!(
                "SELECT {} FROM {} WHERE {} ORDER BY created_at DESC, id DESC LIMIT ?{} OFFSET ?{}",
                self.columns,
                self.table,
                self.scope,
                n + 1,
                n + 2
            );
            let mut query = sqlx::query_as::<_, R>(&sql);
            for b in self.binds {
                query = query.bind(*b);
            }
            let rows = query
                .bind(i64::from(page.per_page()))
                .bind(i64::try_from(page.offset()).map_err(RepoError::other)?)
                .fetch_all(pool)
                .await
                .map_err(map_err)?;
            return Ok(Page::new(rows, total, page));
        };
        let (cmp, dir) = match cursor {
            Cursor::After(_) => ("<", "DESC"),
            Cursor::Before(_) => (">", "ASC"),
        };
        // The cursor row is looked up within the same owner, so an id of another list
        // (or another owner's) finds nothing rather than a position.
        let sql = format!(
            "SELECT {cols} FROM {t} WHERE {scope} AND (created_at, id) {cmp} \
             (SELECT created_at, id FROM {t} WHERE id = ?{k} AND {scope}) \
             ORDER BY created_at {dir}, id {dir} LIMIT ?{l}",
            cols = self.columns,
            t = self.table,
            scope = self.scope,
            k = n + 1,
            l = n + 2
        );
        let mut query = sqlx::query_as::<_, R>(&sql);
        for b in self.binds {
            query = query.bind(*b);
        }
        let rows =
            query.bind(cursor.id()).bind(i64::from(page.per_page()) + 1).fetch_all(pool).await.map_err(map_err)?;
        if rows.is_empty() && !self.holds(pool, cursor.id()).await? {
            return Err(RepoError::UnknownCursor(cursor.field()));
        }
        Ok(Page::from_probe(rows, total, page))
    }

    /// The rows of this list, counted.
    async fn count_rows(&self, pool: &SqlitePool) -> Result<u64, RepoError> {
        let sql = format!("SELECT COUNT(*) FROM {} WHERE {}", self.table, self.scope);
        let mut query = sqlx::query_scalar::<_, i64>(&sql);
        for b in self.binds {
            query = query.bind(*b);
        }
        let n = query.fetch_one(pool).await.map_err(map_err)?;
        u64::try_from(n).map_err(RepoError::other)
    }

    /// Whether `id` is an item of this list.
    async fn holds(&self, pool: &SqlitePool, id: &str) -> Result<bool, RepoError> {
        let n = self.binds.len();
        let sql = format!("SELECT EXISTS (SELECT 1 FROM {} WHERE id = ?{} AND {})", self.table, n + 1, self.scope);
        let mut query = sqlx::query_scalar::<_, bool>(&sql);
        for b in self.binds {
            query = query.bind(*b);
        }
        query.bind(id).fetch_one(pool).await.map_err(map_err)
    }
}

/// A counter's value (one slot in SQLite; see the `row_counts` migration).
pub(crate) async fn count(pool: &SqlitePool, scope: &str) -> Result<u64, RepoError> {
    let n: i64 = sqlx::query_scalar("SELECT COALESCE(SUM(n), 0) FROM row_counts WHERE scope = ?1")
        .bind(scope)
        .fetch_one(pool)
        .await
        .map_err(map_err)?;
    // A counter never goes below zero unless rows were changed with the triggers off.
    Ok(u64::try_from(n).unwrap_or(0))
}
