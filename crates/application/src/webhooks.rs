//! Webhook use cases: endpoints, secret rotation, test events, deliveries, redelivery,
//! and the project's event log.

use serde_json::json;
use tengine_domain::delivery::{
    Delivery, DeliveryStats, DisableReason, EventFilter, Webhook, WebhookSummary, WebhookUrl, HEALTH_WINDOW,
};
use tengine_domain::webhook::WebhookSecret;
use tengine_domain::{
    DeliveryId, Event, EventId, EventType, Page, PageRequest, Permission, Principal, ProjectId, WebhookId,
};
use tengine_ports::RepoError;

use crate::projects::not_found_as_project;

/// A webhook's health (see `Tengine::webhook_health`).
#[derive(Debug, Clone)]
pub struct WebhookHealth {
    /// The webhook.
    pub webhook: Webhook,
    /// Where the window starts.
    pub since: chrono::DateTime<chrono::Utc>,
    /// Its attempts in the window.
    pub stats: DeliveryStats,
    /// Its newest delivery, with its attempts.
    pub last_delivery: Option<Delivery>,
    /// Why and when it was switched off, while it is off.
    pub disabled: Option<(DisableReason, chrono::DateTime<chrono::Utc>)>,
}

/// Events one read of a live stream returns at most.
pub const STREAM_BATCH: u32 = 100;
use crate::{AppError, Tengine};
use tengine_domain::session::PortalSection;

/// A validated request to create a webhook.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    /// Where to deliver.
    pub url: WebhookUrl,
    /// What to deliver.
    pub events: EventFilter,
    /// A chosen secret; generated when `None`.
    pub secret: Option<WebhookSecret>,
    /// A description.
    pub description: Option<String>,
    /// At most this many deliveries per second; `None` for no limit.
    pub rate_limit: Option<u32>,
    /// The order deliveries go in.
    pub ordering: tengine_domain::delivery::DeliveryOrder,
}

/// A partial update of a webhook: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    /// A new URL.
    pub url: Option<WebhookUrl>,
    /// A new subscription.
    pub events: Option<EventFilter>,
    /// Enable or disable it.
    pub active: Option<bool>,
    /// A new description, or `Some(None)` to clear it.
    pub description: Option<Option<String>>,
    /// A new throttle, or `Some(None)` to lift it.
    pub rate_limit: Option<Option<u32>>,
    /// A new order.
    pub ordering: Option<tengine_domain::delivery::DeliveryOrder>,
}

/// The most failed deliveries one `recover` call re-sends.
pub const RECOVER_BATCH: u32 = 1_000;

/// What a `recover` call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recovery {
    /// Failed deliveries re-sent, each as a new delivery.
    pub recovered: u64,
    /// Whether more remain in the window (call again).
    pub has_more: bool,
}

impl Tengine {
    /// Lists a project's webhooks.
    ///
    /// # Errors
    /// `Forbidden` without `webhook`; `ProjectNotFound`.
    pub async fn list_webhooks(
        &self,
        who: &Principal,
        project: ProjectId,
        page: PageRequest,
    ) -> Result<Page<WebhookSummary>, AppError> {
        who.require(Permission::Webhook)?;
        who.portal_shows(Some(PortalSection::Webhooks))?;
        Self::sees_project(who, project)?;
        self.deps.store.list_webhooks(who.account_id, project, page).await.map_err(not_found_as_project)
    }

