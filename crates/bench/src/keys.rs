//! Seeds the memory phase of `cargo xtask bench`: many accounts, each with account-wide
//! `read` keys, through the PostgreSQL adapter; the keys' secrets go to a file (one per
//! line) for wrk to present, so every key is verified once.

use std::io::Write;
use std::time::Instant;

use anyhow::Context;
use chrono::Utc;
use futures::future::try_join_all;
use tengine_adapters_postgres::PgStore;
use tengine_domain::{
    base62, Account, AccountId, ApiKey, ApiKeyId, KeyScope, Permission, PermissionSet, PlainApiKey, Plan,
};
use tengine_ports::UnitOfWork;
use uuid::Uuid;

/// Accounts per transaction.
const BATCH: u64 = 200;

/// Seeds `accounts` accounts with `keys` keys each and writes the secrets to `out`.
///
/// # Errors
/// A connection, store or file failure.
pub async fn seed(database_url: &str, accounts: u64, keys: u64, out: &str) -> anyhow::Result<()> {
    let store = PgStore::connect(database_url, 8).await.context("connect")?;
    let started = Instant::now();
    let writers = 4u64;
    let per_writer = accounts.div_ceil(writers);
    let store = &store;
    let secrets = try_join_all((0..writers).map(|w| async move {
        let (from, to) = (w * per_writer, ((w + 1) * per_writer).min(accounts));
        let mut secrets = Vec::new();
        let mut n = from;
        while n < to {
            let mut tx = store.begin().await?;
            for _ in n..(n + BATCH).min(to) {
                let now = Utc::now();
                // A limit far above the load: every account is counted, none refused.
                let account = Account {
                    id: AccountId::from_uuid(Uuid::now_v7()),
                    name: "memory".parse()?,
                    plan: Plan::Enterprise { limit: Some(1_000_000) },
                    created_at: now,
                };
                tx.insert_account(&account).await?;
                for _ in 0..keys {
                    let random = base62::encode_fixed(Uuid::new_v4().as_u128(), base62::U128_WIDTH)
                        + &base62::encode_fixed(Uuid::new_v4().as_u128(), base62::U128_WIDTH);
                    let plain = PlainApiKey::from_random(&random[..40]).map_err(|e| anyhow::anyhow!("{e:?}"))?;
                    tx.insert_api_key(&ApiKey {
                        id: ApiKeyId::from_uuid(Uuid::now_v7()),
                        account_id: account.id,
                        scope: KeyScope::Account,
                        name: "memory".parse()?,
                        permissions: [Permission::Read].into_iter().collect::<PermissionSet>(),
                        prefix: plain.display_prefix().to_owned(),
                        digest: plain.digest(),
                        previous: None,
                        expires_at: None,
                        created_at: now,
                        updated_at: now,
                        last_used_at: None,
                        revoked_at: None,
                    })
                    .await?;
                    secrets.push(plain.expose_secret().to_owned());
                }
            }
            tx.commit().await?;
            n = (n + BATCH).min(to);
        }
        anyhow::Ok(secrets)
    }))
    .await?;
    let mut file = std::io::BufWriter::new(std::fs::File::create(out).context("--out")?);
    // Interleaved across writers so consecutive lines belong to different accounts.
    let longest = secrets.iter().map(Vec::len).max().unwrap_or(0);
    let mut written = 0u64;
    for i in 0..longest {
        for list in &secrets {
            if let Some(s) = list.get(i) {
                writeln!(file, "{s}")?;
                written += 1;
            }
        }
    }
    file.flush()?;
    println!("{{\"accounts\": {accounts}, \"keys\": {written}, \"seconds\": {:.1}}}", started.elapsed().as_secs_f64());
    Ok(())
}
