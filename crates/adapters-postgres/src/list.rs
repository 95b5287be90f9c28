//! List pages whose cost does not grow with the list: the total from the `row_counts`
//! counters (kept by triggers in the same transaction as the rows), and deep pages by
//! keyset (`starting_after` / `ending_before`) instead of OFFSET.

use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgConnection, Row};
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
    /// The owner's rows, with `$1`..`$n` bound to `binds` in order.
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
    pub(crate) async fn fetch<R>(&self, conn: &mut PgConnection, page: PageRequest) -> Result<Page<R>, RepoError>
    where
        R: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let n = self.binds.len();
        let (cols, t, scope) = (self.columns, self.table, self.scope);
        // With a counter, the total rides on the page (one round trip): an uncorrelated
        // subquery in the select list, which PostgreSQL evaluates once per statement.
        let total = match self.counter {
            Some(_) => format!(
                ", (SELECT COALESCE(SUM(n), 0)::bigint FROM row_counts WHERE scope = ${}) AS list_total_",
                if page.cursor().is_some() { n + 3 } else { n + 1 }
            ),
            None => String::new(),
        };
        // The page by OFFSET, or by keyset after or before the cursor row. The cursor row is
        // looked up within the same owner, so an id of another list (or another owner's)
        // finds nothing rather than a position.
        let sql = match page.cursor() {
            // LIMIT and OFFSET are written into the statement (validated integers): with them
            // as parameters PostgreSQL's generic plan cannot see a page of 20 and, from 10^5
            // rows up, sorted the whole list on every request (4 req/s at 10^6).
            None => format!(
                "SELECT {cols}{total} FROM {t} WHERE {scope} ORDER BY created_at DESC, id DESC LIMIT {} OFFSET {}",
                page.per_page(),
                page.offset()
            ),
            Some(cursor) => {
                let (cmp, dir) = if matches!(cursor, Cursor::After(_)) { ("<", "DESC") } else { (">", "ASC") };
                format!(
                    "SELECT {cols}{total} FROM {t} WHERE {scope} AND (created_at, id) {cmp} \
                     (SELECT created_at, id FROM {t} WHERE id = ${k} AND {scope}) \
                     ORDER BY created_at {dir}, id {dir} LIMIT ${l}",
                    k = n + 1,
                    l = n + 2
                )
            }
        };
        let mut query = sqlx::query(&sql);
        for b in self.binds {
            query = query.bind(*b);
        }
        if let Some(cursor) = page.cursor() {
            query = query.bind(cursor.id()).bind(i64::from(page.per_page()) + 1);
        }
        if let Some(scope) = &self.counter {
            query = query.bind(scope.as_str());
        }
        let raw = query.fetch_all(&mut *conn).await.map_err(map_err)?;
        let total = match (&self.counter, raw.first()) {
            (Some(_), Some(row)) => counted(row.try_get("list_total_").map_err(map_err)?),
            // An empty page (past the end, or an empty list) still has a total.
            (Some(scope), None) => counted(
                sqlx::query_scalar("SELECT COALESCE(SUM(n), 0)::bigint FROM row_counts WHERE scope = $1")
                    .bind(scope.as_str())
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(map_err)?,
            ),
            (None, _) => self.count_rows(&mut *conn).await?,
        };
        let rows = raw.iter().map(R::from_row).collect::<Result<Vec<R>, _>>().map_err(map_err)?;
        match page.cursor() {
            None => Ok(Page::new(rows, total, page)),
            Some(cursor) => {
                if rows.is_empty() && !self.holds(conn, cursor.id()).await? {
                    return Err(RepoError::UnknownCursor(cursor.field()));
                }
                Ok(Page::from_probe(rows, total, page))
            }
        }
    }

    /// The rows of this list, counted.
    async fn count_rows(&self, conn: &mut PgConnection) -> Result<u64, RepoError> {
        let sql = format!("SELECT COUNT(*) FROM {} WHERE {}", self.table, self.scope);
        let mut query = sqlx::query_scalar::<_, i64>(&sql);
        for b in self.binds {
            query = query.bind(*b);
        }
        let n = query.fetch_one(conn).await.map_err(map_err)?;
        u64::try_from(n).map_err(RepoError::other)
    }

    /// Whether `id` is an item of this list.
    async fn holds(&self, conn: &mut PgConnection, id: &str) -> Result<bool, RepoError> {
        let n = self.binds.len();
        let sql = format!("SELECT EXISTS (SELECT 1 FROM {} WHERE id = ${} AND {})", self.table, n + 1, self.scope);
        let mut query = sqlx::query_scalar::<_, bool>(&sql);
        for b in self.binds {
            query = query.bind(*b);
        }
        query.bind(id).fetch_one(conn).await.map_err(map_err)
    }
}

/// A counter's sum as a total: never below zero unless rows were changed with the
/// triggers off.
fn counted(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
