//! `cargo xtask bench growth`: how the cost of each operation grows with the data, on
//! both backends. For 10³, 10⁴, 10⁵ and 10⁶ rows (projects in the account, hourly usage
//! rows, and keys, events, deliveries of one project and webhooks of another), a fresh
//! database is seeded through the storage adapter, then wrk measures: get by id, list
//! page 1, a deep page in the middle of the list by number and by cursor, page 1 of the
//! other four lists, create, and analytics over 30 days; each against the baseline (axum
//! plus one primary-key SELECT on PostgreSQL's database of the same size), measured in
//! turns with the scenario so that a machine that slows down or speeds up mid-run moves
//! both sides of a ratio. The curves are printed, written to `target/bench/growth.json`,
//! and drawn to `target/bench/growth.png`.

use std::path::Path;
use std::process::Command;

use crate::bench::{
    chrono_like_days_ago, curl, drop_database, fresh_database, json_field, median, run, start_baseline, target_dir,
    wrk, wrk_script, Baseline, Load, Server, BENCH_SECRET_KEY,
};
use crate::Result;

/// matplotlib for the PNG, pinned, in a venv of its own under the target directory.
const MATPLOTLIB: &str = "3.9.2";

/// Rows per point; `TENGINE_BENCH_GROWTH_ROWS=1000,10000` measures others (a quick look).
fn sizes() -> Vec<u64> {
    std::env::var("TENGINE_BENCH_GROWTH_ROWS")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .filter(|v: &Vec<u64>| !v.is_empty())
        .unwrap_or_else(|| vec![1_000, 10_000, 100_000, 1_000_000])
}

/// One measured point.
struct Point {
    backend: &'static str,
    rows: u64,
    scenario: &'static str,
    load: Load,
    baseline: Load,
}

/// Runs the growth curves; returns the report's text.
pub fn growth_bench(bin: &Path, seeder: &Path) -> Result<String> {
    let mut points = Vec::new();
    let mut seeding = String::new();
    for rows in sizes() {
        // PostgreSQL's database of this size stays until SQLite's points are measured too:
        // the baseline runs on it, in turns with every scenario of both backends.
        let (pg_name, pg_db) = fresh_database()?;
        let path = target_dir().join(format!("bench/growth-{rows}.db"));
        let remove_sqlite = || {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        };
        remove_sqlite();
        let sqlite_db = format!("sqlite://{}?mode=rwc", path.display());
        let mut baseline = None;
        let result = [("postgres", pg_db.as_str()), ("sqlite", sqlite_db.as_str())].into_iter().try_for_each(
            |(backend, db)| -> Result<()> {
                let (seeded, mut measured) = measure(bin, seeder, backend, rows, db, &mut baseline)?;
                seeding.push_str(&format!("{backend} {rows}: {}\n", seeded.trim()));
                points.append(&mut measured);
                Ok(())
            },
        );
        drop(baseline);
        drop_database(&pg_name);
        remove_sqlite();
        result?;
    }
    let report = report(&points, &seeding);
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let json: Vec<serde_json::Value> = points
        .iter()
        .map(|p| {
            serde_json::json!({
                "backend": p.backend, "rows": p.rows, "scenario": p.scenario,
                "rps": p.load.rps, "p50_ms": p.load.p50_ms, "p99_ms": p.load.p99_ms, "non_2xx": p.load.non_2xx,
                "baseline_rps": p.baseline.rps, "baseline_p99_ms": p.baseline.p99_ms,
            })
        })
        .collect();
    let data = dir.join("growth.json");
    std::fs::write(&data, serde_json::to_string_pretty(&json).map_err(|e| e.to_string())? + "\n")
        .map_err(|e| e.to_string())?;
    let png = dir.join("growth.png");
    match plot(&data, &png) {
        Ok(()) => Ok(format!("{report}\ncurves: {}\n", png.display())),
        Err(e) => Ok(format!("{report}\ncurves: not drawn ({e}); data in {}\n", data.display())),
    }
}

/// The baseline server on PostgreSQL's database of one size, and the URL it is measured at.
struct Yardstick {
    _server: Baseline,
    url: String,
}

