//! The events that project and key changes write to the outbox, with their payloads.
//! Payloads never contain a key secret or a webhook secret.

use serde_json::{json, Value};
use tengine_domain::{time, ApiKey, Event, EventId, EventType, Project};
use tengine_ports::{RepoError, Transaction};

use crate::Tengine;

/// A project as event payloads show it.
pub fn project_data(p: &Project) -> Value {
    json!({
        "id": p.id.to_string(),
        "name": p.name.as_str(),
        "description": p.description.as_ref().map(|d| d.as_str()),
        "created_at": time::format(p.created_at),
        "updated_at": time::format(p.updated_at),
    })
}

/// A key's metadata as event payloads show it: the API's key object without the secret.
pub fn api_key_data(k: &ApiKey) -> Value {
    json!({
        "id": k.id.to_string(),
        "project_id": k.scope.project().map(|p| p.to_string()),
        "name": k.name.as_str(),
        "permissions": k.permissions.names(),
        "prefix": k.prefix,
        "expires_at": k.expires_at.map(time::format),
        "created_at": time::format(k.created_at),
        "last_used_at": k.last_used_at.map(time::format),
        "revoked_at": k.revoked_at.map(time::format),
    })
}

/// A webhook as event payloads show it: the API's webhook object (never its secret).
pub fn webhook_data(w: &tengine_domain::delivery::Webhook) -> Value {
    json!({
        "id": w.id.to_string(),
        "project_id": w.project_id.to_string(),
        "url": w.url.as_str(),
        "description": w.description,
        "events": w.events.names(),
        "active": w.active,
        "failing_since": w.failing_since.map(time::format),
        "created_at": time::format(w.created_at),
        "updated_at": time::format(w.updated_at),
        "rate_limit": w.rate_limit,
        "ordering": w.ordering.as_str(),
    })
}

impl Tengine {
    /// Builds an event of `kind` about `project` at the current time.
    pub(crate) fn event(
        &self,
        kind: EventType,
        account: tengine_domain::AccountId,
        project: Option<tengine_domain::ProjectId>,
        data: Value,
    ) -> Event {
        Event {
            id: EventId::from_uuid(self.deps.ids.next_uuid()),
            account_id: account,
            project_id: project,
            event_type: kind,
            data: data.into(),
            created_at: self.deps.clock.now(),
        }
    }

    /// Appends an event in `tx`, so it commits (and fans out) with the change.
    pub(crate) async fn record(&self, tx: &mut dyn Transaction, event: Event) -> Result<(), RepoError> {
        tx.append_event(&event).await.map(|_| ())
    }
}
