//! Rows of `projects`.

use tengine_domain::{Project, ProjectDescription, ProjectName};
use tengine_ports::RepoError;

use crate::{at, Dialect};

positional_row! {
    /// A row of `projects`.
    pub struct ProjectRow<D: Dialect> {
        id: String = "id",
        account_id: String = "account_id",
        name: String = "name",
        description: Option<String> = "description",
        created_at: D::Timestamp = "created_at",
        updated_at: D::Timestamp = "updated_at",
    }
}

impl<D: Dialect> TryFrom<ProjectRow<D>> for Project {
    type Error = RepoError;

    fn try_from(row: ProjectRow<D>) -> Result<Self, RepoError> {
        // Read back as stored: input rules added later must not make a row unreadable.
        Ok(Project {
            id: row.id.parse().map_err(RepoError::other)?,
            account_id: row.account_id.parse().map_err(RepoError::other)?,
            name: ProjectName::from_stored(row.name),
            description: row.description.map(ProjectDescription::from_stored),
            created_at: at::<D>(row.created_at)?,
            updated_at: at::<D>(row.updated_at)?,
        })
    }
}