/// Seeds one database and measures every scenario on it, in turns with the baseline.
/// PostgreSQL comes first at each size and starts the baseline on its database.
fn measure(
    bin: &Path,
    seeder: &Path,
    backend: &'static str,
    rows: u64,
    db: &str,
    baseline: &mut Option<Yardstick>,
) -> Result<(String, Vec<Point>)> {
    let made = run(Command::new(bin)
        .args(["accounts", "create", "--name", "growth", "--plan", "enterprise", "--limit", "1000000000"])
        .env("DATABASE_URL", db)
        .env("TENGINE_SECRET_KEY", BENCH_SECRET_KEY))?;
    let (account, key) = (json_field(&made, "account_id")?, json_field(&made, "key")?);
    let hooks = run(Command::new(bin)
        .args(["accounts", "create", "--name", "hooks", "--plan", "enterprise", "--limit", "1000000000"])
        .env("DATABASE_URL", db)
        .env("TENGINE_SECRET_KEY", BENCH_SECRET_KEY))?;
    let (hooks_account, hooks_key) = (json_field(&hooks, "account_id")?, json_field(&hooks, "key")?);
    let seeded = run(Command::new(seeder).args([
        "seed-growth",
        "--database-url",
        db,
        "--account",
        &account,
        "--hooks-account",
        &hooks_account,
        "--rows",
        &rows.to_string(),
    ]))?;
    let measured = json_field(&seeded, "measured_project")?;
    let (hook, hooks_project) = (json_field(&seeded, "measured_webhook")?, json_field(&seeded, "hooks_project")?);
    let server = Server::start(bin, db, &[])?;
    if backend == "postgres" {
        let server = start_baseline(seeder, db, &measured)?;
        let url = format!("{}/api/v1/projects/{measured}", server.1);
        let _ = wrk(&url, "none", 64, 1)?;
        *baseline = Some(Yardstick { _server: server, url });
    }
    let yardstick = &baseline.as_ref().ok_or("the baseline starts with PostgreSQL's database")?.url;
    let api = format!("{}/api/v1", server.base);
    let middle = (rows / 2 / 20).max(1);
    let page = curl(&["-sf", &format!("{api}/projects?page={middle}&per_page=20"), "-H", &auth(&key)])?;
    let value: serde_json::Value = serde_json::from_str(&page).map_err(|e| e.to_string())?;
    let cursor = value["data"][0]["id"].as_str().ok_or("the middle page is empty")?.to_owned();
    let post_lua = std::env::temp_dir().join("tengine-growth-post.lua");
    std::fs::write(
        &post_lua,
        "wrk.method = \"POST\"\nwrk.body = '{\"name\":\"growth\"}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n",
    )
    .map_err(|e| e.to_string())?;
    let scenarios: [(&'static str, String, &str); 10] = [
        ("get", format!("{api}/projects/{measured}"), &key),
        ("list page 1", format!("{api}/projects?per_page=20"), &key),
        ("deep page (middle)", format!("{api}/projects?page={middle}&per_page=20"), &key),
        ("deep cursor (middle)", format!("{api}/projects?starting_after={cursor}&per_page=20"), &key),
        ("keys page 1", format!("{api}/projects/{measured}/api-keys?per_page=20"), &key),
        ("events page 1", format!("{api}/projects/{measured}/events?per_page=20"), &key),
        ("deliveries page 1", format!("{api}/projects/{measured}/webhooks/{hook}/deliveries?per_page=20"), &key),
        ("webhooks page 1", format!("{api}/projects/{hooks_project}/webhooks?per_page=20"), &hooks_key),
        (
            "analytics 30 d",
            format!("{api}/projects/{measured}/analytics?granularity=hour&start_date={}", chrono_like_days_ago(30)),
            &key,
        ),
        // Last: it adds rows.
        ("create", format!("{api}/projects"), &key),
    ];
    let mut points = Vec::new();
    for (scenario, url, key) in scenarios {
        let script = (scenario == "create").then_some(post_lua.as_path());
        let once = |seconds| match script {
            Some(s) => wrk_script(&url, key, 64, seconds, s),
            None => wrk(&url, key, 64, seconds),
        };
        let _ = once(1)?;
        let (mut runs, mut base_runs) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            base_runs.push(wrk(yardstick, "none", 64, 2)?);
            runs.push(once(3)?);
        }
        let (load, baseline) = (medians(&runs), medians(&base_runs));
        // A refused answer is fast: a baseline with any would flatter every ratio.
        if baseline.non_2xx > 0 {
            return Err(format!("the baseline answered {} non-2xx during {scenario}", baseline.non_2xx));
        }
        // As it goes, so a run cut short still shows what it measured.
        eprintln!(
            "growth: {backend} {rows} rows, {scenario}: {:.0} req/s ({:.2}), p99 {:.2} ms, {} non-2xx",
            load.rps,
            load.rps / baseline.rps,
            load.p99_ms,
            load.non_2xx
        );
        points.push(Point { backend, rows, scenario, load, baseline });
    }
    drop(server);
    Ok((seeded, points))
}

