//! `cargo xtask bench webhooks`: the delivery engine, live and alone, on a database of
//! its own (so no other bench instance runs a worker on it).
//!
//! Live phases: wrk PATCHes projects for a fixed time, each PATCH writing one
//! `project.updated` event that fans out to the project's webhooks; a loopback receiver
//! counts arrivals, duplicates and event-to-arrival latency. The events are counted
//! exactly (the event log's totals before and after), not estimated from wrk's rate.
//! CPU is every instance's plus PostgreSQL's, from `/proc`, over the load and the drain.
//!
//! Engine phases: 100,000 due deliveries are written with no server up, then one or two
//! instances start and drain them: the worker alone, without the API's work.
//!
//! Creation phases, last: the same PATCHes on an API-only instance
//! (`TENGINE_WEBHOOK_CONCURRENCY=0`), so the API's cost of an event shows without the
//! worker's; then PATCHes of a project with one webhook in an account with 1,000 more on
//! other projects, whose events should cost what a lone project's do.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::bench::{
    cpu_ticks, curl, drop_database, fresh_database, http_get, json_field, num, post, postgres_ticks, run, spawn_helper,
    wrk_script, Server, BENCH_SECRET_KEY,
};
use crate::Result;

/// Deliveries the engine phases drain.
const ENGINE_DELIVERIES: u64 = 100_000;

/// Other projects of the account beside the project of the last creation phases.
const WIDE_PROJECTS: usize = 100;

/// Webhooks on each of those projects.
const WIDE_HOOKS: usize = 10;

/// The kernel's clock ticks per second (`/proc/<pid>/stat` counts in them).
const TICK_MS: f64 = 10.0;

/// One measured phase, a row of the report.
struct Row {
    phase: String,
    events: f64,
    delivered: f64,
    duplicates: f64,
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    server_ms: f64,
    postgres_ms: f64,
    backlog: f64,
    drain_s: f64,
}

impl Row {
    fn line(&self) -> String {
        format!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.1} | {:.1} | {:.3} | {:.3} | {:.0} | {:.1} |\n",
            self.phase,
            self.events,
            self.delivered,
            self.duplicates,
            self.rate,
            self.p50_ms,
            self.p99_ms,
            self.server_ms,
            self.postgres_ms,
            self.backlog,
            self.drain_s
        )
    }
}

/// The receiver's counters.
struct Arrivals(String);

impl Arrivals {
    fn read(receiver: &str) -> Result<Arrivals> {
        http_get(&format!("{receiver}/stats")).map(Arrivals)
    }

    fn get(&self, field: &str) -> f64 {
        num(&self.0, field)
    }
}

