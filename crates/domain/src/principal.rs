//! The authenticated caller and every permission, scope and escalation rule.

use chrono::{DateTime, Utc};

use crate::api_key::KeyScope;
use crate::error::{FieldError, ValidationError};
use crate::ids::{AccountId, ApiKeyId, ProjectId};
use crate::permission::{Permission, PermissionSet};

/// Why a principal may not do something.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The key lacks a permission.
    #[error("this API key lacks the '{0}' permission")]
    Missing(Permission),
    /// The operation needs an account-wide key.
    #[error("an account-wide API key is required")]
    AccountWideKeyRequired,
    /// The key tried to grant a permission it does not hold.
    #[error("an API key cannot grant the '{0}' permission it does not hold")]
    CannotGrant(Permission),
    /// An expiring key tried to reissue or strengthen a key that outlives it.
    #[error("an API key that expires cannot reissue or strengthen a key that outlives it")]
    WouldOutlive,
    /// A console or portal session tried what only its API key itself may do.
    #[error("this needs the API key itself, not a console or portal session")]
    KeyRequired,
    /// A portal session reached past the sections it shows.
    #[error("this portal session does not show this part of the project")]
    OutsidePortal,
}

/// Who is calling: the key that authenticated the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The account the key belongs to.
    pub account_id: AccountId,
    /// The key's id.
    pub key_id: ApiKeyId,
    /// What the key can reach.
    pub scope: KeyScope,
    /// What the key may do.
    pub permissions: PermissionSet,
    /// When the key expires, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// The browser session the key acts through, if any (the console or a portal).
    pub session: Option<crate::session::SessionRef>,
    /// The OAuth connection whose access token authenticated, if any (`key_id` is then
    /// the key that approved the connection).
    pub oauth: Option<OAuthRef>,
}

/// The OAuth connection behind a principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OAuthRef {
    /// The integration (the OAuth client).
    pub integration_id: crate::ids::IntegrationId,
    /// The connection (grant).
    pub connection_id: crate::ids::ConnectionId,
    /// Where its tokens may be used, when the grant named a resource.
    pub audience: Option<crate::integration::Audience>,
}

impl Principal {
    /// Succeeds unless the caller is a portal session whose sections leave `section`
    /// out (`None`: a part of the project no portal shows).
    ///
    /// # Errors
    /// `OutsidePortal`.
    pub fn portal_shows(&self, section: Option<crate::session::PortalSection>) -> Result<(), Denied> {
        match &self.session {
            Some(s) if s.kind == crate::session::SessionKind::Portal => match section {
                Some(x) if s.sections.contains(&x) => Ok(()),
                _ => Err(Denied::OutsidePortal),
            },
            _ => Ok(()),
        }
    }

    /// Succeeds when the key holds `p` (admin holds everything).
    ///
    /// # Errors
    /// `Denied::Missing` naming the permission.
    pub fn require(&self, p: Permission) -> Result<(), Denied> {
        if self.permissions.allows(p) {
            Ok(())
        } else {
            Err(Denied::Missing(p))
        }
    }

    /// Succeeds for account-wide keys only.
    ///
    /// # Errors
    /// `Denied::AccountWideKeyRequired` for a project-scoped key.
    pub fn require_account_wide(&self) -> Result<(), Denied> {
        match self.scope {
            KeyScope::Account => Ok(()),
            KeyScope::Project(_) => Err(Denied::AccountWideKeyRequired),
        }
    }

    /// Whether the key can see `project` (the project must also be in its account,
    /// which the store checks).
    pub fn sees(&self, project: &ProjectId) -> bool {
        match self.scope {
            KeyScope::Account => true,
            KeyScope::Project(own) => own == *project,
        }
    }

    /// Succeeds when a credential expiring at `target` does not outlive this key: the
    /// rule for every change that yields a secret or adds permissions to an existing key.
    ///
    /// # Errors
    /// `Denied::WouldOutlive` when this key expires and `target` is later or never.
    pub fn outlives(&self, target: Option<DateTime<Utc>>) -> Result<(), Denied> {
        match (self.expires_at, target) {
            (None, _) => Ok(()),
            (Some(own), Some(at)) if at <= own => Ok(()),
            (Some(_), _) => Err(Denied::WouldOutlive),
        }
    }

