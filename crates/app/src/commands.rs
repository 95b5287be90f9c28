//! The scriptable commands: `migrate`, `accounts create`, `keys create`, `keys revoke`.
//! Each prints one JSON object on stdout.

use std::time::Duration;

use anyhow::Context;
use serde_json::json;
use tengine_application::{AppError, NewAccount};
use tengine_domain::{time, AccountId, AccountName, ApiKeyId, PermissionSet, Plan, ValidationError};

use crate::cli::{AccountsCommand, Global, KeysCommand};
use crate::wiring::{self, Backend};

/// Applies migrations (opening the store does) and reports success.
pub async fn migrate(global: &Global) -> anyhow::Result<()> {
    let backend = Backend::open(global, Duration::from_secs(10)).await?;
    println!("{}", json!({"migrated": true, "backend": backend.describe()}));
    Ok(())
}

/// `tengine accounts create`.
pub async fn accounts(global: &Global, cmd: AccountsCommand) -> anyhow::Result<()> {
    let AccountsCommand::Create { name, plan, limit } = cmd;
    let name: AccountName = name.parse().map_err(invalid)?;
    let plan = Plan::from_parts(&plan, limit).map_err(invalid)?;
    let backend = Backend::open(global, Duration::from_secs(10)).await?;
    let created = wiring::tengine(&backend).create_account(NewAccount { name, plan }).await.map_err(failed)?;
    println!(
        "{}",
        json!({
            "account_id": created.account.id.to_string(),
            "key_id": created.key.id.to_string(),
            "key": created.secret.expose_secret(),
            "plan": created.account.plan.name(),
            "limit": created.account.plan.requests_per_hour(),
        })
    );
    Ok(())
}

/// `tengine keys create` and `tengine keys revoke`.
pub async fn keys(global: &Global, cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Create { account, permissions } => {
            let account: AccountId = account.parse().context("--account must be an account id (acct_...)")?;
            let permissions = PermissionSet::parse_list("permissions", &permissions).map_err(invalid)?;
            let backend = Backend::open(global, Duration::from_secs(10)).await?;
            let (key, secret) =
                wiring::tengine(&backend).create_account_key(account, permissions).await.map_err(failed)?;
            println!(
                "{}",
                json!({
                    "account_id": key.account_id.to_string(),
                    "key_id": key.id.to_string(),
                    "key": secret.expose_secret(),
                    "permissions": key.permissions.names(),
                })
            );
        }
        KeysCommand::Revoke { key_id } => {
            let id: ApiKeyId = key_id.parse().context("--key-id must be a key id (key_...)")?;
            let backend = Backend::open(global, Duration::from_secs(10)).await?;
            let key = wiring::tengine(&backend).revoke_any_key(id).await.map_err(failed)?;
            println!(
                "{}",
                json!({
                    "account_id": key.account_id.to_string(),
                    "key_id": key.id.to_string(),
                    "revoked_at": key.revoked_at.map(time::format),
                })
            );
        }
    }
    Ok(())
}

fn invalid(e: ValidationError) -> anyhow::Error {
    anyhow::anyhow!("invalid {}: {}", e.first().field, e.first().reason)
}

fn failed(e: AppError) -> anyhow::Error {
    match e {
        AppError::NotFound(what) => anyhow::anyhow!("{} not found", what.replace('_', " ")),
        AppError::Validation(v) => invalid(v),
        other => anyhow::Error::new(other),
    }
}
