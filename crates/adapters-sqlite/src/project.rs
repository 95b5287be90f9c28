//! Projects: reads on the reader pool, writes inside a write transaction.

use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Sqlite, SqliteExecutor};
use tengine_domain::{AccountId, Page, PageRequest, Project, ProjectId};
use tengine_ports::{ProjectRepository, RepoError};

use crate::error::{affected, map_err};
use crate::list::List;
use crate::rows::{micros, project_columns, single_page, ProjectRow};
use crate::SqliteStore;

/// Reads a live project of `account`. Inside an immediate transaction this is also a
/// lock: SQLite has one writer, which holds the whole database.
pub(crate) async fn fetch(
    ex: impl SqliteExecutor<'_>,
    account: AccountId,
    id: ProjectId,
) -> Result<Option<Project>, RepoError> {
    sqlx::query_as::<_, ProjectRow>(concat!(
        "SELECT ",
        project_columns!(),
        " FROM projects WHERE account_id = ?1 AND id = ?2 AND deleted_at IS NULL"
    ))
    .bind(account.to_string())
    .bind(id.to_string())
    .fetch_optional(ex)
    .await
    .map_err(map_err)?
    .map(Project::try_from)
    .transpose()
}

/// Inserts projects in one statement; `Conflict` on a duplicate id.
pub(crate) async fn insert(ex: impl SqliteExecutor<'_>, projects: &[Project]) -> Result<(), RepoError> {
    // VALUES needs a row.
    if projects.is_empty() {
        return Ok(());
    }
    let mut q = QueryBuilder::<Sqlite>::new(
        "INSERT INTO projects (id, account_id, name, description, created_at, updated_at) ",
    );
    q.push_values(projects, |mut row, p| {
        row.push_bind(p.id.to_string())
            .push_bind(p.account_id.to_string())
            .push_bind(p.name.as_str())
            .push_bind(p.description.as_ref().map(|d| d.as_str()))
            .push_bind(micros(p.created_at))
            .push_bind(micros(p.updated_at));
    });
    q.build().execute(ex).await.map_err(map_err)?;
    Ok(())
}

/// Writes name, description and `updated_at` of a live project.
pub(crate) async fn update(ex: impl SqliteExecutor<'_>, p: &Project) -> Result<(), RepoError> {
    let done = sqlx::query(
        "UPDATE projects SET name = ?3, description = ?4, updated_at = ?5 \
         WHERE account_id = ?1 AND id = ?2 AND deleted_at IS NULL",
    )
    .bind(p.account_id.to_string())
    .bind(p.id.to_string())
    .bind(p.name.as_str())
    .bind(p.description.as_ref().map(|d| d.as_str()))
    .bind(micros(p.updated_at))
    .execute(ex)
    .await
    .map_err(map_err)?;
    affected(done)
}

/// Soft-deletes a live project.
pub(crate) async fn delete(
    ex: impl SqliteExecutor<'_>,
    account: AccountId,
    id: ProjectId,
    at: DateTime<Utc>,
) -> Result<(), RepoError> {
    let done =
        sqlx::query("UPDATE projects SET deleted_at = ?3 WHERE account_id = ?1 AND id = ?2 AND deleted_at IS NULL")
            .bind(account.to_string())
            .bind(id.to_string())
            .bind(micros(at))
            .execute(ex)
            .await
            .map_err(map_err)?;
    affected(done)
}

#[async_trait::async_trait]
impl ProjectRepository for SqliteStore {
    async fn get_project(&self, account: AccountId, id: ProjectId) -> Result<Option<Project>, RepoError> {
        fetch(&self.reader, account, id).await
    }

    async fn list_projects(
        &self,
        account: AccountId,
        only: Option<ProjectId>,
        page: PageRequest,
    ) -> Result<Page<Project>, RepoError> {
        if let Some(only) = only {
            // A project-scoped key sees at most its own project: one lookup by primary key.
            let found = fetch(&self.reader, account, only).await?;
            return single_page(found, page);
        }
        let account = account.to_string();
        let list = List {
            table: "projects",
            columns: project_columns!(),
            scope: "account_id = ?1 AND deleted_at IS NULL",
            binds: &[Some(&account)],
            counter: Some(format!("projects:{account}")),
            guard: None,
        };
        list.fetch::<ProjectRow>(&self.reader, page).await?.try_map(Project::try_from)
    }
}