    /// Creates a webhook; returns it with its secret (shown once).
    ///
    /// # Errors
    /// `Forbidden` without `webhook`; `ProjectNotFound`.
    pub async fn create_webhook(
        &self,
        who: &Principal,
        project: ProjectId,
        new: NewWebhook,
    ) -> Result<(Webhook, WebhookSecret), AppError> {
        who.require(Permission::Webhook)?;
        who.portal_shows(Some(PortalSection::Webhooks))?;
        if !who.sees(&project) {
            return Err(AppError::ProjectNotFound);
        }
        let now = self.deps.clock.now();
        let secret = new.secret.unwrap_or_else(|| self.deps.secrets.webhook_secret());
        let id = WebhookId::from_uuid(self.deps.ids.next_uuid());
        let webhook = Webhook {
            id,
            account_id: who.account_id,
            project_id: project,
            url: new.url,
            description: new.description,
            events: new.events,
            active: true,
            secret: self.deps.keyring.seal(id, &secret, self.deps.secrets.nonce()),
            previous_secret: None,
            failing_since: None,
            created_at: now,
            updated_at: now,
            rate_limit: new.rate_limit,
            ordering: new.ordering,
        };
        let mut tx = self.deps.store.begin().await?;
        tx.lock_project(who.account_id, project).await?.ok_or(AppError::ProjectNotFound)?;
        tx.insert_webhook(&webhook).await?;
        tx.commit().await?;
        tracing::info!(webhook_id = %webhook.id, project_id = %project, "webhook created");
        Ok((webhook, secret))
    }

    /// Gets one webhook.
    ///
    /// # Errors
    /// `Forbidden` without `webhook`; `ProjectNotFound`; `NotFound("webhook")`.
    pub async fn get_webhook(&self, who: &Principal, project: ProjectId, id: WebhookId) -> Result<Webhook, AppError> {
        who.require(Permission::Webhook)?;
        who.portal_shows(Some(PortalSection::Webhooks))?;
        self.visible_project(who, project).await?;
        self.deps.store.get_webhook(project, id).await?.ok_or(AppError::NotFound(WebhookId::KIND))
    }

    /// Changes a webhook; re-enabling one clears its failure streak.
    ///
    /// # Errors
    /// As for `get_webhook`.
    pub async fn update_webhook(
        &self,
        who: &Principal,
        project: ProjectId,
        id: WebhookId,
        patch: WebhookPatch,
    ) -> Result<Webhook, AppError> {
        who.require(Permission::Webhook)?;
        who.portal_shows(Some(PortalSection::Webhooks))?;
        let now = self.deps.clock.now();
        self.mutate_webhook(who, project, id, |w| {
            let before = w.clone();
            if let Some(url) = patch.url {
                w.url = url;
            }
            if let Some(events) = patch.events {
                w.events = events;
            }
            if let Some(description) = patch.description {
                w.description = description;
            }
            if let Some(rate_limit) = patch.rate_limit {
                w.rate_limit = rate_limit;
            }
            if let Some(ordering) = patch.ordering {
                w.ordering = ordering;
            }
            if let Some(active) = patch.active {
                if active && !w.active {
                    w.failing_since = None;
                }
                w.active = active;
            }
            let changed = *w != before;
            if changed {
                w.updated_at = now;
            }
            Ok(changed)
        })
        .await
    }

