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
    /// The owner that must be visible for the list to be read, checked in the page's own
    /// statement; its parameters are the scope's first.
    pub guard: Option<Guard>,
}

/// The owner a nested list is read under, so that a page answers "not found" for an
/// owner the caller cannot see without a lookup of its own first (one statement instead
/// of two on every page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// A live project (parameter 1) of the account (parameter 2).
    Project,
    /// A webhook (parameter 1) of a live project (parameter 2) of the account
    /// (parameter 3).
    ProjectWebhook,
}

impl Guard {
    /// How many of the scope's parameters the guard reads.
    pub fn binds(self) -> usize {
        match self {
            Guard::Project => 2,
            Guard::ProjectWebhook => 3,
        }
    }

    /// The guard as a condition: uncorrelated, so both backends evaluate it once.
    pub fn sql(self, p: Placeholder) -> String {
        match self {
            Guard::Project => format!(
                "EXISTS (SELECT 1 FROM projects WHERE id = {} AND account_id = {} AND deleted_at IS NULL)",
                p(1),
                p(2)
            ),
            Guard::ProjectWebhook => format!(
                "EXISTS (SELECT 1 FROM webhooks gw JOIN projects gp ON gp.id = gw.project_id \
                 WHERE gw.id = {} AND gw.project_id = {} AND gp.account_id = {} AND gp.deleted_at IS NULL)",
                p(1),
                p(2),
                p(3)
            ),
        }
    }

    /// Whether the owner is visible, alone: what an empty page asks.
    pub fn check_sql(self, p: Placeholder) -> String {
        format!("SELECT {}", self.sql(p))
    }
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
        let guarded = self.guarded(p);
        let keyset = page.cursor().is_some();
        let total = if self.counted {
            format!(", ({}) AS {TOTAL_COLUMN}", Self::counter_sql_at(p(if keyset { n + 2 } else { n + 1 })))
        } else {
            String::new()
        };
        match page.cursor() {
            None => format!(
                "SELECT {cols}{total} FROM {t} WHERE {guarded}{scope} ORDER BY created_at DESC, id DESC LIMIT {} OFFSET {}",
                page.per_page(),
                page.offset()
            ),
            Some(cursor) => {
                let (cmp, dir) = if matches!(cursor, Cursor::After(_)) { ("<", "DESC") } else { (">", "ASC") };
                // The cursor row is looked up within the same owner, so an id of another
                // list (or another owner's) finds nothing rather than a position.
                format!(
                    "SELECT {cols}{total} FROM {t} WHERE {guarded}{scope} AND (created_at, id) {cmp} \
                     (SELECT created_at, id FROM {t} WHERE id = {k} AND {scope}) \
                     ORDER BY created_at {dir}, id {dir} LIMIT {l}",
                    k = p(n + 1),
                    l = page.per_page() + 1
                )
            }
        }
    }

    /// The guard's condition followed by `AND`, or nothing.
    fn guarded(&self, p: Placeholder) -> String {
        self.guard.map(|g| format!("{} AND ", g.sql(p))).unwrap_or_default()
    }

    /// A counter's sum; parameter 1 is the counter's scope.
    pub fn counter_sql(p: Placeholder) -> String {
        Self::counter_sql_at(p(1))
    }

    fn counter_sql_at(scope: String) -> String {
        format!("SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM row_counts WHERE scope = {scope}")
    }

    /// The rows of the list, counted (for a list without a counter).
    pub fn count_sql(&self, p: Placeholder) -> String {
        format!("SELECT COUNT(*) FROM {} WHERE {}{}", self.table, self.guarded(p), self.scope)
    }

    /// Whether the id in the parameter after the scope's is an item of the list.
    pub fn holds_sql(&self, p: Placeholder) -> String {
        format!(
            "SELECT EXISTS (SELECT 1 FROM {} WHERE {}id = {} AND {})",
            self.table,
            self.guarded(p),
            p(self.binds + 1),
            self.scope
        )
    }
}

/// A counter's sum as a total: never below zero unless rows were changed with the
/// triggers off.
pub fn counted(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
