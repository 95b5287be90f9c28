//! Custom tools: writes inside a transaction, reads of live tools on the pool.

use chrono::{DateTime, Utc};
use sqlx::SqliteExecutor;
use tengine_domain::secret_key::SealedSecret;
use tengine_domain::{Page, PageRequest, ProjectId, Tool, ToolId};
use tengine_ports::{RepoError, ToolRepository};
use tengine_storage_rows::ToolValues;

use crate::error::{affected, map_err};
use crate::rows::{convert, micros, tool_columns, ToolRow};
use crate::SqliteStore;

const SELECT: &str =
    concat!("SELECT ", tool_columns!(), " FROM tools WHERE project_id = ?1 AND id = ?2 AND deleted_at IS NULL");

/// Reads a live tool of `project`. Inside an immediate transaction this is also a lock:
/// SQLite has one writer, which holds the whole database.
pub(crate) async fn fetch(
    ex: impl SqliteExecutor<'_>,
    project: ProjectId,
    id: ToolId,
) -> Result<Option<Tool>, RepoError> {
    sqlx::query_as::<_, ToolRow>(SELECT)
        .bind(project.to_string())
        .bind(id.to_string())
        .fetch_optional(ex)
        .await
        .map_err(map_err)?
        .map(Tool::try_from)
        .transpose()
}

/// Inserts a tool; `Conflict` on a duplicate id or a live tool's name.
pub(crate) async fn insert(ex: impl SqliteExecutor<'_>, t: &Tool) -> Result<(), RepoError> {
    let v = ToolValues::of(t);
    sqlx::query(concat!(
        "INSERT INTO tools (",
        tool_columns!(),
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)"
    ))
    .bind(t.id.to_string())
    .bind(t.account_id.to_string())
    .bind(t.project_id.to_string())
    .bind(t.name.as_str())
    .bind(t.description.as_str())
    .bind(v.input_schema)
    .bind(t.base_url.as_str())
    .bind(t.http_method.as_str())
    .bind(t.endpoint_path.as_str())
    .bind(v.headers_template)
    .bind(v.query_template)
    .bind(v.body_template)
    .bind(t.enabled)
    .bind(t.require_member)
    .bind(v.inject_member_identity)
    .bind(t.auth_strategy.as_str())
    .bind(t.auth_secret.as_ref().map(|s| s.as_stored()))
    .bind(v.timeout_ms)
    .bind(v.max_response_bytes)
    .bind(micros(t.created_at))
    .bind(micros(t.updated_at))
    .bind(t.log_payloads)
    .execute(ex)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// Writes every mutable field of a live tool.
pub(crate) async fn update(ex: impl SqliteExecutor<'_>, t: &Tool) -> Result<(), RepoError> {
    let v = ToolValues::of(t);
    let done = sqlx::query(
        "UPDATE tools SET name = ?3, description = ?4, input_schema = ?5, base_url = ?6, http_method = ?7, \
         endpoint_path = ?8, headers_template = ?9, query_template = ?10, body_template = ?11, enabled = ?12, \
         require_member = ?13, inject_member_identity = ?14, auth_strategy = ?15, auth_secret = ?16, \
         timeout_ms = ?17, max_response_bytes = ?18, updated_at = ?19, log_payloads = ?20 \
         WHERE project_id = ?1 AND id = ?2 AND deleted_at IS NULL",
    )
    .bind(t.project_id.to_string())
    .bind(t.id.to_string())
    .bind(t.name.as_str())
    .bind(t.description.as_str())
    .bind(v.input_schema)
    .bind(t.base_url.as_str())
    .bind(t.http_method.as_str())
    .bind(t.endpoint_path.as_str())
    .bind(v.headers_template)
    .bind(v.query_template)
    .bind(v.body_template)
    .bind(t.enabled)
    .bind(t.require_member)
    .bind(v.inject_member_identity)
    .bind(t.auth_strategy.as_str())
    .bind(t.auth_secret.as_ref().map(|s| s.as_stored()))
    .bind(v.timeout_ms)
    .bind(v.max_response_bytes)
    .bind(micros(t.updated_at))
    .bind(t.log_payloads)
    .execute(ex)
    .await
    .map_err(map_err)?;
    affected(done)
}

/// Soft-deletes a live tool of `project`.
pub(crate) async fn delete(
    ex: impl SqliteExecutor<'_>,
    project: ProjectId,
    id: ToolId,
    at: DateTime<Utc>,
) -> Result<(), RepoError> {
    let done = sqlx::query("UPDATE tools SET deleted_at = ?3 WHERE project_id = ?1 AND id = ?2 AND deleted_at IS NULL")
        .bind(project.to_string())
        .bind(id.to_string())
        .bind(micros(at))
        .execute(ex)
        .await
        .map_err(map_err)?;
    affected(done)
}

/// Soft-deletes every live tool of a project (the project is being deleted).
pub(crate) async fn delete_all(
    ex: impl SqliteExecutor<'_>,
    project: ProjectId,
    at: DateTime<Utc>,
) -> Result<(), RepoError> {
    sqlx::query("UPDATE tools SET deleted_at = ?2 WHERE project_id = ?1 AND deleted_at IS NULL")
        .bind(project.to_string())
        .bind(micros(at))
        .execute(ex)
        .await
        .map_err(map_err)?;
    Ok(())
}

#[async_trait::async_trait]
impl ToolRepository for SqliteStore {
    async fn get_tool(&self, project: ProjectId, id: ToolId) -> Result<Option<Tool>, RepoError> {
        fetch(&self.reader, project, id).await
    }

    async fn list_tools(&self, project: ProjectId, page: PageRequest) -> Result<Page<Tool>, RepoError> {
        let project = project.to_string();
        let limit = i64::from(page.per_page());
        let offset = i64::try_from(page.offset()).map_err(RepoError::other)?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tools WHERE project_id = ?1 AND deleted_at IS NULL")
            .bind(&project)
            .fetch_one(&self.reader)
            .await
            .map_err(map_err)?;
        let rows = sqlx::query_as::<_, ToolRow>(concat!(
            "SELECT ",
            tool_columns!(),
            " FROM tools WHERE project_id = ?1 AND deleted_at IS NULL \
             ORDER BY created_at DESC, id DESC LIMIT ?2 OFFSET ?3"
        ))
        .bind(&project)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.reader)
        .await
        .map_err(map_err)?;
        Ok(Page::new(convert(rows)?, u64::try_from(count).map_err(RepoError::other)?, page))
    }

    async fn tool_secrets_after(
        &self,
        after: Option<ToolId>,
        limit: u32,
    ) -> Result<Vec<(ToolId, SealedSecret)>, RepoError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, auth_secret FROM tools WHERE auth_secret IS NOT NULL AND deleted_at IS NULL \
             AND id > ?1 ORDER BY id LIMIT ?2",
        )
        // "" sorts before every id: a plain range, which walks the primary key (an
        // `IS NULL OR` made SQLite scan and sort the whole table for every page).
        .bind(after.map(|id| id.to_string()).unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(map_err)?;
        rows.into_iter()
            .map(|(id, secret)| Ok((id.parse().map_err(RepoError::other)?, SealedSecret::from_stored(secret))))
            .collect()
    }

    async fn replace_tool_secret(&self, id: ToolId, old: &SealedSecret, new: &SealedSecret) -> Result<bool, RepoError> {
        let done = sqlx::query("UPDATE tools SET auth_secret = ?3 WHERE id = ?1 AND auth_secret = ?2")
            .bind(id.to_string())
            .bind(old.as_stored())
            .bind(new.as_stored())
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }
}
