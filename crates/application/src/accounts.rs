//! Operator use cases without a principal: bootstrap, accounts and account-wide keys
//! made from the CLI, and revoking any key.

use tengine_domain::{Account, AccountId, AccountName, ApiKey, ApiKeyId, KeyScope, PermissionSet, PlainApiKey, Plan};

use crate::{AppError, Tengine};

/// A request to create an account (CLI).
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Its name.
    pub name: AccountName,
    /// Its plan.
    pub plan: Plan,
}

/// An account and its first account-wide key, with the secret shown once.
#[derive(Debug)]
pub struct AccountWithKey {
    /// The account.
    pub account: Account,
    /// The key record.
    pub key: ApiKey,
    /// The secret.
    pub secret: PlainApiKey,
}

impl Tengine {
    /// On an empty store, creates the `default` account (enterprise, no limit) and an
    /// account-wide admin key (`preset` if given); `None` if already bootstrapped.
    ///
    /// # Errors
    /// `Unavailable` when the store is down.
    pub async fn bootstrap(&self, preset: Option<PlainApiKey>) -> Result<Option<AccountWithKey>, AppError> {
        let mut tx = self.deps.store.begin().await?;
        if !tx.claim_bootstrap().await? {
            return Ok(None);
        }
        let name: AccountName = "default".parse()?;
        let account = self.new_account(name, Plan::Enterprise { limit: None });
        tx.insert_account(&account).await?;
        let secret = preset.unwrap_or_else(|| self.deps.secrets.api_key());
        let key = self.account_key(&account.id, "bootstrap admin key", PermissionSet::all(), &secret)?;
        tx.insert_api_key(&key).await?;
        tx.commit().await?;
        Ok(Some(AccountWithKey { account, key, secret }))
    }

    /// Creates an account with an account-wide key holding every permission.
    ///
    /// # Errors
    /// `Unavailable` when the store is down.
    pub async fn create_account(&self, new: NewAccount) -> Result<AccountWithKey, AppError> {
        let account = self.new_account(new.name, new.plan);
        let secret = self.deps.secrets.api_key();
        let key = self.account_key(&account.id, "admin key", PermissionSet::all(), &secret)?;
        let mut tx = self.deps.store.begin().await?;
        tx.insert_account(&account).await?;
        tx.insert_api_key(&key).await?;
        tx.commit().await?;
        Ok(AccountWithKey { account, key, secret })
    }

    /// Creates an account-wide key for an existing account.
    ///
    /// # Errors
    /// `NotFound("account")` for an unknown account.
    pub async fn create_account_key(
        &self,
        account: AccountId,
        permissions: PermissionSet,
    ) -> Result<(ApiKey, PlainApiKey), AppError> {
        self.deps.store.get_account(account).await?.ok_or(AppError::NotFound(AccountId::KIND))?;
        let secret = self.deps.secrets.api_key();
        let key = self.account_key(&account, "account key", permissions, &secret)?;
        let mut tx = self.deps.store.begin().await?;
        tx.insert_api_key(&key).await?;
        tx.commit().await?;
        Ok((key, secret))
    }

    /// Revokes any key by id (operators only; no permission check).
    ///
    /// # Errors
    /// `NotFound("api_key")` for an unknown key.
    pub async fn revoke_any_key(&self, id: ApiKeyId) -> Result<ApiKey, AppError> {
        let mut tx = self.deps.store.begin().await?;
        let mut key = tx.lock_api_key(id).await?.ok_or(AppError::NotFound(ApiKeyId::KIND))?;
        if key.revoked_at.is_none() {
            let now = self.deps.clock.now();
            key.revoked_at = Some(now);
            key.updated_at = now;
            tx.update_api_key(&key).await?;
            let event = self.event(
                tengine_domain::EventType::ApiKeyRevoked,
                key.account_id,
                key.scope.project(),
                crate::events::api_key_data(&key),
            );
            self.record(&mut *tx, event).await?;
            tx.commit().await?;
            self.keys.evict_key(key.id);
        }
        Ok(key)
    }

