//! Projects: reads on the pool, writes inside a transaction.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use tengine_domain::{AccountId, Page, PageRequest, Project, ProjectId};
use tengine_ports::{ProjectRepository, RepoError};

use crate::error::{affected, map_err};
use crate::list::List;
use crate::rows::{count_inserted, project_columns, single_page, ProjectRow};
use crate::PgStore;

// By primary key first, then the owner: without statistics (a new database, or
// autovacuum off) a generic plan for `account_id = $1 AND id = $2` picks the account's
// list index and walks every project of the account. The materialized CTE is planned
// on its own, on `id` alone.
/// Reads a live project of an account (`$1`) by id (`$2`).
#[doc(hidden)]
pub const SELECT_LIVE: &str = concat!(
    "WITH p AS MATERIALIZED (SELECT ",
    project_columns!(),
    ", deleted_at FROM projects WHERE id = $2) SELECT ",
    project_columns!(),
    " FROM p WHERE account_id = $1 AND deleted_at IS NULL"
);

const LOCK_LIVE: &str = concat!(
    "WITH p AS MATERIALIZED (SELECT ",
    project_columns!(),
    ", deleted_at FROM projects WHERE id = $2 FOR UPDATE) SELECT ",
    project_columns!(),
    " FROM p WHERE account_id = $1 AND deleted_at IS NULL"
);

/// Reads a live project of `account`, locking it when `lock` is set.
pub(crate) async fn fetch(
    ex: impl PgExecutor<'_>,
    account: AccountId,
    id: ProjectId,
    lock: bool,
) -> Result<Option<Project>, RepoError> {
    sqlx::query_as::<_, ProjectRow>(if lock { LOCK_LIVE } else { SELECT_LIVE })
        .bind(account.to_string())
        .bind(id.to_string())
        .fetch_optional(ex)
        .await
        .map_err(map_err)?
        .map(Project::try_from)
        .transpose()
}

/// Inserts projects and counts them in their accounts' lists, in one statement;
/// `Conflict` on a duplicate id.
pub(crate) async fn insert(ex: impl PgExecutor<'_>, projects: &[Project]) -> Result<(), RepoError> {
    let ids: Vec<String> = projects.iter().map(|p| p.id.to_string()).collect();
    let accounts: Vec<String> = projects.iter().map(|p| p.account_id.to_string()).collect();
    let names: Vec<&str> = projects.iter().map(|p| p.name.as_str()).collect();
    let descriptions: Vec<Option<&str>> = projects.iter().map(|p| p.description.as_ref().map(|d| d.as_str())).collect();
    let created: Vec<DateTime<Utc>> = projects.iter().map(|p| p.created_at).collect();
    let updated: Vec<DateTime<Utc>> = projects.iter().map(|p| p.updated_at).collect();
    sqlx::query(concat!(
        "WITH inserted AS (INSERT INTO projects (id, account_id, name, description, created_at, updated_at) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[]) \
             RETURNING account_id), ",
        count_inserted!("projects", "account_id", "inserted"),
        " SELECT 1"
    ))
    .bind(ids)
    .bind(accounts)
    .bind(names)
    .bind(descriptions)
    .bind(created)
    .bind(updated)
    .execute(ex)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// Writes name, description and `updated_at` of a live project.
pub(crate) async fn update(ex: impl PgExecutor<'_>, p: &Project) -> Result<(), RepoError> {
    let done = sqlx::query(
        "UPDATE projects SET name = $3, description = $4, updated_at = $5 \
         WHERE account_id = $1 AND id = $2 AND deleted_at IS NULL",
    )
    .bind(p.account_id.to_string())
    .bind(p.id.to_string())
    .bind(p.name.as_str())
    .bind(p.description.as_ref().map(|d| d.as_str()))
    .bind(p.updated_at)
    .execute(ex)
    .await
    .map_err(map_err)?;
    affected(done)
}

/// Soft-deletes a live project.
pub(crate) async fn delete(
    ex: impl PgExecutor<'_>,
    account: AccountId,
    id: ProjectId,
    at: DateTime<Utc>,
) -> Result<(), RepoError> {
    let done =
        sqlx::query("UPDATE projects SET deleted_at = $3 WHERE account_id = $1 AND id = $2 AND deleted_at IS NULL")
            .bind(account.to_string())
            .bind(id.to_string())
            .bind(at)
            .execute(ex)
            .await
            .map_err(map_err)?;
    affected(done)
}

#[async_trait::async_trait]
impl ProjectRepository for PgStore {
    async fn get_project(&self, account: AccountId, id: ProjectId) -> Result<Option<Project>, RepoError> {
        let mut conn = self.kept.acquire(&self.pool).await?;
        let project = fetch(&mut *conn, account, id, false).await?;
        conn.keep();
        Ok(project)
    }

    async fn list_projects(
        &self,
        account: AccountId,
        only: Option<ProjectId>,
        page: PageRequest,
    ) -> Result<Page<Project>, RepoError> {
        if let Some(only) = only {
            // A project-scoped key sees at most its own project: one lookup by primary key.
            return single_page(self.get_project(account, only).await?, page);
        }
        let account = account.to_string();
        let list = List {
            table: "projects",
            columns: project_columns!(),
            scope: "account_id = $1 AND deleted_at IS NULL",
            binds: &[Some(&account)],
            counter: Some(format!("projects:{account}")),
            guard: None,
        };
        list.read::<ProjectRow>(self, page).await?.try_map(Project::try_from)
    }
}