    /// Checks that this key may grant `wanted` with `expires_at`, and returns the
    /// expiry the new key gets (an omitted expiry inherits this key's).
    ///
    /// # Errors
    /// `Err(Ok(denied))` when a permission would be escalated; `Err(Err(validation))`
    /// when the expiry is in the past or later than this key's own.
    pub fn grant(
        &self,
        wanted: &PermissionSet,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, GrantError> {
        if let Some(p) = wanted.iter().find(|p| !self.permissions.allows(*p)) {
            return Err(GrantError::Denied(Denied::CannotGrant(p)));
        }
        self.grant_expiry(expires_at, now).map_err(GrantError::Invalid)
    }

    /// The expiry rule alone: in the future, and not later than this key's own.
    ///
    /// # Errors
    /// A `VALIDATION_ERROR` on `expires_at`.
    pub fn grant_expiry(
        &self,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, ValidationError> {
        match (expires_at, self.expires_at) {
            (Some(at), _) if at <= now => Err(past_expiry(at)),
            (Some(at), Some(own)) if at > own => Err(FieldError::new(
                "expires_at",
                format!("must not be later than the creating key's own expiry ({})", crate::time::format(own)),
            )
            .with_value(crate::time::format(at))
            .into()),
            (Some(at), _) => Ok(Some(at)),
            (None, own) => Ok(own),
        }
    }
}

/// The error for an expiry that is not in the future.
pub fn past_expiry(at: DateTime<Utc>) -> ValidationError {
    FieldError::new("expires_at", "must be in the future").with_value(crate::time::format(at)).into()
}

/// Why a grant failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// A permission escalation (403).
    #[error(transparent)]
    Denied(Denied),
    /// A bad expiry (422).
    #[error(transparent)]
    Invalid(ValidationError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    fn principal(perms: &[Permission], scope: KeyScope, expires_at: Option<DateTime<Utc>>) -> Principal {
        Principal {
            account_id: AccountId::from_uuid(Uuid::from_u128(1)),
            key_id: ApiKeyId::from_uuid(Uuid::from_u128(2)),
            scope,
            permissions: perms.iter().copied().collect(),
            expires_at,
            session: None,
            oauth: None,
        }
    }

    #[test]
    fn project_scoped_keys_see_only_their_project() {
        let own = ProjectId::from_uuid(Uuid::from_u128(7));
        let other = ProjectId::from_uuid(Uuid::from_u128(8));
        let p = principal(&[Permission::Admin], KeyScope::Project(own), None);
        assert!(p.sees(&own));
        assert!(!p.sees(&other));
        assert_eq!(p.require_account_wide(), Err(Denied::AccountWideKeyRequired));
        assert!(principal(&[Permission::Read], KeyScope::Account, None).sees(&other));
    }

    #[test]
    fn a_key_cannot_grant_what_it_lacks() {
        let p = principal(&[Permission::Read, Permission::Write], KeyScope::Account, None);
        let wanted: PermissionSet = [Permission::Read, Permission::Webhook].into_iter().collect();
        assert_eq!(p.grant(&wanted, None, at(0)), Err(GrantError::Denied(Denied::CannotGrant(Permission::Webhook))));
        let admin = principal(&[Permission::Admin], KeyScope::Account, None);
        assert_eq!(admin.grant(&PermissionSet::all(), None, at(0)), Ok(None));
    }

    #[test]
    fn expiry_must_be_future_and_within_the_creators() {
        let p = principal(&[Permission::Admin], KeyScope::Account, Some(at(1000)));
        assert_eq!(p.grant_expiry(None, at(10)), Ok(Some(at(1000))), "omitted expiry inherits");
        assert_eq!(p.grant_expiry(Some(at(500)), at(10)), Ok(Some(at(500))));
        assert_eq!(p.grant_expiry(Some(at(1000)), at(10)), Ok(Some(at(1000))));
        assert!(p.grant_expiry(Some(at(1001)), at(10)).is_err());
        assert!(p.grant_expiry(Some(at(10)), at(10)).is_err(), "now is not the future");
        let forever = principal(&[Permission::Admin], KeyScope::Account, None);
        assert_eq!(forever.grant_expiry(Some(at(99_999)), at(10)), Ok(Some(at(99_999))));
    }

    #[test]
    fn an_expiring_key_is_outlived_only_by_later_or_permanent_credentials() {
        use chrono::TimeZone;
        let at = |h| Utc.with_ymd_and_hms(2030, 1, 1, h, 0, 0).unwrap();
        let mut p = Principal {
            account_id: AccountId::from_uuid(uuid::Uuid::from_u128(1)),
            key_id: ApiKeyId::from_uuid(uuid::Uuid::from_u128(2)),
            scope: KeyScope::Account,
            permissions: PermissionSet::all(),
            expires_at: Some(at(10)),
            session: None,
            oauth: None,
        };
        assert_eq!(p.outlives(None), Err(Denied::WouldOutlive));
        assert_eq!(p.outlives(Some(at(11))), Err(Denied::WouldOutlive));
        assert_eq!(p.outlives(Some(at(10))), Ok(()));
        assert_eq!(p.outlives(Some(at(9))), Ok(()));
        p.expires_at = None;
        assert_eq!(p.outlives(None), Ok(()));
    }
}
