//! `tengine-bench`: what `cargo xtask bench` needs besides the server: seeding large
//! synthetic data sets through the storage adapter, and the baseline server.

mod baseline;
mod growth;
mod keys;
mod mcp_load;
mod receiver;

use std::time::Instant;

use anyhow::Context;
use chrono::{Duration, Utc};
use clap::{Parser, Subcommand};
use tengine_adapters_postgres::PgStore;
use tengine_domain::usage::{Granularity, UsageCounts};
use tengine_domain::{AccountId, ApiKeyId, Event, EventId, EventType, Project, ProjectId};
use tengine_ports::{UnitOfWork, UsageDelta, UsageRepository};
use uuid::Uuid;

/// Benchmark helpers.
#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Inserts synthetic hourly usage rollups through the PostgreSQL adapter.
    SeedUsage {
        /// The database.
        #[arg(long)]
        database_url: String,
        /// The account that owns the measured project.
        #[arg(long)]
        account: String,
        /// The measured project: it gets 30 days x 24 hours x `keys` rows.
        #[arg(long)]
        project: String,
        /// Keys of the measured project.
        #[arg(long, default_value_t = 5)]
        keys: u32,
        /// Extra rows spread over other synthetic projects of the account.
        #[arg(long, default_value_t = 0)]
        background_rows: u64,
    },
    /// Inserts `count` projects for an account through the adapter.
    SeedProjects {
        /// The database.
        #[arg(long)]
        database_url: String,
        /// The owner.
        #[arg(long)]
        account: String,
        /// How many.
        #[arg(long)]
        count: u64,
    },
    /// Seeds either backend for the growth curves: `rows` projects in the account and
    /// `rows` hourly usage rows (30 days of them for the oldest, measured project).
    SeedGrowth {
        /// `postgres://...` or `sqlite://PATH`.
        #[arg(long)]
        database_url: String,
        /// The owner.
        #[arg(long)]
        account: String,
        /// The owner of the webhooks list (another account, so the first one's events
        /// do not fan out over a million webhooks).
        #[arg(long)]
        hooks_account: String,
        /// How many of each.
        #[arg(long)]
        rows: u64,
    },
    /// Seeds accounts with account-wide `read` keys and writes the keys to a file.
    SeedKeys {
        /// The database (PostgreSQL).
        #[arg(long)]
        database_url: String,
        /// How many accounts.
        #[arg(long)]
        accounts: u64,
        /// Keys per account.
        #[arg(long)]
        keys: u64,
        /// Where the secrets go, one per line.
        #[arg(long)]
        out: String,
    },
    /// Appends `count` `project.updated` events of a project through the adapter, so
    /// each fans out to the project's webhooks as a live one would: due deliveries for
    /// the webhooks bench's engine phase (run while no server is up).
    SeedEvents {
        /// The database (PostgreSQL).
        #[arg(long)]
        database_url: String,
        /// The owner.
        #[arg(long)]
        account: String,
        /// The project the events are about.
        #[arg(long)]
        project: String,
        /// How many.
        #[arg(long)]
        count: u64,
    },
    /// A webhook receiver that counts deliveries and measures their latency.
    Receiver {
        /// Where to listen.
        #[arg(long)]
        listen: std::net::SocketAddr,
    },
    /// A loopback API answering a small JSON object at once (the MCP bench's tool).
    EchoApi {
        /// Where to listen.
        #[arg(long)]
        listen: std::net::SocketAddr,
    },
    /// Tool calls through `/mcp` against calling the API directly, same client, alternating.
    McpLoad {
        /// Tengine's `/mcp` URL.
        #[arg(long)]
        mcp_url: String,
        /// The echo API's URL.
        #[arg(long)]
        api_url: String,
        /// A key with `write` on the tool's project.
        #[arg(long)]
        key: String,
        /// The tool's project (sent as `X-Tengine-Project-Id`).
        #[arg(long)]
        project: String,
        /// The tool's name.
        #[arg(long)]
        tool: String,
        /// Concurrent sessions (and direct connections).
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Seconds per run.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Alternating rounds.
        #[arg(long, default_value_t = 2)]
        rounds: usize,
    },
    /// The physical-limit baseline: axum + one primary-key SELECT through a sqlx pool.
    Baseline {
        /// The database.
        #[arg(long)]
        database_url: String,
        /// Where to listen.
        #[arg(long)]
        listen: std::net::SocketAddr,
    },
}

pub(crate) fn counts(seed: u64) -> UsageCounts {
    let mut c = UsageCounts::default();
    for i in 0..(1 + seed % 7) {
        c.record(if i % 5 == 0 { 404 } else { 200 }, 1_000 + (seed % 50) * 100);
    }
    c
}

async fn write(store: &PgStore, batch: &mut Vec<UsageDelta>) -> anyhow::Result<()> {
    store.add_usage(batch).await.context("add_usage failed")?;
    batch.clear();
    Ok(())
}

