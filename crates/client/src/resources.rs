//! One handle per resource, borrowing the client.

use futures::stream::{self, Stream, StreamExt};
use reqwest::Method;
use serde::de::DeserializeOwned;

use crate::models::{
    AnalyticsQuery, ApiKey, CreateApiKey, CreateProject, CreateTool, CreateWebhook, Cursor, Delivery, Event, Listed,
    OverviewQuery, Page, Project, TestDelivery, Tool, UpdateApiKey, UpdateProject, UpdateTool, UpdateWebhook, Webhook,
};
use crate::{Error, TengineAI};

fn paging(page: Option<u32>, per_page: Option<u32>) -> Vec<(&'static str, String)> {
    let mut q = Vec::new();
    if let Some(p) = page {
        q.push(("page", p.to_string()));
    }
    if let Some(p) = per_page {
        q.push(("per_page", p.to_string()));
    }
    q
}

fn cursor_paging(cursor: Cursor<'_>, per_page: Option<u32>) -> Vec<(&'static str, String)> {
    let mut q = paging(None, per_page);
    match cursor {
        Cursor::After(id) => q.push(("starting_after", id.to_owned())),
        Cursor::Before(id) => q.push(("ending_before", id.to_owned())),
    }
    q
}

/// Every item of a list that pages by cursor: each page starts after the last item of
/// the one before, so every request costs the same however deep the list is.
fn all_by_cursor<'a, T: DeserializeOwned + Listed + 'a>(
    client: &'a TengineAI,
    path: String,
    extra: Vec<(&'static str, String)>,
) -> impl Stream<Item = Result<T, Error>> + 'a {
    stream::unfold(Some(None::<String>), move |after| {
        let (path, mut q) = (path.clone(), extra.clone());
        async move {
            let after = after?;
            q.extend(match &after {
                Some(id) => cursor_paging(Cursor::After(id), Some(100)),
                None => paging(None, Some(100)),
            });
            match client.get::<Page<T>>(&path, &q).await {
                Ok(pg) => {
                    let next = pg.data.last().filter(|_| pg.has_next()).map(|last| Some(last.id().to_owned()));
                    Some((stream::iter(pg.data.into_iter().map(Ok)).left_stream(), next))
                }
                Err(e) => Some((stream::iter(vec![Err(e)]).right_stream(), None)),
            }
        }
    })
    .flatten()
}

/// Every item of a list, fetching pages of `per_page` as the stream is read.
fn all<'a, T: DeserializeOwned + 'a>(
    client: &'a TengineAI,
    path: String,
    per_page: u32,
) -> impl Stream<Item = Result<T, Error>> + 'a {
    stream::unfold(Some(1u32), move |page| {
        let path = path.clone();
        async move {
            let p = page?;
            match client.get::<Page<T>>(&path, &paging(Some(p), Some(per_page))).await {
                Ok(pg) => {
                    let next = pg.has_next().then_some(p + 1);
                    Some((stream::iter(pg.data.into_iter().map(Ok)).left_stream(), next))
                }
                Err(e) => Some((stream::iter(vec![Err(e)]).right_stream(), None)),
            }
        }
    })
    .flatten()
}

/// `client.projects()`.
pub struct Projects<'a>(pub(crate) &'a TengineAI);

impl<'a> Projects<'a> {
    /// One page of projects.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn list(&self, page: Option<u32>, per_page: Option<u32>) -> Result<Page<Project>, Error> {
        self.0.get("/projects", &paging(page, per_page)).await
    }

    /// The page of projects after or before `cursor` (a project id); costs the same at
    /// any depth.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn list_from(&self, cursor: Cursor<'_>, per_page: Option<u32>) -> Result<Page<Project>, Error> {
        self.0.get("/projects", &cursor_paging(cursor, per_page)).await
    }

    /// Every project, page by page (by cursor).
    pub fn list_all(&self) -> impl Stream<Item = Result<Project, Error>> + 'a {
        all_by_cursor(self.0, "/projects".into(), Vec::new())
    }

    /// Creates a project.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn create(&self, body: &CreateProject) -> Result<Project, Error> {
        self.0.send(Method::POST, "/projects", Some(body)).await
    }

    /// Gets a project.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn retrieve(&self, id: &str) -> Result<Project, Error> {
        self.0.get(&format!("/projects/{id}"), &[]).await
    }

    /// Updates a project.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn update(&self, id: &str, body: &UpdateProject) -> Result<Project, Error> {
        self.0.send(Method::PATCH, &format!("/projects/{id}"), Some(body)).await
    }

    /// Deletes a project (soft delete).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn delete(&self, id: &str) -> Result<(), Error> {
        self.0.delete_empty(&format!("/projects/{id}")).await
    }
}