    /// Deletes a webhook and its delivery history.
    ///
    /// # Errors
    /// As for `get_webhook`.
    pub async fn delete_webhook(&self, who: &Principal, project: ProjectId, id: WebhookId) -> Result<(), AppError> {
        who.require(Permission::Webhook)?;
        who.portal_shows(Some(PortalSection::Webhooks))?;
        if !who.sees(&project) {
            return Err(AppError::ProjectNotFound);
        }
        let mut tx = self.deps.store.begin().await?;
        tx.lock_project(who.account_id, project).await?.ok_or(AppError::ProjectNotFound)?;
        tx.delete_webhook(project, id).await.map_err(|e| match e {
            RepoError::NotFound => AppError::NotFound(WebhookId::KIND),
            e => e.into(),
        })?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets a new secret (given or generated); the old one keeps signing for 24 hours.
    ///
    /// # Errors
    /// As for `get_webhook`.
    pub async fn rotate_webhook_secret(
        &self,
        who: &Principal,
        project: ProjectId,
        id: WebhookId,
        secret: Option<WebhookSecret>,
    ) -> Result<(Webhook, WebhookSecret), AppError> {
        who.require(Permission::Webhook)?;
        who.portal_shows(Some(PortalSection::Webhooks))?;
        let now = self.deps.clock.now();
        let secret = secret.unwrap_or_else(|| self.deps.secrets.webhook_secret());
        let nonce = self.deps.secrets.nonce();
        let webhook = self
            .mutate_webhook(who, project, id, |w| {
                w.rotate_secret(self.deps.keyring.seal(w.id, &secret, nonce), now);
                Ok(true)
            })
            .await?;
        Ok((webhook, secret))
    }

    /// Sends a `webhook.test` event to one webhook, whatever it subscribes to.
    ///
    /// # Errors
    /// As for `get_webhook`.
    pub async fn test_webhook(
        &self,
        who: &Principal,
        project: ProjectId,
        id: WebhookId,
    ) -> Result<(Event, DeliveryId), AppError> {
        who.require(Permission::Webhook)?;
        who.portal_shows(Some(PortalSection::Webhooks))?;
        if !who.sees(&project) {
            return Err(AppError::ProjectNotFound);
        }
        let mut tx = self.deps.store.begin().await?;
        tx.lock_project(who.account_id, project).await?.ok_or(AppError::ProjectNotFound)?;
        let webhook = tx.lock_webhook(project, id).await?.ok_or(AppError::NotFound(WebhookId::KIND))?;
        let data = json!({"webhook_id": webhook.id.to_string(), "message": "This is a test event from Tengine."});
        let event = self.event(EventType::WebhookTest, who.account_id, Some(project), data);
        tx.append_event(&event).await?;
        let delivery = DeliveryId::from_uuid(self.deps.ids.next_uuid());
        tx.insert_delivery(delivery, event.id, webhook.id, event.created_at).await?;
        tx.commit().await?;
        Ok((event, delivery))
    }

    /// Lists a webhook's deliveries with their attempts.
    ///
    /// # Errors
    /// As for `get_webhook`.
    pub async fn list_deliveries(
        &self,
        who: &Principal,
        project: ProjectId,
        id: WebhookId,
        page: PageRequest,
    ) -> Result<Page<Delivery>, AppError> {
        Self::may_read_deliveries(who, project)?;
        match self.deps.store.list_deliveries(who.account_id, project, id, page).await {
            // Which of the two is missing decides the answer; only a miss pays for asking.
            Err(RepoError::NotFound) => {
                self.visible_project(who, project).await?;
                Err(AppError::NotFound(WebhookId::KIND))
            }
            result => Ok(result?),
        }
    }

    /// Whether `who` may read or resend `project`'s deliveries: `webhook` permission, for a
    /// portal the deliveries section (not necessarily the webhooks one), and the key's scope.
    fn may_read_deliveries(who: &Principal, project: ProjectId) -> Result<(), AppError> {
        who.require(Permission::Webhook)?;
        who.portal_shows(Some(PortalSection::Deliveries))?;
        Self::sees_project(who, project)
    }

    /// A webhook's health: its attempts over the last [`HEALTH_WINDOW`], its newest
    /// delivery with its attempts, and why and when it was switched off. Read like its
    /// deliveries (`webhook`).
    ///
    /// # Errors
    /// As for `list_deliveries`.
    pub async fn webhook_health(
        &self,
        who: &Principal,
        project: ProjectId,
        id: WebhookId,
    ) -> Result<WebhookHealth, AppError> {
        let webhook = self.webhook_for_deliveries(who, project, id).await?;
        let since = self.deps.clock.now() - HEALTH_WINDOW;
        let stats = self.deps.store.webhook_stats(id, since).await.map_err(|e| match e {
            RepoError::NotFound => AppError::NotFound(WebhookId::KIND),
            e => e.into(),
        })?;
        let newest = self.list_deliveries(who, project, id, PageRequest::new(1, 1)).await?;
        Ok(WebhookHealth {
            since,
            stats: stats.stats,
            last_delivery: newest.items.into_iter().next(),
            disabled: if webhook.active { None } else { stats.disabled },
            webhook,
        })
    }

    /// The webhook whose deliveries `who` reads or resends.
    async fn webhook_for_deliveries(
        &self,
        who: &Principal,
        project: ProjectId,
        id: WebhookId,
    ) -> Result<Webhook, AppError> {
        Self::may_read_deliveries(who, project)?;
        self.visible_project(who, project).await?;
        self.deps.store.get_webhook(project, id).await?.ok_or(AppError::NotFound(WebhookId::KIND))
    }

    /// Delivers an event again to the same webhook, as a new delivery.
    ///
    /// # Errors
    /// As for `get_webhook`, plus `NotFound("delivery")`.
    pub async fn redeliver(
        &self,
        who: &Principal,
        project: ProjectId,
        id: WebhookId,
        delivery: DeliveryId,
    ) -> Result<Delivery, AppError> {
        self.webhook_for_deliveries(who, project, id).await?;
        let old = self.deps.store.get_delivery(id, delivery).await?.ok_or(AppError::NotFound(DeliveryId::KIND))?;
        let now = self.deps.clock.now();
        let new = Delivery {
            id: DeliveryId::from_uuid(self.deps.ids.next_uuid()),
            event_id: old.event_id,
            event_type: old.event_type,
            webhook_id: id,
            status: tengine_domain::delivery::DeliveryStatus::Pending,
            attempts: Vec::new(),
            next_attempt_at: Some(now),
            created_at: now,
        };
        let mut tx = self.deps.store.begin().await?;
        tx.insert_delivery(new.id, new.event_id, id, now).await?;
        tx.commit().await?;
        Ok(new)
    }

    /// Re-sends, as new deliveries, the webhook's deliveries that ended `failed` and were
    /// created in `[since, until)` (`until` default now), each once however often this
    /// is called: for when a receiver was down for a while. At most
    /// [`RECOVER_BATCH`] per call; `has_more` says to call again.
    ///
    /// # Errors
    /// As `redeliver`; `Validation` when `since` is not before `until`.
    pub async fn recover_deliveries(
        &self,
        who: &Principal,
        project: ProjectId,
        id: WebhookId,
        since: chrono::DateTime<chrono::Utc>,
        until: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Recovery, AppError> {
        self.webhook_for_deliveries(who, project, id).await?;
        let now = self.deps.clock.now();
        let until = until.unwrap_or(now);
        if since >= until {
            let e = tengine_domain::FieldError::new("since", "must be before until (default now)")
                .with_value(tengine_domain::time::format(since));
            return Err(e.into());
        }
        let mut tx = self.deps.store.begin().await?;
        let failed = tx.take_failed_deliveries(id, since, until, now, RECOVER_BATCH).await?;
        for (_, event) in &failed {
            tx.insert_delivery(DeliveryId::from_uuid(self.deps.ids.next_uuid()), *event, id, now).await?;
        }
        tx.commit().await?;
        let recovered = u64::try_from(failed.len()).unwrap_or(u64::MAX);
        tracing::info!(webhook_id = %id, recovered, "failed deliveries recovered");
        Ok(Recovery { recovered, has_more: recovered == u64::from(RECOVER_BATCH) })
    }

    /// The project's event log, newest first, optionally of one type.
    ///
    /// # Errors
    /// `Forbidden` without `read`; `ProjectNotFound`.
    pub async fn list_events(
        &self,
        who: &Principal,
        project: ProjectId,
        kind: Option<EventType>,
        page: PageRequest,
    ) -> Result<Page<Event>, AppError> {
        who.require(Permission::Read)?;
        who.portal_shows(None)?;
        Self::sees_project(who, project)?;
        self.deps.store.list_events(who.account_id, project, kind, page).await.map_err(not_found_as_project)
    }

    /// The newest event of the project, where a live stream starts when the client names
    /// none.
    ///
    /// # Errors
    /// `Forbidden` without `read`; `ProjectNotFound`.
    pub async fn latest_event(&self, who: &Principal, project: ProjectId) -> Result<Option<EventId>, AppError> {
        let page = self.list_events(who, project, None, PageRequest::new(1, 1)).await?;
        Ok(page.items.first().map(|e| e.id))
    }

    /// Up to [`STREAM_BATCH`] events of the project created after `after` (from the first
    /// event when `None`: a stream that began on an empty log), oldest first, and whether
    /// newer ones are waiting (then call again from the last one returned).
    ///
    /// # Errors
    /// `Forbidden` without `read`; `ProjectNotFound`; `Validation` naming
    /// `Last-Event-ID` when `after` is not an event of the project (never was, or purged).
    pub async fn events_after(
        &self,
        who: &Principal,
        project: ProjectId,
        after: Option<EventId>,
    ) -> Result<(Vec<Event>, bool), AppError> {
        let Some(after) = after else {
            // The oldest events are the last numbered page of the newest-first list.
            let mut page = self.list_events(who, project, None, PageRequest::new(1, STREAM_BATCH)).await?;
            if page.has_next() {
                let last = u32::try_from(page.total.div_ceil(u64::from(STREAM_BATCH))).unwrap_or(u32::MAX);
                page = self.list_events(who, project, None, PageRequest::new(last, STREAM_BATCH)).await?;
            }
            let more = page.total > page.items.len() as u64;
            let mut items = page.items;
            items.reverse();
            return Ok((items, more));
        };
        let cursor = tengine_domain::Cursor::Before(after.to_string());
        let page = self.list_events(who, project, None, PageRequest::keyset(cursor, STREAM_BATCH)).await.map_err(
            |e| match e {
                AppError::Validation(_) => {
                    tengine_domain::FieldError::new("Last-Event-ID", "is not an event of this project's log").into()
                }
                e => e,
            },
        )?;
        let mut items = page.items;
        items.reverse();
        Ok((items, page.has_more))
    }

    async fn mutate_webhook(
        &self,
        who: &Principal,
        project: ProjectId,
        id: WebhookId,
        change: impl FnOnce(&mut Webhook) -> Result<bool, AppError>,
    ) -> Result<Webhook, AppError> {
        if !who.sees(&project) {
            return Err(AppError::ProjectNotFound);
        }
        let mut tx = self.deps.store.begin().await?;
        tx.lock_project(who.account_id, project).await?.ok_or(AppError::ProjectNotFound)?;
        let mut webhook = tx.lock_webhook(project, id).await?.ok_or(AppError::NotFound(WebhookId::KIND))?;
        if change(&mut webhook)? {
            tx.update_webhook(&webhook).await?;
            tx.commit().await?;
        }
        Ok(webhook)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use tengine_domain::{KeyScope, PageRequest, Permission, WebhookId};
    use tengine_ports::RepoError;
    use uuid::Uuid;

    use crate::test_support::*;
    use crate::AppError;

    fn hook() -> WebhookId {
        WebhookId::from_uuid(Uuid::from_u128(900))
    }

    fn webhook_reader() -> tengine_domain::Principal {
        principal(&[Permission::Webhook], KeyScope::Account)
    }

    #[tokio::test]
    async fn deliveries_are_read_in_one_call_that_carries_the_account_project_and_webhook() {
        let app = harness(|s| {
            s.expect_list_deliveries()
                .times(1)
                .withf(|account, project, webhook, _| {
                    (*account, *project, *webhook) == (account_id(), project_id(1), hook())
                })
                .returning(|_, _, _, page| Ok(empty_page(page)));
        });
        let page = app.list_deliveries(&webhook_reader(), project_id(1), hook(), PageRequest::default()).await;
        assert_eq!(page.unwrap().total, 0);
    }

    #[tokio::test]
    async fn a_delivery_list_the_store_does_not_find_names_what_is_missing() {
        // The project is there: the webhook is what is missing.
        let app = harness(|s| {
            s.expect_list_deliveries().returning(|_, _, _, _| Err(RepoError::NotFound));
            s.expect_get_project().times(1).returning(|_, id| Ok(Some(tengine_domain::Project { id, ..project(1) })));
        });
        let result = app.list_deliveries(&webhook_reader(), project_id(1), hook(), PageRequest::default()).await;
        assert!(matches!(result, Err(AppError::NotFound(kind)) if kind == WebhookId::KIND), "{result:?}");
        // The project is not.
        let app = harness(|s| {
            s.expect_list_deliveries().returning(|_, _, _, _| Err(RepoError::NotFound));
            s.expect_get_project().times(1).returning(|_, _| Ok(None));
        });
        let result = app.list_deliveries(&webhook_reader(), project_id(1), hook(), PageRequest::default()).await;
        assert!(matches!(result, Err(AppError::ProjectNotFound)), "{result:?}");
    }

    fn stored_event(n: u128) -> tengine_domain::Event {
        tengine_domain::Event {
            id: tengine_domain::EventId::from_uuid(Uuid::from_u128(n)),
            account_id: account_id(),
            project_id: Some(project_id(1)),
            event_type: tengine_domain::EventType::ProjectUpdated,
            data: serde_json::json!({}).into(),
            created_at: now(),
        }
    }

    #[tokio::test]
    async fn a_stream_reads_the_events_just_after_its_cursor_oldest_first() {
        let after = tengine_domain::EventId::from_uuid(Uuid::from_u128(10));
        let app = harness(|s| {
            s.expect_list_events()
                .times(1)
                .withf(move |_, project, kind, page| {
                    *project == project_id(1)
                        && kind.is_none()
                        && page.cursor() == Some(&tengine_domain::Cursor::Before(after.to_string()))
                        && page.per_page() == super::STREAM_BATCH
                })
                .returning(|_, _, _, page| {
                    // The store answers newest first.
                    let mut p = tengine_domain::Page::new(vec![stored_event(12), stored_event(11)], 5, page);
                    p.has_more = true;
                    Ok(p)
                });
        });
        let reader = principal(&[Permission::Read], KeyScope::Account);
        let (events, more) = app.events_after(&reader, project_id(1), Some(after)).await.unwrap();
        let ids: Vec<_> = events.iter().map(|e| e.id.as_uuid().as_u128()).collect();
        assert_eq!((ids, more), (vec![11, 12], true));
    }

    #[tokio::test]
    async fn a_stream_from_an_unknown_event_names_last_event_id_and_needs_read() {
        let app = harness(|s| {
            s.expect_list_events().times(1).returning(|_, _, _, _| Err(RepoError::UnknownCursor("ending_before")));
        });
        let after = tengine_domain::EventId::from_uuid(Uuid::from_u128(10));
        let reader = principal(&[Permission::Read], KeyScope::Account);
        let result = app.events_after(&reader, project_id(1), Some(after)).await;
        assert!(
            matches!(&result, Err(AppError::Validation(v)) if format!("{v:?}").contains("Last-Event-ID")),
            "{result:?}"
        );
        let writer = principal(&[Permission::Write], KeyScope::Account);
        let refused = harness(|_| {}).events_after(&writer, project_id(1), Some(after)).await;
        assert!(matches!(refused, Err(AppError::Forbidden(_))), "{refused:?}");
    }

    #[tokio::test]
    async fn events_and_webhooks_of_a_project_the_store_does_not_find_are_project_not_found() {
        let app = harness(|s| {
            s.expect_list_events().times(1).returning(|_, _, _, _| Err(RepoError::NotFound));
            s.expect_list_webhooks().times(1).returning(|_, _, _| Err(RepoError::NotFound));
        });
        let reader = principal(&[Permission::Read, Permission::Webhook], KeyScope::Account);
        let events = app.list_events(&reader, project_id(1), None, PageRequest::default()).await;
        assert!(matches!(events, Err(AppError::ProjectNotFound)), "{events:?}");
        let hooks = app.list_webhooks(&reader, project_id(1), PageRequest::default()).await;
        assert!(matches!(hooks, Err(AppError::ProjectNotFound)), "{hooks:?}");
    }
}
