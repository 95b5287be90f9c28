//! A project's member: the end user an MCP session acts for, as the project's backend
//! vouched for them (the `sub`, `email` and `roles` of a member assertion).
//!
//! Every part is checked once here, so it can go into an outbound header or a template
//! without further escaping: no control characters anywhere, no commas in roles (they
//! are joined with `,` in `X-Tengine-Member-Roles`).

use crate::error::{FieldError, ValidationError, Validator};

/// The most roles one member may carry.
pub const MAX_ROLES: usize = 32;

fn visible(field: &str, raw: &str, max: usize) -> Result<String, ValidationError> {
    let len = raw.chars().count();
    if len == 0 || len > max {
        return Err(FieldError::new(field, format!("must be 1 to {max} characters")).into());
    }
    if raw.chars().any(char::is_control) {
        return Err(FieldError::new(field, "must not contain control characters").into());
    }
    if raw.trim() != raw {
        return Err(FieldError::new(field, "must not start or end with whitespace").into());
    }
    Ok(raw.to_owned())
}

/// A member's stable id in the project's own user base (the assertion's `sub`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemberId(String);

impl MemberId {
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for MemberId {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        visible("sub", s, 255).map(Self)
    }
}

/// A member's email as the project reported it: `local@domain`, no whitespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberEmail(String);

impl MemberEmail {
    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for MemberEmail {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let v = visible("email", s, 254)?;
        let well_formed = v.split_once('@').is_some_and(|(l, d)| !l.is_empty() && !d.is_empty());
        if !well_formed || v.chars().any(char::is_whitespace) {
            return Err(FieldError::new("email", "must be an email address").into());
        }
        Ok(Self(v))
    }
}

/// One role of a member: 1..=64 characters, no commas or whitespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemberRole(String);

impl MemberRole {
    /// The role.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn parse(field: &str, s: &str) -> Result<Self, ValidationError> {
        let v = visible(field, s, 64)?;
        if v.contains(',') || v.chars().any(char::is_whitespace) {
            return Err(FieldError::new(field, "must not contain commas or whitespace").into());
        }
        Ok(Self(v))
    }
}

/// The member a call is made for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Their stable id.
    pub id: MemberId,
    /// Their email, when the project shared it.
    pub email: Option<MemberEmail>,
    /// Their roles, in the order given, without duplicates.
    pub roles: Vec<MemberRole>,
}

impl Member {
    /// Parses a member assertion's claims, reporting every bad claim (`sub`, `email`,
    /// `roles[i]`).
    ///
    /// # Errors
    /// A `ValidationError` naming each refused claim.
    pub fn parse<S: AsRef<str>>(sub: &str, email: Option<&str>, roles: &[S]) -> Result<Self, ValidationError> {
        let mut v = Validator::new();
        let id = v.check(sub.parse::<MemberId>());
        let email = email.map(|e| v.check(e.parse::<MemberEmail>()));
        if roles.len() > MAX_ROLES {
            v.push(FieldError::new("roles", format!("must hold at most {MAX_ROLES} roles")));
        }
        let mut parsed: Vec<MemberRole> = Vec::new();
        for (i, r) in roles.iter().enumerate() {
            if let Some(role) = v.check(MemberRole::parse(&format!("roles[{i}]"), r.as_ref())) {
                if !parsed.contains(&role) {
                    parsed.push(role);
                }
            }
        }
        v.finish()?;
        match (id, email) {
            (Some(id), None) => Ok(Self { id, email: None, roles: parsed }),
            (Some(id), Some(Some(email))) => Ok(Self { id, email: Some(email), roles: parsed }),
            // The validator finished clean, so every part parsed.
            _ => Err(ValidationError::field("sub", "is invalid")),
        }
    }

    /// The roles joined with `,`, as `X-Tengine-Member-Roles` carries them.
    pub fn roles_joined(&self) -> String {
        self.roles.iter().map(MemberRole::as_str).collect::<Vec<_>>().join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn claims_are_checked_and_every_bad_one_is_named() {
        let m = Member::parse("user-42", Some("ada@example.com"), &["admin", "billing", "admin"]).expect("valid");
        assert_eq!(m.id.as_str(), "user-42");
        assert_eq!(m.roles_joined(), "admin,billing");
        let err = Member::parse("bad\r\nid", Some("not-an-email"), &["ok", "a,b", ""]).expect_err("invalid");
        let fields: Vec<&str> = err.errors().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["sub", "email", "roles[1]", "roles[2]"]);
        assert!(Member::parse("u", None, &["r"; MAX_ROLES + 1]).is_err());
    }

    proptest! {
        #[test]
        fn a_parsed_member_never_holds_a_control_character(sub in "\\PC{0,8}[\\r\\n\\x00]?", role in ".{0,8}") {
            if let Ok(m) = Member::parse(&sub, None, &[role]) {
                prop_assert!(!m.id.as_str().chars().any(char::is_control));
                prop_assert!(!m.roles_joined().chars().any(char::is_control));
            }
        }
    }
}
