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
    pub async fn create_account_key(&self, account: AccountId, permissions: PermissionSet) -> Result<(ApiKey, PlainApiKey), AppError> {
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
            tx.commit().await?;
        }
        Ok(key)
    }

    fn new_account(&self, name: AccountName, plan: Plan) -> Account {
        Account { id: AccountId::from_uuid(self.deps.ids.next_uuid()), name, plan, created_at: self.deps.clock.now() }
    }

    fn account_key(&self, account: &AccountId, name: &str, permissions: PermissionSet, secret: &PlainApiKey) -> Result<ApiKey, AppError> {
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
