//! Accounts (tenants) and their plans.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::error::{clean_text, FieldError, ValidationError};
use crate::ids::AccountId;

/// A billing plan and its hourly request allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// 100 requests per hour.
    Free,
    /// 1,000 requests per hour.
    Pro,
    /// A custom limit per account; `None` means unlimited.
    Enterprise {
        /// Requests per hour, if limited.
        limit: Option<u32>,
    },
}

impl Plan {
    /// The plan's name as stored and shown (`free`, `pro`, `enterprise`).
    pub fn name(&self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Pro => "pro",
            Plan::Enterprise { .. } => "enterprise",
        }
    }

    /// Requests allowed per hour, or `None` for no limit.
    pub fn requests_per_hour(&self) -> Option<u32> {
        match self {
            Plan::Free => Some(100),
            Plan::Pro => Some(1_000),
            Plan::Enterprise { limit } => *limit,
        }
    }

    /// Builds a plan from its name and an optional custom limit (enterprise only).
    ///
    /// # Errors
    /// An unknown plan name, a limit on a non-enterprise plan, or a zero limit.
    pub fn from_parts(name: &str, limit: Option<u32>) -> Result<Self, ValidationError> {
        let plan = match (name, limit) {
            ("free", None) => Plan::Free,
            ("pro", None) => Plan::Pro,
            ("enterprise", Some(0)) => return Err(ValidationError::field("limit", "must be at least 1")),
            ("enterprise", limit) => Plan::Enterprise { limit },
            ("free" | "pro", Some(_)) => {
                return Err(ValidationError::field("limit", "only enterprise plans take a custom limit"))
            }
            _ => {
                let e = FieldError::new("plan", "must be one of free, pro, enterprise");
                return Err(e.with_value(name).into());
            }
        };
        Ok(plan)
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An account's display name: 1..=100 characters after trimming, no control or format characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountName(String);

impl AccountName {
    /// A value read back from storage, as it was validated when written: rules added
    /// since (such as refusing format characters) must not make stored rows unreadable.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    /// The trimmed name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AccountName {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        clean_text("name", s, 1, 100, false).map(Self)
    }
}

/// A tenant: owns projects and keys, and has a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The account's id.
    pub id: AccountId,
    /// Its display name.
    pub name: AccountName,
    /// Its plan.
    pub plan: Plan,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_have_their_documented_limits() {
        assert_eq!(Plan::Free.requests_per_hour(), Some(100));
        assert_eq!(Plan::Pro.requests_per_hour(), Some(1_000));
        assert_eq!(Plan::from_parts("enterprise", None), Ok(Plan::Enterprise { limit: None }));
        assert_eq!(Plan::from_parts("enterprise", Some(5)).map(|p| p.requests_per_hour()), Ok(Some(5)));
    }

    #[test]
    fn bad_plans_are_refused() {
        assert!(Plan::from_parts("gold", None).is_err());
        assert!(Plan::from_parts("free", Some(10)).is_err());
        assert!(Plan::from_parts("enterprise", Some(0)).is_err());
    }
}