/// `client.api_keys()`.
pub struct ApiKeys<'a>(pub(crate) &'a TengineAI);

impl<'a> ApiKeys<'a> {
    /// One page of a project's keys.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn list(
        &self,
        project_id: &str,
        page: Option<u32>,
        per_page: Option<u32>,
    ) -> Result<Page<ApiKey>, Error> {
        self.0.get(&format!("/projects/{project_id}/api-keys"), &paging(page, per_page)).await
    }

    /// The page of a project's keys after or before `cursor` (a key id).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn list_from(
        &self,
        project_id: &str,
        cursor: Cursor<'_>,
        per_page: Option<u32>,
    ) -> Result<Page<ApiKey>, Error> {
        self.0.get(&format!("/projects/{project_id}/api-keys"), &cursor_paging(cursor, per_page)).await
    }

    /// Every key of a project (by cursor).
    pub fn list_all(&self, project_id: &str) -> impl Stream<Item = Result<ApiKey, Error>> + 'a {
        all_by_cursor(self.0, format!("/projects/{project_id}/api-keys"), Vec::new())
    }

    /// Creates a key; the answer's `key` is the secret, shown once.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn create(&self, project_id: &str, body: &CreateApiKey) -> Result<ApiKey, Error> {
        self.0.send(Method::POST, &format!("/projects/{project_id}/api-keys"), Some(body)).await
    }

    /// Gets a key's metadata.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn retrieve(&self, project_id: &str, key_id: &str) -> Result<ApiKey, Error> {
        self.0.get(&format!("/projects/{project_id}/api-keys/{key_id}"), &[]).await
    }

    /// Updates a key.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn update(&self, project_id: &str, key_id: &str, body: &UpdateApiKey) -> Result<ApiKey, Error> {
        self.0.send(Method::PATCH, &format!("/projects/{project_id}/api-keys/{key_id}"), Some(body)).await
    }

    /// Revokes a key at once.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn revoke(&self, project_id: &str, key_id: &str) -> Result<ApiKey, Error> {
        self.0.send::<(), _>(Method::DELETE, &format!("/projects/{project_id}/api-keys/{key_id}"), None).await
    }

    /// Issues a new secret; the old one works for `grace_period_seconds`.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn rotate(
        &self,
        project_id: &str,
        key_id: &str,
        grace_period_seconds: Option<u32>,
    ) -> Result<ApiKey, Error> {
        let body = serde_json::json!({ "grace_period_seconds": grace_period_seconds.unwrap_or(0) });
        self.0.send(Method::POST, &format!("/projects/{project_id}/api-keys/{key_id}/rotate"), Some(&body)).await
    }
}

/// `client.webhooks()`.
pub struct Webhooks<'a>(pub(crate) &'a TengineAI);