async fn seed_projects(database_url: &str, account: &str, count: u64) -> anyhow::Result<()> {
    let store = PgStore::connect(database_url, 4).await.context("connect")?;
    let account: AccountId = account.parse().context("--account")?;
    let started = Instant::now();
    let mut done = 0;
    while done < count {
        let mut tx = store.begin().await?;
        for _ in 0..(count - done).min(1_000) {
            let now = Utc::now();
            let project = Project {
                id: ProjectId::from_uuid(Uuid::now_v7()),
                account_id: account,
                name: format!("seeded {done}").parse()?,
                description: Some("seeded by tengine-bench".parse()?),
                created_at: now,
                updated_at: now,
            };
            tx.insert_project(&project).await?;
            done += 1;
        }
        tx.commit().await?;
    }
    println!("{{\"projects\": {done}, \"seconds\": {:.1}}}", started.elapsed().as_secs_f64());
    Ok(())
}

async fn seed_events(database_url: &str, account: &str, project: &str, count: u64) -> anyhow::Result<()> {
    let store = PgStore::connect(database_url, 4).await.context("connect")?;
    let account: AccountId = account.parse().context("--account")?;
    let project: ProjectId = project.parse().context("--project")?;
    let started = Instant::now();
    let (mut done, mut deliveries) = (0, 0);
    while done < count {
        let batch_at = Utc::now();
        let events = (done..(done + 500).min(count))
            .map(|n| (n, batch_at + Duration::microseconds(i64::try_from(n - done).unwrap_or(0))))
            .map(|(n, now)| Event {
                id: EventId::from_uuid(Uuid::now_v7()),
                account_id: account,
                project_id: Some(project),
                event_type: EventType::ProjectUpdated,
                data: serde_json::json!({
                    "id": project.to_string(), "name": format!("seeded {n}"), "description": null,
                    "created_at": tengine_domain::time::format(now), "updated_at": tengine_domain::time::format(now),
                })
                .into(),
                created_at: now,
            })
            .collect::<Vec<_>>();
        let mut tx = store.begin().await?;
        deliveries += tx.append_events(&events).await?;
        tx.commit().await?;
        done += events.len() as u64;
    }
    println!(
        "{{\"events\": {done}, \"deliveries\": {deliveries}, \"seconds\": {:.1}}}",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (database_url, account, project, keys, background_rows) = match Cli::parse().command {
        Command::Baseline { database_url, listen } => return baseline::serve(&database_url, listen).await,
        Command::Receiver { listen } => return receiver::serve(listen).await,
        Command::EchoApi { listen } => return mcp_load::echo_api(listen).await,
        Command::McpLoad { mcp_url, api_url, key, project, tool, connections, seconds, rounds } => {
            return mcp_load::run(&mcp_url, &api_url, &key, &project, &tool, connections, seconds, rounds).await
        }
        Command::SeedKeys { database_url, accounts, keys, out } => {
            return keys::seed(&database_url, accounts, keys, &out).await
        }
        Command::SeedGrowth { database_url, account, hooks_account, rows } => {
            return growth::seed(&database_url, &account, &hooks_account, rows).await
        }
        Command::SeedEvents { database_url, account, project, count } => {
            return seed_events(&database_url, &account, &project, count).await
        }
        Command::SeedProjects { database_url, account, count } => {
            return seed_projects(&database_url, &account, count).await
        }
        Command::SeedUsage { database_url, account, project, keys, background_rows } => {
            (database_url, account, project, keys, background_rows)
        }
    };
    let store = PgStore::connect(&database_url, 4).await.context("connect")?;
    let account: AccountId = account.parse().context("--account")?;
    let project: ProjectId = project.parse().context("--project")?;
    let now = Granularity::Hour.floor(Utc::now());
    let started = Instant::now();
    let mut batch = Vec::with_capacity(10_000);

    let key_ids: Vec<ApiKeyId> = (0..keys).map(|_| ApiKeyId::from_uuid(Uuid::now_v7())).collect();
    for h in 0..(30 * 24) {
        for key in &key_ids {
            batch.push(UsageDelta {
                hour: now - Duration::hours(h),
                account_id: account,
                project_id: project,
                subject: (*key).into(),
                counts: counts(h as u64),
            });
        }
    }
    write(&store, &mut batch).await?;

    // Background: 1,000 projects, each with 10 keys over as many hours as needed.
    let projects = 1_000u64;
    let per_project = background_rows.div_ceil(projects);
    let mut done = 0u64;
    for p in 0..projects {
        if done >= background_rows {
            break;
        }
        let id = ProjectId::from_uuid(Uuid::now_v7());
        let mut tx = store.begin().await?;
        tx.insert_project(&Project {
            id,
            account_id: account,
            name: format!("bench {p}").parse()?,
            description: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        })
        .await?;
        tx.commit().await?;
        let keys: Vec<ApiKeyId> = (0..10).map(|_| ApiKeyId::from_uuid(Uuid::now_v7())).collect();
        for i in 0..per_project.min(background_rows - done) {
            let hour = now - Duration::hours((i / 10) as i64);
            batch.push(UsageDelta {
                hour,
                account_id: account,
                project_id: id,
                subject: keys[(i % 10) as usize].into(),
                counts: counts(i),
            });
            if batch.len() == 10_000 {
                write(&store, &mut batch).await?;
            }
        }
        done += per_project.min(background_rows - done);
    }
    write(&store, &mut batch).await?;
    println!(
        "{{\"measured_rows\": {}, \"background_rows\": {done}, \"seconds\": {:.1}}}",
        30 * 24 * keys,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
