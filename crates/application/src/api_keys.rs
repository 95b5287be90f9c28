//! API key use cases: list, create, get, update, revoke, rotate.

use chrono::{DateTime, Duration, Utc};
use tengine_domain::{
    ApiKey, ApiKeyId, ApiKeyName, ApiKeySummary, Denied, EventType, FieldError, KeyScope, Page, PageRequest,
    Permission, PermissionSet, PlainApiKey, Principal, ProjectId,
};
use tengine_ports::Transaction;

use crate::events::api_key_data;
use crate::projects::not_found_as_project;
use crate::{AppError, Tengine};
use tengine_domain::session::PortalSection;

/// A validated request to create a project-scoped key.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// Its name.
    pub name: ApiKeyName,
    /// What it may do.
    pub permissions: PermissionSet,
    /// When it expires; `None` inherits the creating key's expiry.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A partial update of a key: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ApiKeyPatch {
    /// A new name.
    pub name: Option<ApiKeyName>,
    /// New permissions (subject to the escalation rules).
    pub permissions: Option<PermissionSet>,
    /// A new expiry, or `Some(None)` for none (not beyond the caller's own).
    pub expires_at: Option<Option<DateTime<Utc>>>,
}

impl Tengine {
    /// Lists a project's keys (metadata only; revoked keys included).
    ///
    /// # Errors
    /// `Forbidden` without `read`; `ProjectNotFound` if missing or out of scope.
    pub async fn list_api_keys(
        &self,
        who: &Principal,
        project: ProjectId,
        page: PageRequest,
    ) -> Result<Page<ApiKeySummary>, AppError> {
        who.require(Permission::Read)?;
        who.portal_shows(Some(PortalSection::Keys))?;
        Self::sees_project(who, project)?;
        self.deps.store.list_api_keys(who.account_id, project, page).await.map_err(not_found_as_project)
    }

    /// Creates a key for a project, returning its secret once.
    ///
    /// # Errors
    /// `Forbidden` without `admin` or when granting more than the caller holds;
    /// `Validation` for an expiry in the past or beyond the caller's own.
    pub async fn create_api_key(
        &self,
        who: &Principal,
        project: ProjectId,
        new: NewApiKey,
    ) -> Result<(ApiKey, PlainApiKey), AppError> {
        who.require(Permission::Admin)?;
        who.portal_shows(Some(PortalSection::Keys))?;
        if !who.sees(&project) {
            return Err(AppError::ProjectNotFound);
        }
        let now = self.deps.clock.now();
        let expires_at = self.grant(who, &new.permissions, new.expires_at)?;
        let secret = self.deps.secrets.api_key();
        let key = ApiKey {
            id: ApiKeyId::from_uuid(self.deps.ids.next_uuid()),
            account_id: who.account_id,
            scope: KeyScope::Project(project),
            name: new.name,
            permissions: new.permissions,
            prefix: secret.display_prefix().to_owned(),
            digest: secret.digest(),
            previous: None,
            expires_at,
            created_at: now,
            updated_at: now,
            last_used_at: None,
            revoked_at: None,
        };
        let mut tx = self.deps.store.begin().await?;
        tx.lock_project(who.account_id, project).await?.ok_or(AppError::ProjectNotFound)?;
        tx.insert_api_key(&key).await?;
        let event = self.event(EventType::ApiKeyCreated, who.account_id, Some(project), api_key_data(&key));
        self.record(&mut *tx, event).await?;
        tx.commit().await?;
        tracing::info!(key_id = %key.id, project_id = %project, prefix = %key.prefix, "API key created");
        Ok((key, secret))
    }