impl Webhooks<'_> {
    /// One page of a project's webhooks.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn list(
        &self,
        project_id: &str,
        page: Option<u32>,
        per_page: Option<u32>,
    ) -> Result<Page<Webhook>, Error> {
        self.0.get(&format!("/projects/{project_id}/webhooks"), &paging(page, per_page)).await
    }

    /// The page of a project's webhooks after or before `cursor` (a webhook id).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn list_from(
        &self,
        project_id: &str,
        cursor: Cursor<'_>,
        per_page: Option<u32>,
    ) -> Result<Page<Webhook>, Error> {
        self.0.get(&format!("/projects/{project_id}/webhooks"), &cursor_paging(cursor, per_page)).await
    }

    /// Creates a webhook; the answer's `secret` is shown once. `rate_limit` caps its
    /// deliveries per second (1..=10000, `None` for no limit) and `ordering:
    /// Some("per_project".into())` sends them one at a time in creation order (`None`: the
    /// server's default, `none`).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn create(&self, project_id: &str, body: &CreateWebhook) -> Result<Webhook, Error> {
        self.0.send(Method::POST, &format!("/projects/{project_id}/webhooks"), Some(body)).await
    }

    /// Gets a webhook.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn retrieve(&self, project_id: &str, webhook_id: &str) -> Result<Webhook, Error> {
        self.0.get(&format!("/projects/{project_id}/webhooks/{webhook_id}"), &[]).await
    }

    /// Updates a webhook: a `None` field is left unchanged; `Some(None)` clears the
    /// description or lifts the `rate_limit` (sent as `null`).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn update(&self, project_id: &str, webhook_id: &str, body: &UpdateWebhook) -> Result<Webhook, Error> {
        self.0.send(Method::PATCH, &format!("/projects/{project_id}/webhooks/{webhook_id}"), Some(body)).await
    }

    /// Deletes a webhook.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn delete(&self, project_id: &str, webhook_id: &str) -> Result<(), Error> {
        self.0.delete_empty(&format!("/projects/{project_id}/webhooks/{webhook_id}")).await
    }

    /// Sets a new secret (given or generated); the old one signs for 24 more hours.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn rotate_secret(
        &self,
        project_id: &str,
        webhook_id: &str,
        secret: Option<&str>,
    ) -> Result<Webhook, Error> {
        let body = secret.map_or_else(|| serde_json::json!({}), |s| serde_json::json!({ "secret": s }));
        self.0
            .send(Method::POST, &format!("/projects/{project_id}/webhooks/{webhook_id}/rotate-secret"), Some(&body))
            .await
    }

    /// Sends a `webhook.test` event to the webhook.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn test(&self, project_id: &str, webhook_id: &str) -> Result<TestDelivery, Error> {
        self.0.send::<(), _>(Method::POST, &format!("/projects/{project_id}/webhooks/{webhook_id}/test"), None).await
    }

    /// The webhook's last 24 hours (attempts, success rate, mean latency), its newest
    /// delivery, and why it is off if it is (`disabled`: `gone`, `failing` or `manual`).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn health(&self, project_id: &str, webhook_id: &str) -> Result<crate::models::WebhookHealth, Error> {
        self.0.get(&format!("/projects/{project_id}/webhooks/{webhook_id}/health"), &[]).await
    }

    /// Re-sends the webhook's deliveries that ended `failed` in `[since, until)` (`until`
    /// default now), each once, as new deliveries; at most 1,000 per call.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn recover(
        &self,
        project_id: &str,
        webhook_id: &str,
        since: chrono::DateTime<chrono::Utc>,
        until: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<crate::models::WebhookRecovery, Error> {
        let body = crate::models::RecoverWebhookRequest { since, until };
        self.0.send(Method::POST, &format!("/projects/{project_id}/webhooks/{webhook_id}/recover"), Some(&body)).await
    }

    /// One page of a webhook's deliveries.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn list_deliveries(
        &self,
        project_id: &str,
        webhook_id: &str,
        page: Option<u32>,
        per_page: Option<u32>,
    ) -> Result<Page<Delivery>, Error> {
        self.0
            .get_page(&format!("/projects/{project_id}/webhooks/{webhook_id}/deliveries"), &paging(page, per_page))
            .await
    }

    /// The page of a webhook's deliveries after or before `cursor` (a delivery id).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn list_deliveries_from(
        &self,
        project_id: &str,
        webhook_id: &str,
        cursor: Cursor<'_>,
        per_page: Option<u32>,
    ) -> Result<Page<Delivery>, Error> {
        let path = format!("/projects/{project_id}/webhooks/{webhook_id}/deliveries");
        self.0.get_page(&path, &cursor_paging(cursor, per_page)).await
    }

    /// Delivers an event again.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn redeliver(&self, project_id: &str, webhook_id: &str, delivery_id: &str) -> Result<Delivery, Error> {
        let path = format!("/projects/{project_id}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver");
        self.0.send::<(), _>(Method::POST, &path, None).await
    }
}

/// `client.tools()`.
pub struct Tools<'a>(pub(crate) &'a TengineAI);

