//! Permissions a key can hold, and sets of them.

use std::fmt;
use std::str::FromStr;

use crate::error::{FieldError, ValidationError};

/// One permission; `Admin` implies all others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// List/get projects, key metadata, analytics and events.
    Read,
    /// Create and update projects.
    Write,
    /// Everything under a project's webhooks and integrations.
    Webhook,
    /// Everything, including key management and project deletion.
    Admin,
}

impl Permission {
    /// All permissions, in canonical order.
    pub const ALL: [Permission; 4] = [Permission::Read, Permission::Write, Permission::Webhook, Permission::Admin];

    /// The wire name (`read`, `write`, `webhook`, `admin`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::Write => "write",
            Permission::Webhook => "webhook",
            Permission::Admin => "admin",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Permission {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::ALL.into_iter().find(|p| p.as_str() == s).ok_or(())
    }
}

/// A non-empty set of permissions as granted to a key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PermissionSet(u8);

impl PermissionSet {
    /// Every permission (what bootstrap and `accounts create` keys hold).
    pub fn all() -> Self {
        Self::from_iter(Permission::ALL)
    }

    /// Parses a client-supplied list: non-empty, known names, no duplicates.
    ///
    /// # Errors
    /// A `VALIDATION_ERROR` naming `field` or the offending element.
    pub fn parse_list<S: AsRef<str>>(field: &str, items: &[S]) -> Result<Self, ValidationError> {
        if items.is_empty() {
            return Err(ValidationError::field(field, "must contain at least one permission"));
        }
        let mut bits = 0u8;
        for (i, raw) in items.iter().enumerate() {
            let raw = raw.as_ref();
            let elem = format!("{field}[{i}]");
            let p: Permission = raw.parse().map_err(|()| {
                ValidationError::from(
                    FieldError::new(elem.clone(), "must be one of read, write, webhook, admin")
                        .with_value(raw.chars().take(64).collect::<String>()),
                )
            })?;
            if bits & p.bit() != 0 {
                return Err(FieldError::new(elem, "duplicate permission").with_value(raw).into());
            }
            bits |= p.bit();
        }
        Ok(Self(bits))
    }

    /// Whether the set allows `p` (admin allows everything).
    pub fn allows(&self, p: Permission) -> bool {
        self.0 & (p.bit() | Permission::Admin.bit()) != 0
    }

    /// Whether every permission of `other` is allowed by this set.
    pub fn covers(&self, other: &PermissionSet) -> bool {
        other.iter().all(|p| self.allows(p))
    }

    /// The permissions as granted, in canonical order (admin is not expanded).
    pub fn iter(&self) -> impl Iterator<Item = Permission> + '_ {
        Permission::ALL.into_iter().filter(|p| self.0 & p.bit() != 0)
    }

    /// The permissions as wire names, in canonical order.
    pub fn names(&self) -> Vec<&'static str> {
        self.iter().map(|p| p.as_str()).collect()
    }

    /// A compact stable encoding for storage.
    pub fn bits(&self) -> u8 {
        self.0
    }

    /// Rebuilds a set from [`PermissionSet::bits`]; `None` if empty or unknown bits.
    pub fn from_bits(bits: u8) -> Option<Self> {
        (bits != 0 && bits & !0b1111 == 0).then_some(Self(bits))
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        Self(iter.into_iter().fold(0, |acc, p| acc | p.bit()))
    }
}

impl fmt::Debug for PermissionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.names()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_allows_everything_and_others_only_themselves() {
        let admin = PermissionSet::from_iter([Permission::Admin]);
        assert!(Permission::ALL.iter().all(|p| admin.allows(*p)));
        let read = PermissionSet::from_iter([Permission::Read]);
        assert!(read.allows(Permission::Read));
        assert!(!read.allows(Permission::Write));
        assert!(!read.covers(&PermissionSet::from_iter([Permission::Read, Permission::Write])));
        assert!(admin.covers(&PermissionSet::all()));
    }

    #[test]
    fn lists_must_be_non_empty_known_and_unique() {
        assert!(PermissionSet::parse_list::<&str>("permissions", &[]).is_err());
        let e = PermissionSet::parse_list("permissions", &["read", "root"]).unwrap_err();
        assert_eq!(e.first().field, "permissions[1]");
        let e = PermissionSet::parse_list("permissions", &["read", "read"]).unwrap_err();
        assert_eq!(e.first().reason, "duplicate permission");
        let ok = PermissionSet::parse_list("permissions", &["write", "read"]).unwrap();
        assert_eq!(ok.names(), ["read", "write"]);
    }

    #[test]
    fn bits_round_trip() {
        let s = PermissionSet::from_iter([Permission::Webhook, Permission::Read]);
        assert_eq!(PermissionSet::from_bits(s.bits()), Some(s));
        assert_eq!(PermissionSet::from_bits(0), None);
        assert_eq!(PermissionSet::from_bits(0b1_0000), None);
    }
}