    /// The escalation rules of a new key: the permissions the caller holds, an expiry
    /// no later than its own. Returns the new key's expiry.
    pub(crate) fn grant(
        &self,
        who: &Principal,
        permissions: &PermissionSet,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<Option<DateTime<Utc>>, AppError> {
        who.grant(permissions, expires_at, self.deps.clock.now()).map_err(|e| match e {
            tengine_domain::GrantError::Denied(d) => AppError::Forbidden(d),
            tengine_domain::GrantError::Invalid(v) => AppError::Validation(v),
        })
    }

    /// Gets one key's metadata.
    ///
    /// # Errors
    /// `Forbidden` without `read`; `ProjectNotFound`; `NotFound("api_key")`.
    pub async fn get_api_key(&self, who: &Principal, project: ProjectId, id: ApiKeyId) -> Result<ApiKey, AppError> {
        who.require(Permission::Read)?;
        who.portal_shows(Some(PortalSection::Keys))?;
        self.visible_project(who, project).await?;
        self.deps.store.get_api_key(project, id).await?.ok_or(AppError::NotFound(ApiKeyId::KIND))
    }

    /// Renames a key or changes its permissions or expiry, within the caller's own.
    ///
    /// # Errors
    /// As for creation, plus `NotFound("api_key")`.
    pub async fn update_api_key(
        &self,
        who: &Principal,
        project: ProjectId,
        id: ApiKeyId,
        patch: ApiKeyPatch,
    ) -> Result<ApiKey, AppError> {
        who.require(Permission::Admin)?;
        who.portal_shows(Some(PortalSection::Keys))?;
        if let Some(p) = patch.permissions.as_ref().and_then(|p| p.iter().find(|p| !who.permissions.allows(*p))) {
            return Err(Denied::CannotGrant(p).into());
        }
        let now = self.deps.clock.now();
        let expires_at = match patch.expires_at {
            None => None,
            Some(Some(at)) => Some(who.grant_expiry(Some(at), now)?),
            Some(None) if who.expires_at.is_some() => {
                return Err(FieldError::new("expires_at", "cannot be cleared by a key that itself expires").into())
            }
            Some(None) => Some(None),
        };
        self.mutate_key(who, project, id, EventType::ApiKeyUpdated, |key| {
            let before = key.clone();
            let added = patch.permissions.as_ref().is_some_and(|p| p.iter().any(|p| !key.permissions.allows(p)));
            if added {
                // Whatever expiry the key ends up with, it must not outlive the caller.
                who.outlives(expires_at.unwrap_or(key.expires_at))?;
            }
            if let Some(name) = patch.name {
                key.name = name;
            }
            if let Some(perms) = patch.permissions {
                key.permissions = perms;
            }
            if let Some(at) = expires_at {
                key.expires_at = at;
            }
            if *key != before {
                key.updated_at = now;
            }
            Ok(*key != before)
        })
        .await
    }

    /// Revokes a key at once; revoking a revoked key changes nothing.
    ///
    /// # Errors
    /// `Forbidden` without `admin`; `ProjectNotFound`; `NotFound("api_key")`.
    pub async fn revoke_api_key(&self, who: &Principal, project: ProjectId, id: ApiKeyId) -> Result<ApiKey, AppError> {
        who.require(Permission::Admin)?;
        who.portal_shows(Some(PortalSection::Keys))?;
        let now = self.deps.clock.now();
        let key = self
            .mutate_key(who, project, id, EventType::ApiKeyRevoked, |key| {
                let fresh = key.revoked_at.is_none();
                if fresh {
                    key.revoked_at = Some(now);
                    key.updated_at = now;
                }
                Ok(fresh)
            })
            .await?;
        tracing::info!(key_id = %id, project_id = %project, "API key revoked");
        Ok(key)
    }

    /// Gives a key a new secret; the old one keeps working for `grace`.
    ///
    /// # Errors
    /// `Forbidden` without `admin`; `ProjectNotFound`; `NotFound("api_key")`;
    /// `Validation` for a revoked key.
    pub async fn rotate_api_key(
        &self,
        who: &Principal,
        project: ProjectId,
        id: ApiKeyId,
        grace: Duration,
    ) -> Result<(ApiKey, PlainApiKey), AppError> {
        who.require(Permission::Admin)?;
        who.portal_shows(Some(PortalSection::Keys))?;
        let now = self.deps.clock.now();
        let secret = self.deps.secrets.api_key();
        let key = self
            .mutate_key(who, project, id, EventType::ApiKeyUpdated, |key| {
                if key.revoked_at.is_some() {
                    return Err(FieldError::new("key_id", "a revoked key cannot be rotated").into());
                }
                who.outlives(key.expires_at)?;
                key.rotate(&secret, grace, now);
                Ok(true)
            })
            .await?;
        tracing::info!(key_id = %id, project_id = %project, prefix = %key.prefix, "API key rotated");
        Ok((key, secret))
    }

    /// Locks a key of a visible project, applies `change`, and if it says so writes it
    /// with an event of type `kind`.
    async fn mutate_key(
        &self,
        who: &Principal,
        project: ProjectId,
        id: ApiKeyId,
        kind: EventType,
        change: impl FnOnce(&mut ApiKey) -> Result<bool, AppError>,
    ) -> Result<ApiKey, AppError> {
        if !who.sees(&project) {
            return Err(AppError::ProjectNotFound);
        }
        let mut tx = self.deps.store.begin().await?;
        tx.lock_project(who.account_id, project).await?.ok_or(AppError::ProjectNotFound)?;
        let mut key = lock_key_of(&mut *tx, project, id).await?;
        if change(&mut key)? {
            tx.update_api_key(&key).await?;
            let event = self.event(kind, who.account_id, Some(project), api_key_data(&key));
            self.record(&mut *tx, event).await?;
            tx.commit().await?;
            self.keys.evict_key(key.id);
        }
        Ok(key)
    }
}

async fn lock_key_of(tx: &mut dyn Transaction, project: ProjectId, id: ApiKeyId) -> Result<ApiKey, AppError> {
    tx.lock_api_key(id)
        .await?
        .filter(|k| k.scope == KeyScope::Project(project))
        .ok_or(AppError::NotFound(ApiKeyId::KIND))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::Duration;
    use tengine_domain::{PreviousSecret, Project};
    use tengine_ports::{MockStore, MockTransaction, RepoError};

    use super::*;
    use crate::test_support::*;

    fn perms(p: &[Permission]) -> PermissionSet {
        p.iter().copied().collect()
    }

    fn new_key(permissions: &[Permission], expires_at: Option<DateTime<Utc>>) -> NewApiKey {
        NewApiKey { name: "ci".parse().unwrap(), permissions: perms(permissions), expires_at }
    }

    /// A key of project `n` as stored, last changed [`earlier`].
    fn stored_key(n: u128) -> ApiKey {
        ApiKey {
            created_at: earlier(),
            updated_at: earlier(),
            ..api_key(1, KeyScope::Project(project_id(n)), &[Permission::Read])
        }
    }

    fn stored_id() -> ApiKeyId {
        stored_key(1).id
    }

    fn admin() -> Principal {
        principal(&[Permission::Admin], KeyScope::Account)
    }

    fn admin_expiring_at(at: DateTime<Utc>) -> Principal {
        Principal { expires_at: Some(at), ..admin() }
    }

    fn visible_project(store: &mut MockStore) {
        store
            .expect_get_project()
            .withf(|account, id| *account == account_id() && *id == project_id(1))
            .returning(|_, id| Ok(Some(Project { id, ..project(1) })));
    }

    fn locks_project_1(tx: &mut MockTransaction) {
        tx.expect_lock_project()
            .withf(|account, id| *account == account_id() && *id == project_id(1))
            .returning(|_, _| Ok(Some(project(1))));
    }

    /// A transaction that finds `stored` under project 1 and writes and commits
    /// exactly `written`.
    fn expect_key_written(store: &mut MockStore, stored: ApiKey, written: ApiKey) {
        expect_tx(store, move |tx| {
            locks_project_1(tx);
            tx.expect_lock_api_key().withf(|id| *id == stored_id()).returning(move |_| Ok(Some(stored.clone())));
            tx.expect_update_api_key().withf(move |k| *k == written).times(1).returning(|_| Ok(()));
        });
    }

    /// A transaction that finds `stored` (if any) under project 1 and must write nothing.
    fn expect_key_untouched(store: &mut MockStore, stored: Option<ApiKey>) {
        expect_tx_without_commit(store, move |tx| {
            locks_project_1(tx);
            tx.expect_lock_api_key().returning(move |_| Ok(stored.clone()));
        });
    }

    /// A store where key use cases on project 1 succeed, for the permission matrix.
    fn expect_any_key_write(store: &mut MockStore) {
        expect_tx(store, |tx| {
            locks_project_1(tx);
            tx.expect_lock_api_key().returning(|_| Ok(Some(stored_key(1))));
            tx.expect_update_api_key().times(1).returning(|_| Ok(()));
        });
    }

    fn is_api_key_not_found<T>(result: &Result<T, AppError>) -> bool {
        matches!(result, Err(AppError::NotFound(kind)) if *kind == "api_key")
    }

    #[tokio::test]
    async fn listing_keys_needs_read() {
        for cell in NEEDS_READ {
            let app = harness(|s| {
                if cell.1 {
                    s.expect_list_api_keys()
                        .withf(|account, project, _| *account == account_id() && *project == project_id(1))
                        .returning(|_, _, page| Ok(empty_page(page)));
                }
            });
            let result = app
                .list_api_keys(&principal(&[cell.0], KeyScope::Account), project_id(1), PageRequest::default())
                .await;
            assert_gate("list_api_keys", Permission::Read, cell, result);
        }
    }

    #[tokio::test]
    async fn creating_a_key_needs_admin() {
        for cell in NEEDS_ADMIN {
            let app = harness(|s| {
                if cell.1 {
                    expect_tx(s, |tx| {
                        locks_project_1(tx);
                        tx.expect_insert_api_key().times(1).returning(|_| Ok(()));
                    });
                }
            });
            let result = app
                .create_api_key(&principal(&[cell.0], KeyScope::Account), project_id(1), new_key(&[cell.0], None))
                .await;
            assert_gate("create_api_key", Permission::Admin, cell, result);
        }
    }

    #[tokio::test]
    async fn getting_a_key_needs_read() {
        for cell in NEEDS_READ {
            let app = harness(|s| {
                if cell.1 {
                    visible_project(s);
                    s.expect_get_api_key().returning(|_, _| Ok(Some(stored_key(1))));
                }
            });
            let result = app.get_api_key(&principal(&[cell.0], KeyScope::Account), project_id(1), stored_id()).await;
            assert_gate("get_api_key", Permission::Read, cell, result);
        }
    }

    #[tokio::test]
    async fn updating_a_key_needs_admin() {
        for cell in NEEDS_ADMIN {
            let app = harness(|s| {
                if cell.1 {
                    expect_any_key_write(s);
                }
            });
            let patch = ApiKeyPatch { name: Some("renamed".parse().unwrap()), ..ApiKeyPatch::default() };
            let result =
                app.update_api_key(&principal(&[cell.0], KeyScope::Account), project_id(1), stored_id(), patch).await;
            assert_gate("update_api_key", Permission::Admin, cell, result);
        }
    }

    #[tokio::test]
    async fn revoking_a_key_needs_admin() {
        for cell in NEEDS_ADMIN {
            let app = harness(|s| {
                if cell.1 {
                    expect_any_key_write(s);
                }
            });
            let result = app.revoke_api_key(&principal(&[cell.0], KeyScope::Account), project_id(1), stored_id()).await;
            assert_gate("revoke_api_key", Permission::Admin, cell, result);
        }
    }

    #[tokio::test]
    async fn rotating_a_key_needs_admin() {
        for cell in NEEDS_ADMIN {
            let app = harness(|s| {
                if cell.1 {
                    expect_any_key_write(s);
                }
            });
            let result = app
                .rotate_api_key(&principal(&[cell.0], KeyScope::Account), project_id(1), stored_id(), Duration::zero())
                .await;
            assert_gate("rotate_api_key", Permission::Admin, cell, result);
        }
    }

    #[tokio::test]
    async fn another_project_is_not_found_for_a_project_scoped_key_and_touches_no_storage() {
        let app = harness(|_| {});
        let who = principal(&[Permission::Admin], KeyScope::Project(project_id(1)));
        let (other, id) = (project_id(2), stored_id());
        assert_project_not_found("list_api_keys", app.list_api_keys(&who, other, PageRequest::default()).await);
        assert_project_not_found(
            "create_api_key",
            app.create_api_key(&who, other, new_key(&[Permission::Read], None)).await,
        );
        assert_project_not_found("get_api_key", app.get_api_key(&who, other, id).await);
        assert_project_not_found("update_api_key", app.update_api_key(&who, other, id, ApiKeyPatch::default()).await);
        assert_project_not_found("revoke_api_key", app.revoke_api_key(&who, other, id).await);
        assert_project_not_found("rotate_api_key", app.rotate_api_key(&who, other, id, Duration::zero()).await);
    }

    #[tokio::test]
    async fn a_project_scoped_key_manages_keys_of_its_own_project() {
        let app = harness(expect_any_key_write);
        let who = principal(&[Permission::Admin], KeyScope::Project(project_id(1)));
        let revoked = app.revoke_api_key(&who, project_id(1), stored_id()).await.unwrap();
        assert_eq!(revoked.revoked_at, Some(now()));
    }

    #[tokio::test]
    async fn reading_keys_of_a_missing_project_is_not_found() {
        let app = harness(|s| {
            s.expect_get_project().returning(|_, _| Ok(None));
            // The list's statement checks the project itself.
            s.expect_list_api_keys().times(1).returning(|_, _, _| Err(RepoError::NotFound));
        });
        let who = principal(&[Permission::Read], KeyScope::Account);
        assert_project_not_found("list_api_keys", app.list_api_keys(&who, project_id(1), PageRequest::default()).await);
        assert_project_not_found("get_api_key", app.get_api_key(&who, project_id(1), stored_id()).await);
    }

    #[tokio::test]
    async fn changing_keys_of_a_missing_project_is_not_found_and_writes_nothing() {
        let missing = |s: &mut MockStore| {
            expect_tx_without_commit(s, |tx| {
                tx.expect_lock_project().returning(|_, _| Ok(None));
            });
        };
        let id = stored_id();
        let result = harness(missing).create_api_key(&admin(), project_id(1), new_key(&[Permission::Read], None)).await;
        assert_project_not_found("create_api_key", result);
        let result = harness(missing).update_api_key(&admin(), project_id(1), id, ApiKeyPatch::default()).await;
        assert_project_not_found("update_api_key", result);
        assert_project_not_found("revoke_api_key", harness(missing).revoke_api_key(&admin(), project_id(1), id).await);
        let result = harness(missing).rotate_api_key(&admin(), project_id(1), id, Duration::zero()).await;
        assert_project_not_found("rotate_api_key", result);
    }

    #[tokio::test]
    async fn a_key_of_another_project_is_not_found_and_left_untouched() {
        let elsewhere = || Some(stored_key(2));
        let id = stored_id();
        let patch = ApiKeyPatch { name: Some("renamed".parse().unwrap()), ..ApiKeyPatch::default() };
        let result =
            harness(|s| expect_key_untouched(s, elsewhere())).update_api_key(&admin(), project_id(1), id, patch).await;
        assert!(is_api_key_not_found(&result), "update_api_key: {result:?}");
        let result =
            harness(|s| expect_key_untouched(s, elsewhere())).revoke_api_key(&admin(), project_id(1), id).await;
        assert!(is_api_key_not_found(&result), "revoke_api_key: {result:?}");
        let result = harness(|s| expect_key_untouched(s, elsewhere()))
            .rotate_api_key(&admin(), project_id(1), id, Duration::zero())
            .await;
        assert!(is_api_key_not_found(&result), "rotate_api_key: {result:?}");
    }

    #[tokio::test]
    async fn an_account_wide_key_is_not_reachable_through_a_project() {
        let account_wide = api_key(1, KeyScope::Account, &[Permission::Admin]);
        let app = harness(|s| expect_key_untouched(s, Some(account_wide)));
        let result = app.revoke_api_key(&admin(), project_id(1), stored_id()).await;
        assert!(is_api_key_not_found(&result), "{result:?}");
    }

    #[tokio::test]
    async fn an_unknown_key_is_not_found() {
        let app = harness(|s| {
            visible_project(s);
            s.expect_get_api_key()
                .withf(|project, id| *project == project_id(1) && *id == stored_id())
                .returning(|_, _| Ok(None));
        });
        let result =
            app.get_api_key(&principal(&[Permission::Read], KeyScope::Account), project_id(1), stored_id()).await;
        assert!(is_api_key_not_found(&result), "get_api_key: {result:?}");

        let app = harness(|s| expect_key_untouched(s, None));
        let result = app.revoke_api_key(&admin(), project_id(1), stored_id()).await;
        assert!(is_api_key_not_found(&result), "revoke_api_key: {result:?}");
    }

    #[tokio::test]
    async fn the_admin_check_comes_before_the_escalation_check() {
        let app = harness(|_| {});
        let who = principal(&[Permission::Read, Permission::Write], KeyScope::Account);
        let webhook = new_key(&[Permission::Webhook], None);
        assert_denied(
            "create_api_key granting webhook",
            Denied::Missing(Permission::Admin),
            app.create_api_key(&who, project_id(1), webhook).await,
        );
        let patch = ApiKeyPatch { permissions: Some(perms(&[Permission::Webhook])), ..ApiKeyPatch::default() };
        let result = app.update_api_key(&who, project_id(1), stored_id(), patch).await;
        assert_denied("update_api_key granting webhook", Denied::Missing(Permission::Admin), result);
    }

    #[tokio::test]
    async fn an_admin_key_may_grant_every_permission() {
        let app = harness(|s| {
            expect_tx(s, |tx| {
                locks_project_1(tx);
                tx.expect_insert_api_key()
                    .withf(|k| k.permissions == PermissionSet::all())
                    .times(1)
                    .returning(|_| Ok(()));
            });
        });
        let (key, _) = app.create_api_key(&admin(), project_id(1), new_key(&Permission::ALL, None)).await.unwrap();
        assert_eq!(key.permissions, PermissionSet::all());
    }

    #[tokio::test]
    async fn a_created_key_is_scoped_to_its_project_and_stores_only_the_new_secrets_digest() {
        let app = harness(|s| {
            expect_tx(s, |tx| {
                locks_project_1(tx);
                tx.expect_insert_api_key()
                    .withf(|k| {
                        k.scope == KeyScope::Project(project_id(1))
                            && k.account_id == account_id()
                            && k.id == ApiKeyId::from_uuid(fresh_uuid())
                            && k.digest == plain(9).digest()
                            && k.prefix == plain(9).display_prefix()
                            && k.created_at == now()
                            && k.revoked_at.is_none()
                            && k.previous.is_none()
                    })
                    .times(1)
                    .returning(|_| Ok(()));
            });
        });
        let (key, secret) =
            app.create_api_key(&admin(), project_id(1), new_key(&[Permission::Read], None)).await.unwrap();
        assert_eq!(secret.expose_secret(), plain(9).expose_secret());
        assert_eq!(key.digest, plain(9).digest());
    }

    #[tokio::test]
    async fn a_new_key_cannot_expire_in_the_past_or_now() {
        let app = harness(|_| {});
        for (case, at) in [("past", now() - Duration::seconds(1)), ("now", now())] {
            let result = app.create_api_key(&admin(), project_id(1), new_key(&[Permission::Read], Some(at))).await;
            assert_invalid(case, "expires_at", result);
        }
    }

    #[tokio::test]
    async fn a_new_key_cannot_outlive_the_key_creating_it() {
        let app = harness(|_| {});
        let who = admin_expiring_at(now() + Duration::hours(1));
        let result = app
            .create_api_key(&who, project_id(1), new_key(&[Permission::Read], Some(now() + Duration::hours(2))))
            .await;
        assert_invalid("expiry after the creator's", "expires_at", result);
    }

    #[tokio::test]
    async fn a_new_key_without_an_expiry_inherits_its_creators() {
        let own = now() + Duration::hours(1);
        let app = harness(|s| {
            expect_tx(s, move |tx| {
                locks_project_1(tx);
                tx.expect_insert_api_key().withf(move |k| k.expires_at == Some(own)).times(1).returning(|_| Ok(()));
            });
        });
        let (key, _) = app
            .create_api_key(&admin_expiring_at(own), project_id(1), new_key(&[Permission::Read], None))
            .await
            .unwrap();
        assert_eq!(key.expires_at, Some(own));
    }

    #[tokio::test]
    async fn a_new_key_may_expire_before_its_creator() {
        let sooner = now() + Duration::minutes(5);
        let app = harness(|s| {
            expect_tx(s, move |tx| {
                locks_project_1(tx);
                tx.expect_insert_api_key().withf(move |k| k.expires_at == Some(sooner)).times(1).returning(|_| Ok(()));
            });
        });
        let who = admin_expiring_at(now() + Duration::hours(1));
        let (key, _) =
            app.create_api_key(&who, project_id(1), new_key(&[Permission::Read], Some(sooner))).await.unwrap();
        assert_eq!(key.expires_at, Some(sooner));
    }

    #[tokio::test]
    async fn an_update_cannot_set_an_expiry_in_the_past_now_or_beyond_the_callers() {
        let app = harness(|_| {});
        let who = admin_expiring_at(now() + Duration::hours(1));
        for (case, at) in [
            ("past", now() - Duration::seconds(1)),
            ("now", now()),
            ("beyond the caller's", now() + Duration::hours(2)),
        ] {
            let patch = ApiKeyPatch { expires_at: Some(Some(at)), ..ApiKeyPatch::default() };
            assert_invalid(case, "expires_at", app.update_api_key(&who, project_id(1), stored_id(), patch).await);
        }
    }

    #[tokio::test]
    async fn an_expiring_key_cannot_clear_another_keys_expiry() {
        let app = harness(|_| {});
        let patch = ApiKeyPatch { expires_at: Some(None), ..ApiKeyPatch::default() };
        let result =
            app.update_api_key(&admin_expiring_at(now() + Duration::hours(1)), project_id(1), stored_id(), patch).await;
        assert_invalid("clearing the expiry", "expires_at", result);
    }

    #[tokio::test]
    async fn a_key_that_never_expires_may_clear_an_expiry() {
        let expiring = ApiKey { expires_at: Some(now() + Duration::hours(1)), ..stored_key(1) };
        let expected = ApiKey { expires_at: None, updated_at: now(), ..expiring.clone() };
        let app = harness(|s| expect_key_written(s, expiring, expected.clone()));
        let patch = ApiKeyPatch { expires_at: Some(None), ..ApiKeyPatch::default() };
        assert_eq!(app.update_api_key(&admin(), project_id(1), stored_id(), patch).await.unwrap(), expected);
    }

    #[tokio::test]
    async fn a_key_update_is_written_with_updated_at_now() {
        let expected = ApiKey {
            name: "renamed".parse().unwrap(),
            permissions: perms(&[Permission::Read, Permission::Webhook]),
            updated_at: now(),
            ..stored_key(1)
        };
        let app = harness(|s| expect_key_written(s, stored_key(1), expected.clone()));
        let patch = ApiKeyPatch {
            name: Some("renamed".parse().unwrap()),
            permissions: Some(perms(&[Permission::Read, Permission::Webhook])),
            expires_at: None,
        };
        assert_eq!(app.update_api_key(&admin(), project_id(1), stored_id(), patch).await.unwrap(), expected);
    }

    #[tokio::test]
    async fn a_no_op_key_patch_writes_nothing_and_returns_the_key_unchanged() {
        let restating = ApiKeyPatch {
            name: Some(stored_key(1).name),
            permissions: Some(stored_key(1).permissions),
            expires_at: Some(None),
        };
        for (case, patch) in [("empty patch", ApiKeyPatch::default()), ("patch restating the values", restating)] {
            let app = harness(|s| expect_key_untouched(s, Some(stored_key(1))));
            let result = app.update_api_key(&admin(), project_id(1), stored_id(), patch).await;
            assert_eq!(result.unwrap(), stored_key(1), "{case}");
        }
    }

    #[tokio::test]
    async fn revoking_a_key_sets_revoked_at_to_now_and_writes_it() {
        let expected = ApiKey { revoked_at: Some(now()), updated_at: now(), ..stored_key(1) };
        let app = harness(|s| expect_key_written(s, stored_key(1), expected.clone()));
        assert_eq!(app.revoke_api_key(&admin(), project_id(1), stored_id()).await.unwrap(), expected);
    }

    #[tokio::test]
    async fn revoking_a_revoked_key_writes_nothing_and_returns_it_unchanged() {
        let revoked = ApiKey { revoked_at: Some(earlier()), ..stored_key(1) };
        let app = harness(|s| expect_key_untouched(s, Some(revoked.clone())));
        assert_eq!(app.revoke_api_key(&admin(), project_id(1), stored_id()).await.unwrap(), revoked);
    }

    #[tokio::test]
    async fn an_expiring_key_cannot_reissue_or_strengthen_a_key_that_outlives_it() {
        let caller = admin_expiring_at(now() + Duration::minutes(10));
        // A stored key that never expires, and one that expires after the caller.
        for target in [None, Some(now() + Duration::hours(1))] {
            let stored = ApiKey { expires_at: target, ..stored_key(1) };
            let s2 = stored.clone();
            let app = harness(move |s| expect_key_untouched(s, Some(s2)));
            let result = app.rotate_api_key(&caller, project_id(1), stored_id(), Duration::zero()).await;
            assert_denied("rotating a key that outlives the caller", Denied::WouldOutlive, result);

            let s2 = stored.clone();
            let app = harness(move |s| expect_key_untouched(s, Some(s2)));
            let patch = ApiKeyPatch { permissions: Some(perms(&[Permission::Admin])), ..ApiKeyPatch::default() };
            let result = app.update_api_key(&caller, project_id(1), stored_id(), patch).await;
            assert_denied("adding admin to a key that outlives the caller", Denied::WouldOutlive, result);
        }
    }

    #[tokio::test]
    async fn an_expiring_key_may_still_rename_narrow_or_shorten_a_longer_lived_key() {
        let caller = admin_expiring_at(now() + Duration::minutes(10));
        let stored = ApiKey { permissions: perms(&[Permission::Read, Permission::Write]), ..stored_key(1) };
        let patch = ApiKeyPatch {
            name: Some("renamed".parse().unwrap()),
            permissions: Some(perms(&[Permission::Read])),
            ..ApiKeyPatch::default()
        };
        let app = harness(|s| expect_any_key_write_of(s, stored.clone()));
        app.update_api_key(&caller, project_id(1), stored_id(), patch).await.unwrap();
        // Adding a permission is allowed once the key expires no later than the caller.
        let patch = ApiKeyPatch {
            permissions: Some(perms(&[Permission::Admin])),
            expires_at: Some(Some(now() + Duration::minutes(5))),
            ..ApiKeyPatch::default()
        };
        let app = harness(|s| expect_any_key_write_of(s, stored.clone()));
        app.update_api_key(&caller, project_id(1), stored_id(), patch).await.unwrap();
        // A key that dies first may be rotated.
        let short = ApiKey { expires_at: Some(now() + Duration::minutes(1)), ..stored_key(1) };
        let app = harness(|s| expect_any_key_write_of(s, short.clone()));
        app.rotate_api_key(&caller, project_id(1), stored_id(), Duration::zero()).await.unwrap();
    }

    fn expect_any_key_write_of(store: &mut MockStore, stored: ApiKey) {
        expect_tx(store, move |tx| {
            locks_project_1(tx);
            tx.expect_lock_api_key().returning(move |_| Ok(Some(stored.clone())));
            tx.expect_update_api_key().times(1).returning(|_| Ok(()));
        });
    }

    #[tokio::test]
    async fn a_revoked_key_cannot_be_rotated() {
        let revoked = ApiKey { revoked_at: Some(earlier()), ..stored_key(1) };
        let app = harness(|s| expect_key_untouched(s, Some(revoked)));
        let result = app.rotate_api_key(&admin(), project_id(1), stored_id(), Duration::minutes(5)).await;
        assert_invalid("rotating a revoked key", "key_id", result);
    }

    #[tokio::test]
    async fn rotation_with_grace_keeps_the_old_secret_until_now_plus_grace() {
        let grace = Duration::minutes(5);
        let expected = ApiKey {
            digest: plain(9).digest(),
            prefix: plain(9).display_prefix().to_owned(),
            previous: Some(PreviousSecret { digest: stored_key(1).digest, expires_at: now() + grace }),
            updated_at: now(),
            ..stored_key(1)
        };
        let app = harness(|s| expect_key_written(s, stored_key(1), expected.clone()));
        let (key, secret) = app.rotate_api_key(&admin(), project_id(1), stored_id(), grace).await.unwrap();
        assert_eq!(key, expected);
        assert_eq!(secret.expose_secret(), plain(9).expose_secret());
    }

    #[tokio::test]
    async fn rotation_without_grace_drops_the_old_secret_at_once() {
        let rotated_before =
            ApiKey { previous: Some(PreviousSecret { digest: plain(3).digest(), expires_at: now() }), ..stored_key(1) };
        let expected = ApiKey {
            digest: plain(9).digest(),
            prefix: plain(9).display_prefix().to_owned(),
            previous: None,
            updated_at: now(),
            ..stored_key(1)
        };
        let app = harness(|s| expect_key_written(s, rotated_before, expected.clone()));
        let (key, _) = app.rotate_api_key(&admin(), project_id(1), stored_id(), Duration::zero()).await.unwrap();
        assert_eq!(key, expected);
    }

    #[tokio::test]
    async fn a_store_outage_is_unavailable() {
        let app = harness(|s| {
            expect_tx_without_commit(s, |tx| {
                locks_project_1(tx);
                tx.expect_lock_api_key().returning(|_| Err(outage()));
            });
        });
        let result = app.revoke_api_key(&admin(), project_id(1), stored_id()).await;
        assert!(matches!(result, Err(AppError::Unavailable(_))), "revoke_api_key: {result:?}");

        let app = harness(|s| {
            s.expect_list_api_keys().returning(|_, _, _| Err(outage()));
        });
        let result = app.list_api_keys(&admin(), project_id(1), PageRequest::default()).await;
        assert!(matches!(result, Err(AppError::Unavailable(_))), "list_api_keys: {result:?}");
    }

    #[tokio::test]
    async fn listing_the_keys_of_a_project_out_of_the_keys_scope_never_asks_the_store() {
        // No expectation is set: a call to the store would fail the test.
        let app = harness(|_| {});
        let scoped = principal(&[Permission::Read], KeyScope::Project(project_id(2)));
        let result = app.list_api_keys(&scoped, project_id(1), PageRequest::default()).await;
        assert!(matches!(result, Err(AppError::ProjectNotFound)), "{result:?}");
    }

    #[tokio::test]
    async fn other_store_errors_are_internal() {
        let app = harness(|s| {
            expect_tx_without_commit(s, |tx| {
                locks_project_1(tx);
                tx.expect_insert_api_key().returning(|_| Err(RepoError::Conflict("api_keys_digest_key".into())));
            });
        });
        let result = app.create_api_key(&admin(), project_id(1), new_key(&[Permission::Read], None)).await;
        assert!(matches!(result, Err(AppError::Internal(_))), "create_api_key: {result:?}");

        let app = harness(|s| {
            expect_tx_without_commit(s, |tx| {
                locks_project_1(tx);
                tx.expect_lock_api_key().returning(|_| Ok(Some(stored_key(1))));
                tx.expect_update_api_key().returning(|_| Err(RepoError::NotFound));
            });
        });
        let result = app.revoke_api_key(&admin(), project_id(1), stored_id()).await;
        assert!(matches!(result, Err(AppError::Internal(_))), "revoke_api_key: {result:?}");
    }
}