impl<'a> Tools<'a> {
    /// One page of a project's tools.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn list(&self, project_id: &str, page: Option<u32>, per_page: Option<u32>) -> Result<Page<Tool>, Error> {
        self.0.get(&format!("/projects/{project_id}/tools"), &paging(page, per_page)).await
    }

    /// Every tool of a project, fetched page by page as the stream is read.
    pub fn list_all(&self, project_id: &str) -> impl Stream<Item = Result<Tool, Error>> + 'a {
        all(self.0, format!("/projects/{project_id}/tools"), 100)
    }

    /// Creates a tool; `encrypted_auth_secret` is write-only and never comes back
    /// (`has_auth_secret` says one is stored).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn create(&self, project_id: &str, body: &CreateTool) -> Result<Tool, Error> {
        self.0.send(Method::POST, &format!("/projects/{project_id}/tools"), Some(body)).await
    }

    /// Gets a tool.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn retrieve(&self, project_id: &str, tool_id: &str) -> Result<Tool, Error> {
        self.0.get(&format!("/projects/{project_id}/tools/{tool_id}"), &[]).await
    }

    /// Updates a tool.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn update(&self, project_id: &str, tool_id: &str, body: &UpdateTool) -> Result<Tool, Error> {
        self.0.send(Method::PATCH, &format!("/projects/{project_id}/tools/{tool_id}"), Some(body)).await
    }

    /// Deletes a tool.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn delete(&self, project_id: &str, tool_id: &str) -> Result<(), Error> {
        self.0.delete_empty(&format!("/projects/{project_id}/tools/{tool_id}")).await
    }

    /// Runs the tool once with `arguments` (logged and counted like a call through
    /// `/mcp`) and returns what was sent, credentials masked, and the result.
    ///
    /// # Errors
    /// See [`Error`]: a disabled tool or arguments off its schema are a 422.
    pub async fn test(
        &self,
        project_id: &str,
        tool_id: &str,
        arguments: serde_json::Value,
    ) -> Result<crate::models::ToolTestResult, Error> {
        let body = serde_json::json!({ "arguments": arguments });
        self.0.send(Method::POST, &format!("/projects/{project_id}/tools/{tool_id}/test"), Some(&body)).await
    }
}

/// `client.integrations()`.
pub struct Integrations<'a>(pub(crate) &'a TengineAI);

impl<'a> Integrations<'a> {
    /// One page of a project's integrations (OAuth clients).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn list(
        &self,
        project_id: &str,
        page: Option<u32>,
        per_page: Option<u32>,
    ) -> Result<Page<crate::models::Integration>, Error> {
        self.0.get(&format!("/projects/{project_id}/integrations"), &paging(page, per_page)).await
    }

    /// Every integration of a project, fetched page by page as the stream is read.
    pub fn list_all(&self, project_id: &str) -> impl Stream<Item = Result<crate::models::Integration, Error>> + 'a {
        all(self.0, format!("/projects/{project_id}/integrations"), 100)
    }

    /// Creates an integration; a confidential client's `client_secret` is in this
    /// answer only.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn create(
        &self,
        project_id: &str,
        body: &crate::models::CreateIntegration,
    ) -> Result<crate::models::Integration, Error> {
        self.0.send(Method::POST, &format!("/projects/{project_id}/integrations"), Some(body)).await
    }

    /// Gets an integration.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn retrieve(&self, project_id: &str, integration_id: &str) -> Result<crate::models::Integration, Error> {
        self.0.get(&format!("/projects/{project_id}/integrations/{integration_id}"), &[]).await
    }

    /// Updates an integration (narrowed permissions narrow its connections too).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn update(
        &self,
        project_id: &str,
        integration_id: &str,
        body: &crate::models::UpdateIntegration,
    ) -> Result<crate::models::Integration, Error> {
        self.0.send(Method::PATCH, &format!("/projects/{project_id}/integrations/{integration_id}"), Some(body)).await
    }

    /// Deletes an integration: every connection's tokens stop working.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn delete(&self, project_id: &str, integration_id: &str) -> Result<(), Error> {
        self.0.delete_empty(&format!("/projects/{project_id}/integrations/{integration_id}")).await
    }

    /// Gives a confidential client a new secret (in this answer only).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn rotate_secret(
        &self,
        project_id: &str,
        integration_id: &str,
    ) -> Result<crate::models::Integration, Error> {
        let path = format!("/projects/{project_id}/integrations/{integration_id}/rotate-secret");
        self.0.send::<(), _>(Method::POST, &path, None).await
    }

    /// One page of an integration's connections (grants).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn connections(
        &self,
        project_id: &str,
        integration_id: &str,
        page: Option<u32>,
        per_page: Option<u32>,
    ) -> Result<Page<crate::models::IntegrationConnection>, Error> {
        let path = format!("/projects/{project_id}/integrations/{integration_id}/connections");
        self.0.get(&path, &paging(page, per_page)).await
    }

    /// Disconnects a connection: its tokens stop working at once.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn disconnect(&self, project_id: &str, integration_id: &str, connection_id: &str) -> Result<(), Error> {
        let path = format!("/projects/{project_id}/integrations/{integration_id}/connections/{connection_id}");
        self.0.delete_empty(&path).await
    }

    /// The project's dynamic client registration policy (RFC 7591; off by default).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn registration(&self, project_id: &str) -> Result<crate::models::ClientRegistrationPolicy, Error> {
        self.0.get(&format!("/projects/{project_id}/client-registration"), &[]).await
    }

    /// Sets the project's dynamic client registration policy (needs `admin`).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn set_registration(
        &self,
        project_id: &str,
        body: &crate::models::SetClientRegistrationRequest,
    ) -> Result<crate::models::ClientRegistrationPolicy, Error> {
        self.0.send(Method::PUT, &format!("/projects/{project_id}/client-registration"), Some(body)).await
    }
}

