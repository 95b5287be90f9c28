//! Rows of `events`.

use tengine_domain::event::EventData;
use tengine_domain::{Event, EventType};
use tengine_ports::RepoError;

use crate::{at, Dialect};

positional_row! {
    /// A row of `events`, with `data` read as JSON text.
    pub struct EventRow<D: Dialect> {
        pub(crate) id: String = "id",
        pub(crate) account_id: String = "account_id",
        pub(crate) project_id: Option<String> = "project_id",
        pub(crate) event_type: String = "type",
        pub(crate) data: String = "data",
        pub(crate) created_at: D::Timestamp = "created_at",
    }
}

/// An event type as stored.
pub(crate) fn event_type(name: &str) -> Result<EventType, RepoError> {
    name.parse().map_err(|()| RepoError::other(format!("unknown event type {name:?}")))
}

impl<D: Dialect> TryFrom<EventRow<D>> for Event {
    type Error = RepoError;

    fn try_from(row: EventRow<D>) -> Result<Self, RepoError> {
        Ok(Event {
            id: row.id.parse().map_err(RepoError::other)?,
            account_id: row.account_id.parse().map_err(RepoError::other)?,
            project_id: row.project_id.map(|p| p.parse()).transpose().map_err(RepoError::other)?,
            event_type: event_type(&row.event_type)?,
            data: EventData::from_json(row.data).map_err(RepoError::other)?,
            created_at: at::<D>(row.created_at)?,
        })
    }
}
