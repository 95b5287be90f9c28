//! Projects: the unit that keys, webhooks and analytics hang off.

use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::error::{clean_text, ValidationError};
use crate::ids::{AccountId, ProjectId};

/// A project name: 1..=100 characters after trimming, no control or format characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectName(String);

impl ProjectName {
    /// A value read back from storage, as it was validated when written: rules added
    /// since (such as refusing format characters) must not make stored rows unreadable.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    /// The trimmed name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, moved out (a response body takes it without a copy).
    pub fn into_string(self) -> String {
        self.0
    }
}

impl FromStr for ProjectName {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        clean_text("name", s, 1, 100, false).map(Self)
    }
}

/// A project description: at most 1000 characters after trimming; may span lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectDescription(String);

impl ProjectDescription {
    /// A value read back from storage, as it was validated when written: rules added
    /// since (such as refusing format characters) must not make stored rows unreadable.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    /// The trimmed description.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, moved out (a response body takes it without a copy).
    pub fn into_string(self) -> String {
        self.0
    }
}

impl FromStr for ProjectDescription {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        clean_text("description", s, 0, 1000, true).map(Self)
    }
}

/// A project of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The project's id.
    pub id: ProjectId,
    /// The owning account.
    pub account_id: AccountId,
    /// Its name.
    pub name: ProjectName,
    /// Its description, if any.
    pub description: Option<ProjectDescription>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A partial update: `None` leaves a field unchanged; `Some(None)` clears the description.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectPatch {
    /// A new name.
    pub name: Option<ProjectName>,
    /// A new description, or `Some(None)` to clear it.
    pub description: Option<Option<ProjectDescription>>,
}

impl ProjectPatch {
    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.description.is_none()
    }
}

impl Project {
    /// Applies a patch at `now`; returns whether anything changed.
    pub fn apply(&mut self, patch: ProjectPatch, now: DateTime<Utc>) -> bool {
        let mut changed = false;
        if let Some(name) = patch.name {
            changed |= name != self.name;
            self.name = name;
        }
        if let Some(description) = patch.description {
            changed |= description != self.description;
            self.description = description;
        }
        if changed {
            self.updated_at = now;
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!("  My Project\u{3000}".parse::<ProjectName>().map(|n| n.0), Ok("My Project".into()));
        assert!("   ".parse::<ProjectName>().is_err());
        assert!("a".repeat(101).parse::<ProjectName>().is_err());
        assert!("é".repeat(100).parse::<ProjectName>().is_ok(), "length counts characters, not bytes");
        assert!("bad\u{0}name".parse::<ProjectName>().is_err());
        assert!("two\nlines".parse::<ProjectName>().is_err());
    }

    #[test]
    fn descriptions_allow_lines_but_not_other_controls() {
        assert!("line one\nline two".parse::<ProjectDescription>().is_ok());
        assert!("".parse::<ProjectDescription>().is_ok());
        assert!("nul\u{0}".parse::<ProjectDescription>().is_err());
        assert!("x".repeat(1001).parse::<ProjectDescription>().is_err());
    }

    proptest! {
        #[test]
        fn a_parsed_name_is_always_valid(s in "\\PC{0,120}") {
            if let Ok(n) = s.parse::<ProjectName>() {
                let len = n.as_str().chars().count();
                prop_assert!((1..=100).contains(&len));
                prop_assert_eq!(n.as_str(), n.as_str().trim());
                prop_assert!(!n.as_str().chars().any(char::is_control));
            }
        }
    }
}