/// `client.events()`.
pub struct Events<'a>(pub(crate) &'a TengineAI);

impl Events<'_> {
    /// One page of a project's events, optionally of one type.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn list(
        &self,
        project_id: &str,
        kind: Option<&str>,
        page: Option<u32>,
        per_page: Option<u32>,
    ) -> Result<Page<Event>, Error> {
        let mut q = paging(page, per_page);
        if let Some(k) = kind {
            q.push(("type", k.to_owned()));
        }
        self.0.get_page(&format!("/projects/{project_id}/events"), &q).await
    }

    /// The page of a project's events after or before `cursor` (an event id), optionally
    /// of one type.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn list_from(
        &self,
        project_id: &str,
        kind: Option<&str>,
        cursor: Cursor<'_>,
        per_page: Option<u32>,
    ) -> Result<Page<Event>, Error> {
        let mut q = cursor_paging(cursor, per_page);
        if let Some(k) = kind {
            q.push(("type", k.to_owned()));
        }
        self.0.get_page(&format!("/projects/{project_id}/events"), &q).await
    }

    /// Every event of a project, optionally of one type (by cursor).
    pub fn list_all(&self, project_id: &str, kind: Option<&str>) -> impl Stream<Item = Result<Event, Error>> + '_ {
        let extra = kind.map(|k| vec![("type", k.to_owned())]).unwrap_or_default();
        all_by_cursor(self.0, format!("/projects/{project_id}/events"), extra)
    }

    /// The project's events as they happen (`GET .../events/stream`, Server-Sent Events):
    /// those after `last_event_id` first, in order, when given; else only new ones. When
    /// the server ends the stream (every 15 minutes) or the connection drops, it resumes
    /// by itself after the last event received (after 0.5 s, doubling to 10 s while the
    /// server cannot be reached). Drop the stream to stop.
    ///
    /// Until the first event arrives there is no id to resume from, so a reconnection
    /// starts after the newest event again; to miss nothing, start from a known event
    /// (the newest of [`Events::list`], say).
    ///
    /// # Errors
    /// An `Err` item ends the stream: the first connection's error after the usual
    /// retries, a reconnection's 4xx (a revoked key; an unknown `last_event_id` is a 422
    /// naming `Last-Event-ID`), or [`Error::Decode`] for a message that is not an event.
    pub fn stream(
        &self,
        project_id: &str,
        last_event_id: Option<&str>,
    ) -> impl Stream<Item = Result<Event, Error>> + Send + 'static {
        crate::live::follow(self.0.clone(), project_id, last_event_id)
    }
}

/// `client.event_types()`.
pub struct EventTypes<'a>(pub(crate) &'a TengineAI);

impl EventTypes<'_> {
    /// Every event type: what it means, its scope (`project` or `account`) and the JSON
    /// Schema of its `data`, kept exactly as the server sent it.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn list(&self) -> Result<crate::models::EventTypeCatalogue, Error> {
        self.0.get("/event-types", &[]).await
    }
}

/// `client.analytics()`.
pub struct Analytics<'a>(pub(crate) &'a TengineAI);

