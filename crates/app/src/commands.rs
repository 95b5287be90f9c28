//! The scriptable commands: `migrate`, `accounts create`, `keys create`, `keys revoke`,
//! `secrets rotate`, `purge`, `listen`.
//! Each prints one JSON object on stdout.

use std::time::Duration;

use anyhow::Context;
use serde_json::json;
use tengine_application::secrets::Reseal;
use tengine_application::{AppError, NewAccount};
use tengine_domain::{time, AccountId, AccountName, ApiKeyId, PermissionSet, Plan, ValidationError};

use tengine_app::secret_key;
use tengine_app::wiring::{self, Backend};
use tengine_app::StoreConfig;

use crate::cli::{AccountsCommand, KeysCommand, Listen, Purge, SecretsCommand};

/// `tengine listen`: prints where it forwards and the signing secret (one JSON line), then
/// one JSON line per event forwarded, until stopped (Ctrl-C ends it cleanly).
pub async fn listen(args: Listen) -> anyhow::Result<()> {
    let Listen { project, forward_to, server, api_key, secret, events } = args;
    project.parse::<tengine_domain::ProjectId>().context("--project must be a project id (proj_...)")?;
    let forward_url = url_of(&forward_to).context("--forward-to must be an http(s) URL")?;
    url_of(&server).context("--server must be an http(s) origin")?;
    let secret = match secret {
        Some(s) => s.parse().map_err(|_| anyhow::anyhow!("--secret must be 8 to 256 characters"))?,
        None => tengine_domain::webhook::WebhookSecret::from_random(&rand::random()),
    };
    let mut wanted = std::collections::BTreeSet::new();
    for kind in events {
        let known: tengine_domain::EventType =
            kind.parse().map_err(|()| anyhow::anyhow!("--events: {kind:?} is not an event type"))?;
        wanted.insert(known.as_str().to_owned());
    }
    println!(
        "{}",
        json!({
            "listening": server,
            "project": project,
            "forward_to": forward_url,
            "secret": secret.expose_secret(),
        })
    );
    let config = tengine_app::forward::ListenConfig { server, api_key, project, forward_to, secret, events: wanted };
    let mut out = std::io::stdout();
    tokio::select! {
        result = tengine_app::forward::listen(&config, &mut out) => result,
        () = tengine_app::shutdown_signal() => Ok(()),
    }
}

/// `raw` when it is an absolute http(s) URL.
fn url_of(raw: &str) -> anyhow::Result<String> {
    let scheme = raw.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("http" | "https") if raw.len() > "https://".len() => Ok(raw.to_owned()),
        _ => anyhow::bail!("{raw:?} is not an http(s) URL"),
    }
}

/// `tengine purge`: one retention purge, run to the end.
pub async fn purge(store: &StoreConfig, purge: &Purge) -> anyhow::Result<()> {
    let retention = tengine_domain::event::Retention::days(purge.retention_days).map_err(anyhow::Error::msg)?;
    let keyring = secret_key::load(store)?;
    let backend = Backend::open(store, Duration::from_secs(10)).await?;
    let tengine = wiring::tengine(&backend, keyring)?.with_retention(retention);
    let done = tengine.purge_delivered().await.map_err(failed)?;
    println!(
        "{}",
        json!({
            "before": time::format(done.before),
            "deliveries": done.deliveries,
            "events": done.events,
        })
    );
    Ok(())
}

/// Applies migrations (opening the store does) and reports success.
pub async fn migrate(store: &StoreConfig) -> anyhow::Result<()> {
    let backend = Backend::open(store, Duration::from_secs(10)).await?;
    println!("{}", json!({"migrated": true, "backend": backend.describe()}));
    Ok(())
}

/// `tengine accounts create`.
pub async fn accounts(store: &StoreConfig, cmd: AccountsCommand) -> anyhow::Result<()> {
    let AccountsCommand::Create { name, plan, limit } = cmd;
    let name: AccountName = name.parse().map_err(invalid)?;
    let plan = Plan::from_parts(&plan, limit).map_err(invalid)?;
    let keyring = secret_key::load(store)?;
    let backend = Backend::open(store, Duration::from_secs(10)).await?;
    let created =
        wiring::tengine(&backend, keyring)?.create_account(NewAccount { name, plan }).await.map_err(failed)?;
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
pub async fn keys(store: &StoreConfig, cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Create { account, permissions } => {
            let account: AccountId = account.parse().context("--account must be an account id (acct_...)")?;
            let permissions = PermissionSet::parse_list("permissions", &permissions).map_err(invalid)?;
            let keyring = secret_key::load(store)?;
            let backend = Backend::open(store, Duration::from_secs(10)).await?;
            let (key, secret) =
                wiring::tengine(&backend, keyring)?.create_account_key(account, permissions).await.map_err(failed)?;
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
            let keyring = secret_key::load(store)?;
            let backend = Backend::open(store, Duration::from_secs(10)).await?;
            let key = wiring::tengine(&backend, keyring)?.revoke_any_key(id).await.map_err(failed)?;
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

/// `tengine secrets rotate`: seals every stored webhook and tool secret under the current key.
/// Fails, naming what is left, unless everything is now under it.
pub async fn secrets(store: &StoreConfig, cmd: SecretsCommand) -> anyhow::Result<()> {
    let SecretsCommand::Rotate = cmd;
    let keyring = secret_key::load(store)?;
    let key_id = keyring.current_id().to_string();
    let backend = Backend::open(store, Duration::from_secs(10)).await?;
    let tengine = wiring::tengine(&backend, keyring)?;
    let mut report = tengine.reseal_webhook_secrets(Reseal::Stale).await.map_err(failed)?;
    report.absorb(tengine.reseal_tool_secrets().await.map_err(failed)?);
    println!(
        "{}",
        json!({
            "key_id": key_id,
            "resealed": report.resealed,
            "unchanged": report.unchanged,
            "changed_meanwhile": report.raced,
            "unreadable": report
                .unreadable
                .iter()
                .map(ToString::to_string)
                .chain(report.unreadable_tools.iter().map(ToString::to_string))
                .collect::<Vec<_>>(),
        })
    );
    if !report.complete() {
        anyhow::bail!(
            "some secrets are not yet sealed under key {key_id}: run again (and configure the key that sealed any \
             unreadable one in TENGINE_SECRET_KEYS_PREVIOUS); keep the previous keys until this succeeds"
        );
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