/// Waits until `expected` deliveries arrived (or `limit` passed); the last counters.
fn drain(receiver: &str, expected: f64, limit: Duration) -> Result<Arrivals> {
    let started = Instant::now();
    loop {
        let stats = Arrivals::read(receiver)?;
        if stats.get("deliveries") >= expected || started.elapsed() > limit {
            return Ok(stats);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn ticks(pids: &[u32]) -> u64 {
    pids.iter().map(|p| cpu_ticks(*p)).sum()
}

/// A project's number of events (the event log's total).
fn events_of(base: &str, key: &str, project: &str) -> Result<f64> {
    let body = curl(&[
        "-sf",
        &format!("{base}/api/v1/projects/{project}/events?per_page=1"),
        "-H",
        &format!("Authorization: Bearer {key}"),
    ])?;
    let value: serde_json::Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
    value["pagination"]["total"].as_f64().ok_or_else(|| format!("no pagination.total in {body}"))
}

fn events_total(base: &str, key: &str, projects: &[String]) -> Result<f64> {
    projects.iter().map(|p| events_of(base, key, p)).sum()
}

fn create_project(base: &str, key: &str, name: &str) -> Result<String> {
    json_field(&post(base, key, "/projects", &serde_json::json!({ "name": name }).to_string())?, "id")
}

fn create_webhooks(base: &str, key: &str, project: &str, receiver: &str, n: usize, first: usize) -> Result {
    for i in first..first + n {
        let body = serde_json::json!({"url": format!("{receiver}/hook/{i}"), "events": ["project.updated"]});
        post(base, key, &format!("/projects/{project}/webhooks"), &body.to_string())?;
    }
    Ok(())
}

/// A wrk script PATCHing the projects in turn (one `project.updated` event each).
fn patch_script(projects: &[String]) -> Result<std::path::PathBuf> {
    let paths: Vec<String> = projects.iter().map(|p| format!("\"/api/v1/projects/{p}\"")).collect();
    let path = std::env::temp_dir().join(format!("tengine-bench-patch-{}.lua", projects.len()));
    std::fs::write(
        &path,
        format!(
            "wrk.headers[\"Content-Type\"] = \"application/json\"\npaths = {{{}}}\ncounter = 0\n\
             request = function()\n  counter = counter + 1\n  \
             return wrk.format(\"PATCH\", paths[(counter % #paths) + 1], nil, '{{\"name\":\"n' .. counter .. '\"}}')\nend\n",
            paths.join(", ")
        ),
    )
    .map_err(|e| e.to_string())?;
    Ok(path)
}

/// Events from wrk for `seconds`, then the drain.
#[allow(clippy::too_many_arguments)]
fn live_phase(
    phase: &str,
    server: &Server,
    key: &str,
    receiver: &str,
    projects: &[String],
    hooks_per_event: f64,
    writers: u32,
    seconds: u32,
) -> Result<Row> {
    curl(&["-sf", "-X", "POST", &format!("{receiver}/reset")])?;
    let script = patch_script(projects)?;
    let before = events_total(&server.base, key, projects)?;
    let (cpu0, pg0) = (cpu_ticks(server.pid()), postgres_ticks());
    let load = wrk_script(&format!("{}/api/v1/projects/{}", server.base, projects[0]), key, writers, seconds, &script)?;
    if load.non_2xx > 0 {
        return Err(format!("{} PATCHes were refused during the webhooks bench", load.non_2xx));
    }
    let at_end = Arrivals::read(receiver)?.get("deliveries");
    let ended = Instant::now();
    // Writes wrk cut off still run to their end (and make their events): count again
    // after the drain until the count holds.
    let mut events = events_total(&server.base, key, projects)? - before;
    let backlog = (events * hooks_per_event - at_end).max(0.0);
    let stats = loop {
        let stats = drain(receiver, events * hooks_per_event, Duration::from_secs(120))?;
        let now = events_total(&server.base, key, projects)? - before;
        if now == events || ended.elapsed() > Duration::from_secs(120) {
            break stats;
        }
        events = now;
    };
    let drain_s = ended.elapsed().as_secs_f64();
    let (cpu, pg) = (cpu_ticks(server.pid()) - cpu0, postgres_ticks() - pg0);
    let delivered = stats.get("deliveries");
    Ok(Row {
        phase: phase.to_owned(),
        events,
        delivered,
        duplicates: stats.get("duplicates"),
        rate: delivered / stats.get("span_seconds").max(0.001),
        p50_ms: stats.get("p50_ms"),
        p99_ms: stats.get("p99_ms"),
        server_ms: cpu as f64 * TICK_MS / delivered.max(1.0),
        postgres_ms: pg as f64 * TICK_MS / delivered.max(1.0),
        backlog,
        drain_s,
    })
}

/// Events made by `writers` wrk PATCHes for `seconds` on an API-only instance (no
/// delivery worker anywhere): what creating an event costs, apart from delivering it.
/// A row of the creation table.
fn creation_phase(
    server: &Server,
    key: &str,
    label: &str,
    projects: &[String],
    writers: u32,
    seconds: u32,
) -> Result<String> {
    let script = patch_script(projects)?;
    let before = events_total(&server.base, key, projects)?;
    let (cpu0, pg0) = (cpu_ticks(server.pid()), postgres_ticks());
    let load = wrk_script(&format!("{}/api/v1/projects/{}", server.base, projects[0]), key, writers, seconds, &script)?;
    let (cpu, pg) = (cpu_ticks(server.pid()) - cpu0, postgres_ticks() - pg0);
    if load.non_2xx > 0 {
        return Err(format!("{} PATCHes were refused during the webhooks bench", load.non_2xx));
    }
    let events = events_total(&server.base, key, projects)? - before;
    Ok(format!(
        "| {label} | {writers} | {events:.0} | {:.0} | {:.2} | {:.2} | {:.3} | {:.3} |\n",
        events / f64::from(seconds),
        load.p50_ms,
        load.p99_ms,
        cpu as f64 * TICK_MS / events.max(1.0),
        pg as f64 * TICK_MS / events.max(1.0),
    ))
}

/// Due deliveries written with no server up, drained by `instances` new instances.
#[allow(clippy::too_many_arguments)]
fn engine_phase(
    bin: &Path,
    seeder: &Path,
    db: &str,
    account: &str,
    project: &str,
    hooks: u64,
    instances: usize,
    receiver: &str,
) -> Result<Row> {
    let seeded = run(Command::new(seeder).args([
        "seed-events",
        "--database-url",
        db,
        "--account",
        account,
        "--project",
        project,
        "--count",
        &(ENGINE_DELIVERIES / hooks).to_string(),
    ]))?;
    let expected = num(&seeded, "deliveries");
    curl(&["-sf", "-X", "POST", &format!("{receiver}/reset")])?;
    let pg0 = postgres_ticks();
    let started = Instant::now();
    let servers: Vec<Server> = (0..instances).map(|_| Server::start(bin, db, &[])).collect::<Result<_>>()?;
    let pids: Vec<u32> = servers.iter().map(Server::pid).collect();
    let stats = drain(receiver, expected, Duration::from_secs(300))?;
    let drain_s = started.elapsed().as_secs_f64();
    let (cpu, pg) = (ticks(&pids), postgres_ticks() - pg0);
    drop(servers);
    let delivered = stats.get("deliveries");
    Ok(Row {
        phase: format!("engine: {hooks} webhooks, {instances} instance{}", if instances > 1 { "s" } else { "" }),
        events: expected / hooks as f64,
        delivered,
        duplicates: stats.get("duplicates"),
        rate: delivered / stats.get("span_seconds").max(0.001),
        p50_ms: f64::NAN,
        p99_ms: f64::NAN,
        server_ms: cpu as f64 * TICK_MS / delivered.max(1.0),
        postgres_ms: pg as f64 * TICK_MS / delivered.max(1.0),
        backlog: expected,
        drain_s,
    })
}

/// The webhooks bench on a database of its own.
pub(crate) fn webhooks_bench(bin: &Path, seeder: &Path) -> Result<String> {
    let (db_name, db) = fresh_database()?;
    let result = phases(bin, seeder, &db);
    drop_database(&db_name);
    result
}

fn phases(bin: &Path, seeder: &Path, db: &str) -> Result<String> {
    let receiver =
        spawn_helper(seeder, &["receiver"], "the receiver", |base| http_get(&format!("{base}/stats")).is_ok())?;
    let rx = receiver.1.clone();
    let server = Server::start(bin, db, &[])?;
    let made = run(Command::new(bin)
        .args(["accounts", "create", "--name", "webhooks", "--plan", "enterprise", "--limit", "1000000000"])
        .env("DATABASE_URL", db)
        .env("TENGINE_SECRET_KEY", BENCH_SECRET_KEY))?;
    let (account, key) = (json_field(&made, "account_id")?, json_field(&made, "key")?);
    let base = server.base.clone();
    let live = vec![create_project(&base, &key, "live")?];
    let many: Vec<String> =
        (0..16).map(|i| create_project(&base, &key, &format!("many {i}"))).collect::<Result<_>>()?;
    let engine: Vec<(u64, String)> = [10u64, 100]
        .iter()
        .map(|h| Ok((*h, create_project(&base, &key, &format!("engine {h}"))?)))
        .collect::<Result<_>>()?;
    let mut rows = String::new();
    let mut hook = 0;
    for (hooks, writers, seconds) in [(1usize, 1u32, 5u32), (1, 16, 10), (10, 1, 5), (10, 16, 10)] {
        if hook < hooks {
            create_webhooks(&base, &key, &live[0], &rx, hooks - hook, hook)?;
            hook = hooks;
        }
        let phase =
            format!("{hooks} webhook{}, {writers} writer{}, one project", plural(hooks), plural(writers as usize));
        rows.push_str(&live_phase(&phase, &server, &key, &rx, &live, hooks as f64, writers, seconds)?.line());
    }
    for (i, project) in many.iter().enumerate() {
        create_webhooks(&base, &key, project, &rx, 1, 100 + i)?;
    }
    rows.push_str(
        &live_phase("16 projects with a webhook each, 16 writers", &server, &key, &rx, &many, 1.0, 16, 10)?.line(),
    );
    for (hooks, project) in &engine {
        create_webhooks(&base, &key, project, &rx, usize::try_from(*hooks).map_err(|e| e.to_string())?, 200)?;
    }
    drop(server);
    for (hooks, project) in &engine {
        for instances in [1, 2] {
            rows.push_str(&engine_phase(bin, seeder, db, &account, project, *hooks, instances, &rx)?.line());
        }
    }
    // Last: the deliveries these events make are never sent.
    let api_only = Server::start(bin, db, &[("TENGINE_WEBHOOK_CONCURRENCY", "0")])?;
    let mut creation = String::new();
    for writers in [1, 16] {
        creation.push_str(&creation_phase(&api_only, &key, "10 webhooks", &live, writers, 5)?);
    }
    // Then a project with one webhook in an account with many more elsewhere: an event's
    // cost should follow its project's webhooks, not the account's.
    let wide = vec![create_project(&api_only.base, &key, "wide")?];
    create_webhooks(&api_only.base, &key, &wide[0], &rx, 1, 300)?;
    for i in 0..WIDE_PROJECTS {
        let other = create_project(&api_only.base, &key, &format!("elsewhere {i}"))?;
        create_webhooks(&api_only.base, &key, &other, &rx, WIDE_HOOKS, 400 + WIDE_HOOKS * i)?;
    }
    let wide_label = format!("1 webhook, {} more on other projects", WIDE_PROJECTS * WIDE_HOOKS);
    for writers in [1, 16] {
        creation.push_str(&creation_phase(&api_only, &key, &wide_label, &wide, writers, 5)?);
    }
    drop(api_only);
    Ok(format!(
        "\nWebhooks: project.updated events made by wrk PATCHes (live phases) or written with no server up \
         (engine phases: {ENGINE_DELIVERIES} due deliveries), delivered to a loopback receiver\n\
         | phase | events | deliveries | duplicates | deliveries/s | p50 ms | p99 ms | server CPU ms/delivery | PostgreSQL CPU ms/delivery | backlog at end | drain s |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n{rows}\
         (Live: CPU includes the API requests that made the events; latency is event created_at to arrival; \
         backlog is events x webhooks not yet delivered when wrk stopped; drain s from then until the last arrival. \
         Engine: server CPU is every instance's from its start, backlog the deliveries written before it, drain s \
         from the first instance's start.)\n\n\
         Creating events: project.updated by wrk PATCHes of one project (its webhooks in the first column), on an \
         instance with TENGINE_WEBHOOK_CONCURRENCY=0 and no other instance (nothing is sent; each event writes a \
         delivery for each of its project's webhooks)\n\
         | project | writers | events | events/s | PATCH p50 ms | PATCH p99 ms | server CPU ms/event | PostgreSQL CPU ms/event |\n\
         |---|---|---|---|---|---|---|---|\n{creation}"
    ))
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