impl Analytics<'_> {
    /// Usage of a project over a range.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn retrieve(&self, project_id: &str, query: &AnalyticsQuery) -> Result<crate::models::Analytics, Error> {
        let mut q = Vec::new();
        for (k, v) in [
            ("start_date", &query.start_date),
            ("end_date", &query.end_date),
            ("granularity", &query.granularity),
            ("api_key_id", &query.api_key_id),
            ("integration_id", &query.integration_id),
        ] {
            if let Some(v) = v {
                q.push((k, v.clone()));
            }
        }
        self.0.get(&format!("/projects/{project_id}/analytics"), &q).await
    }

    /// Every project the key sees: request totals over the range, the busiest projects
    /// and, for a key with `webhook`, the webhooks failing now.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn overview(&self, query: &OverviewQuery) -> Result<crate::models::AccountAnalytics, Error> {
        let mut q = Vec::new();
        for (k, v) in [("start_date", &query.start_date), ("end_date", &query.end_date)] {
            if let Some(v) = v {
                q.push((k, v.clone()));
            }
        }
        if let Some(limit) = query.limit {
            q.push(("limit", limit.to_string()));
        }
        self.0.get("/analytics", &q).await
    }
}

/// `client.tool_calls()`: every tool call `/mcp` made or refused.
pub struct ToolCalls<'a>(pub(crate) &'a TengineAI);

/// Filters of the call log.
#[derive(Debug, Clone, Default)]
pub struct ToolCallFilter {
    /// Only this tool's calls.
    pub tool_id: Option<String>,
    /// Only this member's.
    pub member_id: Option<String>,
    /// Only `succeeded`, `failed` or `refused` calls.
    pub status: Option<String>,
}

impl ToolCalls<'_> {
    /// One page of a project's logged calls, newest first.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn list(
        &self,
        project_id: &str,
        filter: &ToolCallFilter,
        page: Option<u32>,
        per_page: Option<u32>,
    ) -> Result<Page<crate::models::ToolCall>, Error> {
        let mut q = paging(page, per_page);
        for (name, value) in
            [("tool_id", &filter.tool_id), ("member_id", &filter.member_id), ("status", &filter.status)]
        {
            if let Some(v) = value {
                q.push((name, v.clone()));
            }
        }
        self.0.get(&format!("/projects/{project_id}/tool-calls"), &q).await
    }

    /// One logged call.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn retrieve(&self, project_id: &str, call_id: &str) -> Result<crate::models::ToolCall, Error> {
        self.0.get(&format!("/projects/{project_id}/tool-calls/{call_id}"), &[]).await
    }
}

/// `client.signing_keys()`: the public keys a project's backend signs member assertions with.
pub struct SigningKeys<'a>(pub(crate) &'a TengineAI);

impl SigningKeys<'_> {
    /// One page of a project's signing keys.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn list(
        &self,
        project_id: &str,
        page: Option<u32>,
        per_page: Option<u32>,
    ) -> Result<Page<crate::models::SigningKey>, Error> {
        self.0.get(&format!("/projects/{project_id}/signing-keys"), &paging(page, per_page)).await
    }

    /// Registers a public key (exactly one of `public_key_pem` and `jwk`).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn create(
        &self,
        project_id: &str,
        body: &crate::models::CreateSigningKeyRequest,
    ) -> Result<crate::models::SigningKey, Error> {
        self.0.send(Method::POST, &format!("/projects/{project_id}/signing-keys"), Some(body)).await
    }

    /// One signing key.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn retrieve(&self, project_id: &str, key_id: &str) -> Result<crate::models::SigningKey, Error> {
        self.0.get(&format!("/projects/{project_id}/signing-keys/{key_id}"), &[]).await
    }

    /// Deletes a signing key.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn delete(&self, project_id: &str, key_id: &str) -> Result<(), Error> {
        self.0.delete_empty(&format!("/projects/{project_id}/signing-keys/{key_id}")).await
    }
}

/// `client.mcp()`: what a project's backend asks of `/mcp`.
pub struct Mcp<'a>(pub(crate) &'a TengineAI);

impl Mcp<'_> {
    /// Exchanges a member assertion (a JWT your backend signed) for a 15-minute
    /// `tng_mst_` token an MCP client uses at `/mcp` for that member; an account-wide key
    /// names the project with `project_id`.
    ///
    /// # Errors
    /// See [`Error`]; a refused assertion is a validation error on `member_assertion`.
    pub async fn session_token(
        &self,
        member_assertion: &str,
        project_id: Option<&str>,
    ) -> Result<crate::models::SessionToken, Error> {
        let body = serde_json::json!({"member_assertion": member_assertion});
        let headers: Vec<(&str, String)> =
            project_id.map(|p| vec![("X-Tengine-Project-Id", p.to_owned())]).unwrap_or_default();
        self.0
            .call_with(Method::POST, "/mcp/session-token", &[], &headers, Some(&body))
            .await?
            .ok_or_else(|| Error::Decode("empty body".into()))
    }
}