    fn new_account(&self, name: AccountName, plan: Plan) -> Account {
        Account { id: AccountId::from_uuid(self.deps.ids.next_uuid()), name, plan, created_at: self.deps.clock.now() }
    }

    fn account_key(
        &self,
        account: &AccountId,
        name: &str,
        permissions: PermissionSet,
        secret: &PlainApiKey,
    ) -> Result<ApiKey, AppError> {
        let now = self.deps.clock.now();
        Ok(ApiKey {
            id: ApiKeyId::from_uuid(self.deps.ids.next_uuid()),
            account_id: *account,
            scope: KeyScope::Account,
            name: name.parse()?,
            permissions,
            prefix: secret.display_prefix().to_owned(),
            digest: secret.digest(),
            previous: None,
            expires_at: None,
            created_at: now,
            updated_at: now,
            last_used_at: None,
            revoked_at: None,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use tengine_domain::{Permission, ProjectId};

    use super::*;
    use crate::test_support::*;

    fn preset() -> PlainApiKey {
        plain(5)
    }

    fn default_account() -> Account {
        Account {
            id: AccountId::from_uuid(fresh_uuid()),
            name: "default".parse().unwrap(),
            plan: Plan::Enterprise { limit: None },
            created_at: now(),
        }
    }

    #[tokio::test]
    async fn bootstrap_of_an_already_bootstrapped_store_returns_none_and_inserts_nothing() {
        let app = harness(|s| {
            expect_tx_without_commit(s, |tx| {
                tx.expect_claim_bootstrap().times(1).returning(|| Ok(false));
            });
        });
        assert!(app.bootstrap(Some(preset())).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn bootstrap_creates_a_default_enterprise_account_without_a_limit() {
        let app = harness(|s| {
            expect_tx(s, |tx| {
                tx.expect_claim_bootstrap().returning(|| Ok(true));
                tx.expect_insert_account().withf(|a| *a == default_account()).times(1).returning(|_| Ok(()));
                tx.expect_insert_api_key().times(1).returning(|_| Ok(()));
            });
        });
        let made = app.bootstrap(None).await.unwrap().unwrap();
        assert_eq!(made.account, default_account());
    }

    #[tokio::test]
    async fn bootstrap_makes_an_account_wide_key_with_every_permission_from_the_preset_secret() {
        let app = harness(|s| {
            expect_tx(s, |tx| {
                tx.expect_claim_bootstrap().returning(|| Ok(true));
                tx.expect_insert_account().returning(|_| Ok(()));
                tx.expect_insert_api_key()
                    .withf(|k| {
                        k.scope == KeyScope::Account
                            && k.account_id == default_account().id
                            && k.permissions == PermissionSet::all()
                            && k.digest == preset().digest()
                            && k.prefix == preset().display_prefix()
                            && k.expires_at.is_none()
                            && k.revoked_at.is_none()
                    })
                    .times(1)
                    .returning(|_| Ok(()));
            });
        });
        let made = app.bootstrap(Some(preset())).await.unwrap().unwrap();
        assert_eq!(made.secret.expose_secret(), preset().expose_secret());
        assert_eq!(made.key.digest, preset().digest());
    }

    #[tokio::test]
    async fn bootstrap_without_a_preset_uses_a_fresh_secret() {
        let app = harness(|s| {
            expect_tx(s, |tx| {
                tx.expect_claim_bootstrap().returning(|| Ok(true));
                tx.expect_insert_account().returning(|_| Ok(()));
                tx.expect_insert_api_key().withf(|k| k.digest == plain(9).digest()).times(1).returning(|_| Ok(()));
            });
        });
        let made = app.bootstrap(None).await.unwrap().unwrap();
        assert_eq!(made.secret.expose_secret(), plain(9).expose_secret());
    }

    #[tokio::test]
    async fn bootstrap_during_an_outage_is_unavailable() {
        let app = harness(|s| {
            s.expect_begin().returning(|| Err(outage()));
        });
        let result = app.bootstrap(None).await;
        assert!(matches!(result, Err(AppError::Unavailable(_))), "{result:?}");
    }

    #[tokio::test]
    async fn a_created_account_gets_an_account_wide_key_with_every_permission() {
        let account = Account { name: "acme".parse().unwrap(), plan: Plan::Pro, ..default_account() };
        let inserted = account.clone();
        let app = harness(|s| {
            expect_tx(s, move |tx| {
                tx.expect_insert_account().withf(move |a| *a == inserted).times(1).returning(|_| Ok(()));
                tx.expect_insert_api_key()
                    .withf(|k| {
                        k.scope == KeyScope::Account
                            && k.permissions == PermissionSet::all()
                            && k.digest == plain(9).digest()
                    })
                    .times(1)
                    .returning(|_| Ok(()));
            });
        });
        let made = app.create_account(NewAccount { name: "acme".parse().unwrap(), plan: Plan::Pro }).await.unwrap();
        assert_eq!(made.account, account);
        assert_eq!(made.key.account_id, account.id);
    }

    #[tokio::test]
    async fn an_account_key_for_an_unknown_account_is_not_found_and_inserts_nothing() {
        let app = harness(|s| {
            s.expect_get_account().returning(|_| Ok(None));
        });
        let result = app.create_account_key(account_id(), PermissionSet::all()).await;
        assert!(matches!(result, Err(AppError::NotFound(kind)) if kind == "account"), "{result:?}");
    }

    #[tokio::test]
    async fn an_account_key_is_account_wide_with_the_permissions_asked_for() {
        let app = harness(|s| {
            s.expect_get_account()
                .withf(|id| *id == account_id())
                .returning(|id| Ok(Some(Account { id, ..default_account() })));
            expect_tx(s, |tx| {
                tx.expect_insert_api_key()
                    .withf(|k| {
                        k.scope == KeyScope::Account
                            && k.account_id == account_id()
                            && k.permissions == [Permission::Read].into_iter().collect::<PermissionSet>()
                    })
                    .times(1)
                    .returning(|_| Ok(()));
            });
        });
        let (key, secret) =
            app.create_account_key(account_id(), [Permission::Read].into_iter().collect()).await.unwrap();
        assert_eq!(key.digest, secret.digest());
    }

    #[tokio::test]
    async fn revoking_an_unknown_key_by_id_is_not_found() {
        let app = harness(|s| {
            expect_tx_without_commit(s, |tx| {
                tx.expect_lock_api_key().returning(|_| Ok(None));
            });
        });
        let result = app.revoke_any_key(api_key(1, KeyScope::Account, &[Permission::Admin]).id).await;
        assert!(matches!(result, Err(AppError::NotFound(kind)) if kind == "api_key"), "{result:?}");
    }

    #[tokio::test]
    async fn revoking_any_key_by_id_sets_revoked_at_to_now_whatever_its_scope() {
        for scope in [KeyScope::Account, KeyScope::Project(ProjectId::from_uuid(uuid::Uuid::from_u128(3)))] {
            let stored = ApiKey { updated_at: earlier(), ..api_key(1, scope, &[Permission::Admin]) };
            let expected = ApiKey { revoked_at: Some(now()), updated_at: now(), ..stored.clone() };
            let written = expected.clone();
            let app = harness(|s| {
                expect_tx(s, move |tx| {
                    tx.expect_lock_api_key().returning(move |_| Ok(Some(stored.clone())));
                    tx.expect_update_api_key().withf(move |k| *k == written).times(1).returning(|_| Ok(()));
                });
            });
            assert_eq!(app.revoke_any_key(expected.id).await.unwrap(), expected, "{scope:?}");
        }
    }

    #[tokio::test]
    async fn revoking_an_already_revoked_key_by_id_writes_nothing() {
        let revoked = ApiKey { revoked_at: Some(earlier()), ..api_key(1, KeyScope::Account, &[Permission::Admin]) };
        let stored = revoked.clone();
        let app = harness(|s| {
            expect_tx_without_commit(s, move |tx| {
                tx.expect_lock_api_key().returning(move |_| Ok(Some(stored.clone())));
            });
        });
        assert_eq!(app.revoke_any_key(revoked.id).await.unwrap(), revoked);
    }
}