fn auth(key: &str) -> String {
    format!("Authorization: Bearer {key}")
}

/// The median of each figure of `runs`; their non-2xx answers summed.
fn medians(runs: &[Load]) -> Load {
    let m = |f: fn(&Load) -> f64| median(runs.iter().map(f).collect());
    Load {
        rps: m(|l| l.rps),
        p50_ms: m(|l| l.p50_ms),
        p99_ms: m(|l| l.p99_ms),
        non_2xx: runs.iter().map(|l| l.non_2xx).sum(),
    }
}

/// The tables: per backend, each scenario's req/s (ratio to the baseline) and p99 by size.
fn report(points: &[Point], seeding: &str) -> String {
    let mut out = String::from(
        "\nGrowth curves: 64 connections, wrk, medians of 3 x 3 s; ratio = req/s / the baseline's req/s, \
         measured in turns with the scenario (3 x 2 s) on PostgreSQL's database of the same size\n",
    );
    out.push_str(&format!("seeding:\n{seeding}"));
    for backend in ["postgres", "sqlite"] {
        let mine: Vec<&Point> = points.iter().filter(|p| p.backend == backend).collect();
        let mut sizes: Vec<u64> = mine.iter().map(|p| p.rows).collect();
        sizes.dedup();
        out.push_str(&format!("\n{backend}\n| scenario |"));
        for s in &sizes {
            out.push_str(&format!(" {s} rows: req/s (ratio) | p99 ms |"));
        }
        out.push_str("\n|---|");
        out.push_str(&"---|---|".repeat(sizes.len()));
        out.push('\n');
        let mut seen = Vec::new();
        for scenario in mine.iter().map(|p| p.scenario) {
            if seen.contains(&scenario) {
                continue;
            }
            seen.push(scenario);
            out.push_str(&format!("| {scenario} |"));
            for s in &sizes {
                match mine.iter().find(|p| p.rows == *s && p.scenario == scenario) {
                    // Refused answers are fast: a cell with any is not a measurement of the operation.
                    Some(p) if p.load.non_2xx > 0 => out.push_str(&format!(
                        " {:.0} ({:.2}), {} non-2xx | {:.2} |",
                        p.load.rps,
                        p.load.rps / p.baseline.rps,
                        p.load.non_2xx,
                        p.load.p99_ms
                    )),
                    Some(p) => out.push_str(&format!(
                        " {:.0} ({:.2}) | {:.2} |",
                        p.load.rps,
                        p.load.rps / p.baseline.rps,
                        p.load.p99_ms
                    )),
                    None => out.push_str(" | |"),
                }
            }
            out.push('\n');
        }
        // Each ratio has its own turns of the baseline; this row is their median.
        let mut base = String::from("| baseline (GET by id, PostgreSQL; median of the turns) |");
        for s in &sizes {
            let at: Vec<&Point> = mine.iter().copied().filter(|p| p.rows == *s).collect();
            let rps = median(at.iter().map(|p| p.baseline.rps).collect());
            let p99 = median(at.iter().map(|p| p.baseline.p99_ms).collect());
            base.push_str(&format!(" {rps:.0} | {p99:.2} |"));
        }
        out.push_str(&base);
        out.push('\n');
        let errors: u64 = mine.iter().map(|p| p.load.non_2xx).sum();
        out.push_str(&format!("non-2xx answers in all of {backend}'s runs: {errors}\n"));
    }
    out
}

/// Draws `data` into `png` with matplotlib (installed, pinned, on first use).
fn plot(data: &Path, png: &Path) -> Result<()> {
    let venv = target_dir().join("bench-venv");
    let python = venv.join("bin/python");
    let ready = Command::new(&python)
        .args(["-c", &format!("import matplotlib; assert matplotlib.__version__ == '{MATPLOTLIB}'")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        eprintln!("xtask: installing matplotlib {MATPLOTLIB} into {}", venv.display());
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        run(Command::new(venv.join("bin/pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            &format!("matplotlib=={MATPLOTLIB}"),
        ]))?;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/plot_growth.py");
    run(Command::new(&python).arg(script).arg(data).arg(png)).map(|_| ())
}
