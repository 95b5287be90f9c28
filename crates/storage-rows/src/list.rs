//! The statements of a list page, the same on both backends but for how a parameter is
//! written (`$1` in PostgreSQL, `?1` in SQLite).

use tengine_domain::{Cursor, PageRequest};

/// How a backend writes parameter `n` (1-based).
pub type Placeholder = fn(usize) -> String;

/// One list: its table, columns and the rows of one owner. Every such list is ordered
/// newest first by `(created_at, id)` and has an index in that order.
#[derive(Debug, Clone, Copy)]
pub struct ListShape {
    /// The table.
    pub table: &'static str,
    /// The selected columns.
    pub columns: &'static str,
    /// The owner's rows, with parameters 1..=`binds`.
    pub scope: &'static str,
    /// How many parameters `scope` has.
    pub binds: usize,
    /// Whether the total comes from a `row_counts` counter (else the rows are counted).
    pub counted: bool,
}

/// The alias of the total's column in [`ListShape::page_sql`].
pub const TOTAL_COLUMN: &str = "list_total_";

impl ListShape {
    /// The page: by OFFSET, or by keyset after or before the cursor row, newest first
    /// (oldest first before a cursor). Parameters after the scope's: the cursor's id on a
    /// keyset page, then the counter's scope when counted, whose sum rides on every row
    /// as [`TOTAL_COLUMN`] (an uncorrelated subquery, evaluated once).
    ///
    /// LIMIT and OFFSET are written into the statement (validated integers): as
    /// parameters, PostgreSQL's generic plan cannot see a page of 20 and, from 10^5 rows
    /// up, sorted the whole list on every request (4 req/s at 10^6).
    pub fn page_sql(&self, page: &PageRequest, p: Placeholder) -> String {
        let ListShape { table: t, columns: cols, scope, binds: n, .. } = *self;
        let keyset = page.cursor().is_some();
        let total = if self.counted {
            format!(", ({}) AS {TOTAL_COLUMN}", Self::counter_sql_at(p(if keyset { n + 2 } else { n + 1 })))
        } else {
            String::new()
        };
        match page.cursor() {
            None => format!(
                "SELECT {cols}{total} FROM {t} WHERE {scope} ORDER BY created_at DESC, id DESC LIMIT {} OFFSET {}",
                page.per_page(),
                page.offset()
            ),
            Some(cursor) => {
                let (cmp, dir) = if matches!(cursor, Cursor::After(_)) { ("<", "DESC") } else { (">", "ASC") };
                // The cursor row is looked up within the same owner, so an id of another
                // list (or another owner's) finds nothing rather than a position.
                format!(
                    "SELECT {cols}{total} FROM {t} WHERE {scope} AND (created_at, id) {cmp} \
                     (SELECT created_at, id FROM {t} WHERE id = {k} AND {scope}) \
                     ORDER BY created_at {dir}, id {dir} LIMIT {l}",
                    k = p(n + 1),
                    l = page.per_page() + 1
                )
            }
        }
    }

    /// A counter's sum; parameter 1 is the counter's scope.
    pub fn counter_sql(p: Placeholder) -> String {
        Self::counter_sql_at(p(1))
    }

    fn counter_sql_at(scope: String) -> String {
        format!("SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM row_counts WHERE scope = {scope}")
    }

    /// The rows of the list, counted (for a list without a counter).
    pub fn count_sql(&self) -> String {
        format!("SELECT COUNT(*) FROM {} WHERE {}", self.table, self.scope)
    }

    /// Whether the id in the parameter after the scope's is an item of the list.
    pub fn holds_sql(&self, p: Placeholder) -> String {
        format!("SELECT EXISTS (SELECT 1 FROM {} WHERE id = {} AND {})", self.table, p(self.binds + 1), self.scope)
    }
}

/// A counter's sum as a total: never below zero unless rows were changed with the
/// triggers off.
pub fn counted(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
