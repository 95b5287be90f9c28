//! The baseline of `cargo xtask bench`: the least a server can do to answer
//! `GET /projects/{id}` from PostgreSQL (axum, one primary-key SELECT through a sqlx
//! pool with the per-acquire ping off, the same JSON). Tengine is measured against it
//! in the same run.

use std::net::SocketAddr;

use anyhow::Context;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

type Row = (String, String, Option<String>, DateTime<Utc>, DateTime<Utc>);

async fn project(State(pool): State<PgPool>, Path(id): Path<String>) -> Result<Json<Value>, StatusCode> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, name, description, created_at, updated_at FROM projects WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(&id)
    .fetch_optional(&pool)
    .await
    .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    let (id, name, description, created, updated) = row.ok_or(StatusCode::NOT_FOUND)?;
    let ts = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Micros, true);
    Ok(Json(
        json!({"id": id, "name": name, "description": description, "created_at": ts(created), "updated_at": ts(updated)}),
    ))
}

/// The same lookup through Tengine's PostgreSQL adapter (`/adapter/{account}/{id}`), to
/// tell the adapter's cost from the HTTP stack's.
async fn via_adapter(
    State(pool): State<PgPool>,
    Path((account, id)): Path<(String, String)>,
) -> Result<Json<Value>, StatusCode> {
    use tengine_ports::ProjectRepository;
    let store = tengine_adapters_postgres::PgStore::from_pool(pool);
    let account = account.parse().map_err(|_| StatusCode::NOT_FOUND)?;
    let id = id.parse().map_err(|_| StatusCode::NOT_FOUND)?;
    let p = store
        .get_project(account, id)
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?
        .ok_or(StatusCode::NOT_FOUND)?;
    let ts = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Micros, true);
    Ok(Json(
        json!({"id": p.id.to_string(), "name": p.name.as_str(), "description": p.description.as_ref().map(|d| d.as_str()), "created_at": ts(p.created_at), "updated_at": ts(p.updated_at)}),
    ))
}

/// Serves the baseline until killed.
///
/// # Errors
/// When the database or the address cannot be opened.
pub async fn serve(database_url: &str, listen: SocketAddr) -> anyhow::Result<()> {
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .test_before_acquire(false)
        .connect(database_url)
        .await
        .context("connect")?;
    let app = Router::new()
        .route("/api/v1/projects/{id}", get(project))
        .route("/adapter/{account}/{id}", get(via_adapter))
        .with_state(pool);
    let listener = tokio::net::TcpListener::bind(listen).await.context("bind")?;
    // With port 0, `cargo xtask bench` learns the port from this line.
    println!("tengine-bench: listening on {}", listener.local_addr().context("local address")?);
    axum::serve(listener, app).await.context("serve")
}
