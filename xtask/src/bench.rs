//! `cargo xtask bench`: release builds, a fresh PostgreSQL database, real servers and
//! wrk on loopback. Every comparison is made within one run (A B A B rounds), since the
//! machine is noisy; results are printed as a table and written to `target/bench/`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::{listening, Result};

/// A fixed, valid key for the bootstrap admin (benchmarks only).
const ADMIN_KEY: &str = "tng_00000000000000000000000000000000000000002XzGTS";

pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from)
}

/// A command for error messages, with any bearer key masked.
fn describe(cmd: &Command) -> String {
    let args = cmd.get_args().map(|a| {
        let a = a.to_string_lossy();
        if a.contains("Bearer ") {
            "Authorization: Bearer ***".to_owned()
        } else {
            a.into_owned()
        }
    });
    std::iter::once(cmd.get_program().to_string_lossy().into_owned()).chain(args).collect::<Vec<_>>().join(" ")
}

pub(crate) fn run(cmd: &mut Command) -> Result<String> {
    let out = cmd.stderr(Stdio::inherit()).output().map_err(|e| format!("{}: {e}", describe(cmd)))?;
    if !out.status.success() {
        return Err(format!("{} failed: {}", describe(cmd), out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The server key every bench instance shares (PostgreSQL requires one).
pub(crate) const BENCH_SECRET_KEY: &str = "YmVuY2gtb25seSBzZXJ2ZXIga2V5LCBub3Qgc2VjcmU=";

/// Where bench servers write their warnings: `target/bench/servers.log`, appended.
fn server_log() -> Stdio {
    let dir = target_dir().join("bench");
    let _ = std::fs::create_dir_all(&dir);
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("servers.log"))
        .map_or_else(|_| Stdio::null(), Stdio::from)
}

/// A running `tengine serve`, killed on drop.
pub(crate) struct Server {
    child: Child,
    pub(crate) base: String,
}

impl Server {
    pub(crate) fn start(bin: &Path, db: &str, extra: &[(&str, &str)]) -> Result<Self> {
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .env("DATABASE_URL", db)
            .env("TENGINE_SECRET_KEY", BENCH_SECRET_KEY)
            .env("TENGINE_LISTEN", "127.0.0.1:0")
            .env("TENGINE_BOOTSTRAP_KEY", ADMIN_KEY)
            .env("TENGINE_LOG", "warn")
            // Every instance on the bench database runs a delivery worker; all must be
            // allowed to reach the loopback receiver.
            .env("TENGINE_WEBHOOK_ALLOW_PRIVATE", "true")
            .stdout(Stdio::piped())
            .stderr(server_log());
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let child = cmd.spawn().map_err(|e| format!("could not start tengine: {e}"))?;
        let mut server = Self { child, base: String::new() };
        let addr = listening::address(&mut server.child, listening::TENGINE, Duration::from_secs(30))?;
        server.base = format!("http://{addr}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if curl(&["-sf", &format!("{}/readyz", server.base)]).is_ok() {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err("tengine did not become healthy".into())
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

pub(crate) fn curl(args: &[&str]) -> Result<String> {
    run(Command::new("curl").args(args))
}

/// A string field of a JSON object answer.
pub(crate) fn json_field(body: &str, field: &str) -> Result<String> {
    let value: serde_json::Value = serde_json::from_str(body).map_err(|e| format!("{e}: {body}"))?;
    value[field].as_str().map(str::to_owned).ok_or_else(|| format!("no {field} in {body}"))
}

/// `x` rounded to `digits` decimals, so the JSON report stays readable.
fn round(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

/// POSTs JSON; an answer other than 2xx is an error that quotes it.
pub(crate) fn post(base: &str, key: &str, path: &str, body: &str) -> Result<String> {
    let answer = curl(&[
        "-s",
        "-w",
        "\n%{http_code}",
        "-X",
        "POST",
        &format!("{base}/api/v1{path}"),
        "-H",
        &format!("Authorization: Bearer {key}"),
        "-H",
        "Content-Type: application/json",
        "-d",
        body,
    ])?;
    let (text, status) = answer.rsplit_once('\n').unwrap_or((&answer, ""));
    if status.starts_with('2') {
        Ok(text.to_owned())
    } else {
        Err(format!("POST {path} answered {status}: {text}"))
    }
}

/// One wrk measurement.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Load {
    pub(crate) rps: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) non_2xx: u64,
}

fn parse_ms(v: &str) -> f64 {
    let v = v.trim();
    let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
    let n: f64 = num.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1_000.0,
        "ms" => n,
        "s" => n * 1_000.0,
        _ => n,
    }
}

pub(crate) fn wrk(url: &str, key: &str, connections: u32, seconds: u32) -> Result<Load> {
    wrk_with(url, key, connections, seconds, None)
}

pub(crate) fn wrk_script(url: &str, key: &str, connections: u32, seconds: u32, script: &Path) -> Result<Load> {
    wrk_with(url, key, connections, seconds, Some(script))
}

/// Runs wrk (optionally with a Lua script) and reads its summary.
fn wrk_with(url: &str, key: &str, connections: u32, seconds: u32, script: Option<&Path>) -> Result<Load> {
    let threads = connections.clamp(1, 2);
    let mut args =
        vec![format!("-t{threads}"), format!("-c{connections}"), format!("-d{seconds}s"), "--latency".to_owned()];
    if let Some(s) = script {
        args.extend(["-s".to_owned(), s.to_string_lossy().into_owned()]);
    }
    args.extend(["-H".to_owned(), format!("Authorization: Bearer {key}"), url.to_owned()]);
    let out = run(Command::new("wrk").args(&args))?;
    let mut load = Load::default();
    for line in out.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("Requests/sec:") {
            load.rps = v.trim().parse().unwrap_or(0.0);
        } else if let Some(v) = line.strip_prefix("50%") {
            load.p50_ms = parse_ms(v);
        } else if let Some(v) = line.strip_prefix("99%") {
            load.p99_ms = parse_ms(v);
        } else if let Some(v) = line.strip_prefix("Non-2xx or 3xx responses:") {
            load.non_2xx = v.trim().parse().unwrap_or(0);
        }
    }
    Ok(load)
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

pub(crate) fn cpu_ticks(pid: u32) -> u64 {
    let (user, system) = user_and_system_ticks(pid);
    user + system
}

/// A process's user and system CPU time so far, in clock ticks (0 when it is gone).
fn user_and_system_ticks(pid: u32) -> (u64, u64) {
    let mut s = String::new();
    if std::fs::File::open(format!("/proc/{pid}/stat")).and_then(|mut f| f.read_to_string(&mut s)).is_err() {
        return (0, 0);
    }
    let fields: Vec<&str> = s.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0);
    (field(11), field(12))
}

pub(crate) fn fresh_database() -> Result<(String, String)> {
    // Nanoseconds: the growth and memory phases make several databases a second.
    let name = format!(
        "tengine_bench_{}",
        SystemTime::now().duration_since(UNIX_EPOCH).map_err(|e| e.to_string())?.as_nanos()
    );
    run(Command::new("psql").args(["-h", "127.0.0.1", "-U", "postgres", "-qc", &format!("CREATE DATABASE {name}")]))?;
    Ok((name.clone(), format!("postgres://postgres@127.0.0.1:5432/{name}")))
}

pub(crate) fn drop_database(name: &str) {
    let _ = run(Command::new("psql").args([
        "-h",
        "127.0.0.1",
        "-U",
        "postgres",
        "-qc",
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    ]));
}

/// Runs the benchmarks named in `args` (`perf`, `usage`, `analytics`, `webhooks`,
/// `mcp`, `console`, `growth`, `memory`; default all).
pub fn bench(args: &[String]) -> Result {
    crate::ensure_postgres()?;
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("xtask: installing wrk");
        run(Command::new("apt-get").args(["install", "-y", "-qq", "wrk"]))?;
    }
    crate::cargo(&["build", "--release", "-p", "tengine-app", "-p", "tengine-bench"])?;
    // Another build of the server (say, the commit before a change) for an A/B run, and
    // of the seeder when the change moves the schema (it migrates what it seeds).
    let bin = std::env::var_os("TENGINE_BENCH_BIN").map_or_else(|| target_dir().join("release/tengine"), PathBuf::from);
    let seeder = std::env::var_os("TENGINE_BENCH_SEEDER")
        .map_or_else(|| target_dir().join("release/tengine-bench"), PathBuf::from);
    let which: Vec<&str> = if args.is_empty() {
        vec!["perf", "usage", "analytics", "webhooks", "mcp", "console", "growth", "memory"]
    } else {
        args.iter().map(String::as_str).collect()
    };
    let (db_name, db) = fresh_database()?;
    let result = (|| -> Result<String> {
        let mut report = String::new();
        if which.contains(&"growth") {
            // Databases of its own, one per backend and size.
            let text = crate::growth::growth_bench(&bin, &seeder)?;
            println!("{text}");
            report.push_str(&text);
        }
        if which.contains(&"memory") {
            let text = crate::memory::memory_bench(&bin, &seeder)?;
            println!("{text}");
            report.push_str(&text);
        }
        let metered = Server::start(&bin, &db, &[])?;
        let unmetered = Server::start(&bin, &db, &[("TENGINE_METERING", "false")])?;
        // An account with a limit far above the load, so limiting is on but never refuses.
        let made = run(Command::new(&bin)
            .args(["accounts", "create", "--name", "bench", "--plan", "enterprise", "--limit", "1000000000"])
            .env("DATABASE_URL", &db)
            .env("TENGINE_SECRET_KEY", BENCH_SECRET_KEY))?;
        let (account, key) = (json_field(&made, "account_id")?, json_field(&made, "key")?);
        let project = json_field(&post(&metered.base, &key, "/projects", r#"{"name":"bench"}"#)?, "id")?;
        let mut section = |text: String| {
            println!("{text}");
            report.push_str(&text);
        };
        if which.contains(&"perf") {
            // POSTs go to an account of their own, so the projects they make do not
            // lengthen the list that the page scenario counts.
            let writer = run(Command::new(&bin)
                .args(["accounts", "create", "--name", "bench-writes", "--plan", "enterprise", "--limit", "1000000000"])
                .env("DATABASE_URL", &db)
                .env("TENGINE_SECRET_KEY", BENCH_SECRET_KEY))?;
            let write_key = json_field(&writer, "key")?;
            section(perf_bench(&seeder, &db, &metered, &key, &write_key, &account, &project)?);
        }
        if which.contains(&"webhooks") {
            section(crate::webhooks::webhooks_bench(&bin, &seeder)?);
        }
        if which.contains(&"usage") {
            section(usage_bench(&metered, &unmetered, &key, &project)?);
        }
        if which.contains(&"analytics") {
            section(analytics_bench(&metered, &seeder, &db, &key, &account, &project)?);
        }
        if which.contains(&"mcp") {
            section(mcp_bench(&bin, &seeder, &db, &key, &project)?);
        }
        if which.contains(&"console") {
            section(console_bench(&bin, &seeder, &db, &metered)?);
        }
        Ok(report)
    })();
    drop_database(&db_name);
    let report = result?;
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|e| e.to_string())?.as_secs();
    std::fs::write(dir.join(format!("bench-{stamp}.txt")), &report).map_err(|e| e.to_string())?;
    Ok(())
}

pub(crate) fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

/// A running baseline server, killed on drop.
pub(crate) struct Baseline(pub(crate) Child, pub(crate) String);

impl Drop for Baseline {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the baseline server on `db` and waits until it answers for `project`.
pub(crate) fn start_baseline(seeder: &Path, db: &str, project: &str) -> Result<Baseline> {
    spawn_helper(seeder, &["baseline", "--database-url", db], "the baseline server", |base| {
        curl(&["-sf", &format!("{base}/api/v1/projects/{project}")]).is_ok()
    })
}

/// Starts one of the seeder's helper servers (`args` then `--listen 127.0.0.1:0`) and
/// waits until `ready` says its base URL answers.
pub(crate) fn spawn_helper(seeder: &Path, args: &[&str], what: &str, ready: impl Fn(&str) -> bool) -> Result<Baseline> {
    let child = Command::new(seeder)
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut helper = Baseline(child, String::new());
    helper.1 = format!("http://{}", listening::address(&mut helper.0, listening::BENCH, Duration::from_secs(20))?);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready(&helper.1) {
        if Instant::now() > deadline {
            return Err(format!("{what} did not start"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(helper)
}

/// The hot-path table of docs/PERFORMANCE.md: Tengine against the baseline, in one run.
fn perf_bench(
    seeder: &Path,
    db: &str,
    server: &Server,
    key: &str,
    write_key: &str,
    account: &str,
    project: &str,
) -> Result<String> {
    let seeded = run(Command::new(seeder).args([
        "seed-projects",
        "--database-url",
        db,
        "--account",
        account,
        "--count",
        "10000",
    ]))?;
    let baseline = start_baseline(seeder, db, project)?;
    let revoked = post(
        &server.base,
        key,
        &format!("/projects/{project}/api-keys"),
        r#"{"name":"revoked","permissions":["read"]}"#,
    )?;
    let (revoked_id, revoked_key) = (json_field(&revoked, "id")?, json_field(&revoked, "key")?);
    curl(&[
        "-sf",
        "-X",
        "DELETE",
        &format!("{}/api/v1/projects/{project}/api-keys/{revoked_id}", server.base),
        "-H",
        &format!("Authorization: Bearer {key}"),
    ])?;
    let post_lua = std::env::temp_dir().join("tengine-bench-post.lua");
    std::fs::write(&post_lua, "wrk.method = \"POST\"\nwrk.body = '{\"name\":\"bench\"}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n")
        .map_err(|e| e.to_string())?;
    let rss_idle = rss_kib(server.pid(), "VmRSS:");
    let by_id = format!("{}/api/v1/projects/{project}", server.base);
    let base_by_id = format!("{}/api/v1/projects/{project}", baseline.1);
    let mut rows = String::new();
    let mut cpu_rows = String::new();
    let mut json = Vec::new();
    let rounds = 3;
    // Nine: on two cores a round now and then catches a scheduling stall of 40-70 ms on
    // either side, which sets that round's p99 alone; a median of nine moves only when
    // five rounds of one side stall, a median of five when three did.
    let hot_rounds = 9;
    for conns in [16u32, 64] {
        let _ = wrk(&by_id, key, conns, 2)?;
        let _ = wrk(&base_by_id, key, conns, 2)?;
        let (mut t, mut b) = (Vec::new(), Vec::new());
        // Server CPU per request (user + system) tells the two apart more steadily than
        // throughput on a machine that wrk and PostgreSQL share. User time is shown apart
        // because the two make different system calls (the baseline's pool pings on every
        // release): it is what each one's own code costs.
        let (mut t_cpu, mut b_cpu, mut t_user, mut b_user) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let seconds = 6;
        let per_request_us = |ticks: u64, load: &Load| ticks as f64 * 10_000.0 / (load.rps * f64::from(seconds));
        for _ in 0..hot_rounds {
            for (pid, url, loads, cpu, user) in [
                (server.pid(), &by_id, &mut t, &mut t_cpu, &mut t_user),
                (baseline.0.id(), &base_by_id, &mut b, &mut b_cpu, &mut b_user),
            ] {
                let (u0, s0) = user_and_system_ticks(pid);
                let load = wrk(url, key, conns, seconds)?;
                let (u1, s1) = user_and_system_ticks(pid);
                cpu.push(per_request_us((u1 + s1).saturating_sub(u0 + s0), &load));
                user.push(per_request_us(u1.saturating_sub(u0), &load));
                loads.push(load);
            }
        }
        let m = |v: &[Load], f: fn(&Load) -> f64| median(v.iter().map(f).collect());
        let (tr, br) = (m(&t, |l| l.rps), m(&b, |l| l.rps));
        let (tp99, bp99) = (m(&t, |l| l.p99_ms), m(&b, |l| l.p99_ms));
        let (tc, bc) = (median(t_cpu), median(b_cpu));
        let (tu, bu) = (median(t_user), median(b_user));
        rows.push_str(&format!(
            "| GET /projects/{{id}} | {conns} | {tr:.0} | {:.2} | {tp99:.2} | {br:.0} | {:.2} | {bp99:.2} | {:.3} | {:.2} |\n",
            m(&t, |l| l.p50_ms),
            m(&b, |l| l.p50_ms),
            tr / br,
            tp99 / bp99
        ));
        cpu_rows.push_str(&format!("| {conns} | {tc:.1} | {tu:.1} | {bc:.1} | {bu:.1} | {:.2} |\n", tc / bc));
        json.push(serde_json::json!({
            "scenario": "get_project",
            "connections": conns,
            "rps": round(tr, 1),
            "p99_ms": round(tp99, 3),
            "baseline_rps": round(br, 1),
            "baseline_p99_ms": round(bp99, 3),
            "cpu_us_per_request": round(tc, 1),
            "baseline_cpu_us_per_request": round(bc, 1),
            "user_us_per_request": round(tu, 1),
            "baseline_user_us_per_request": round(bu, 1),
        }));
        let others: [(&str, String, Option<&Path>, &str); 4] = [
            ("GET /projects (page of 20)", format!("{}/api/v1/projects?per_page=20", server.base), None, key),
            ("POST /projects", format!("{}/api/v1/projects", server.base), Some(post_lua.as_path()), write_key),
            (
                "GET .../analytics (30 d hourly)",
                format!(
                    "{}/api/v1/projects/{project}/analytics?granularity=hour&start_date={}",
                    server.base,
                    chrono_like_days_ago(30)
                ),
                None,
                key,
            ),
            ("revoked key (401)", by_id.clone(), None, revoked_key.as_str()),
        ];
        for (name, url, script, k) in others {
            let runs: Vec<Load> = (0..rounds)
                .map(|_| match script {
                    Some(s) => wrk_script(&url, k, conns, 4, s),
                    None => wrk(&url, k, conns, 4),
                })
                .collect::<Result<_>>()?;
            let r = m(&runs, |l| l.rps);
            rows.push_str(&format!(
                "| {name} | {conns} | {r:.0} | {:.2} | {:.2} | | | | {:.3} | |\n",
                m(&runs, |l| l.p50_ms),
                m(&runs, |l| l.p99_ms),
                r / br
            ));
            json.push(serde_json::json!({
                "scenario": name,
                "connections": conns,
                "rps": round(r, 1),
                "p99_ms": round(m(&runs, |l| l.p99_ms), 3),
            }));
        }
    }
    let rss_peak = rss_kib(server.pid(), "VmHWM:");
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let report = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("perf-latest.json"), report + "\n").map_err(|e| e.to_string())?;
    Ok(format!(
        "\nHot path: Tengine against the baseline (axum + one PK SELECT), wrk, medians of {hot_rounds} alternating rounds (GET by id) and {rounds} rounds (others)\n\
         seed: {}\n\
         | scenario | conns | req/s | p50 ms | p99 ms | baseline req/s | baseline p50 | baseline p99 | ratio req/s | ratio p99 |\n\
         |---|---|---|---|---|---|---|---|---|---|\n{rows}\n\
         Server CPU per GET /projects/{{id}} (user + system, from /proc; medians)\n\
         | conns | tengine µs | of it user | baseline µs | of it user | ratio |\n\
         |---|---|---|---|---|---|\n{cpu_rows}\
         tengine RSS idle {:.1} MiB, peak {:.1} MiB\n",
        seeded.trim(),
        rss_idle as f64 / 1024.0,
        rss_peak as f64 / 1024.0
    ))
}

pub(crate) fn postgres_ticks() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0 };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim().starts_with("postgres"))
        })
        .map(cpu_ticks)
        .sum()
}

pub(crate) fn http_get(url: &str) -> Result<String> {
    curl(&["-sf", url])
}

/// A number field of a JSON object answer; NaN when absent.
pub(crate) fn num(body: &str, field: &str) -> f64 {
    serde_json::from_str::<serde_json::Value>(body).ok().and_then(|v| v[field].as_f64()).unwrap_or(f64::NAN)
}

fn usage_bench(metered: &Server, unmetered: &Server, key: &str, project: &str) -> Result<String> {
    let path = format!("/api/v1/projects/{project}");
    let (mut on, mut off) = (Vec::new(), Vec::new());
    let (mut on_lat, mut off_lat) = (Vec::new(), Vec::new());
    let _ = wrk(&format!("{}{path}", metered.base), key, 16, 2)?;
    let _ = wrk(&format!("{}{path}", unmetered.base), key, 16, 2)?;
    for _ in 0..3 {
        let a = wrk(&format!("{}{path}", metered.base), key, 64, 8)?;
        let b = wrk(&format!("{}{path}", unmetered.base), key, 64, 8)?;
        if a.non_2xx + b.non_2xx > 0 {
            return Err(format!("non-2xx responses during the usage bench: {} / {}", a.non_2xx, b.non_2xx));
        }
        on.push(a.rps);
        off.push(b.rps);
        on_lat.push((a.p50_ms, a.p99_ms));
        off_lat.push((b.p50_ms, b.p99_ms));
    }
    let (on_m, off_m) = (median(on.clone()), median(off.clone()));
    let p = |v: &[(f64, f64)], i: usize| median(v.iter().map(|x| if i == 0 { x.0 } else { x.1 }).collect());
    Ok(format!(
        "\nGET /projects/{{id}}, 64 connections, 3 x 8 s rounds alternating (medians)\n\
         | scenario | req/s | p50 ms | p99 ms | rounds req/s |\n|---|---|---|---|---|\n\
         | recording + limiting on | {on_m:.0} | {:.2} | {:.2} | {on:?} |\n\
         | recording + limiting off | {off_m:.0} | {:.2} | {:.2} | {off:?} |\n\
         ratio on/off: {:.3}\n",
        p(&on_lat, 0),
        p(&on_lat, 1),
        p(&off_lat, 0),
        p(&off_lat, 1),
        on_m / off_m
    ))
}

fn analytics_bench(
    server: &Server,
    seeder: &Path,
    db: &str,
    key: &str,
    account: &str,
    project: &str,
) -> Result<String> {
    let rows: u64 = std::env::var("TENGINE_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000_000);
    let url = format!("{}/api/v1/projects/{project}/analytics?granularity=hour&start_date=", server.base);
    let start = chrono_like_days_ago(30);
    let url = format!("{url}{start}");
    let seed = |background: u64| -> Result<String> {
        run(Command::new(seeder).args([
            "seed-usage",
            "--database-url",
            db,
            "--account",
            account,
            "--project",
            project,
            "--background-rows",
            &background.to_string(),
        ]))
    };
    let first = seed(0)?;
    let cpu0 = cpu_ticks(server.pid());
    let small: Vec<Load> = (0..3).map(|_| wrk(&url, key, 4, 5)).collect::<Result<_>>()?;
    let cpu_small = cpu_ticks(server.pid()) - cpu0;
    let seeded = seed(rows)?;
    run(Command::new("psql").args(["-d", db, "-qc", "VACUUM ANALYZE usage_hourly"]))?;
    let big: Vec<Load> = (0..3).map(|_| wrk(&url, key, 4, 5)).collect::<Result<_>>()?;
    let m = |v: &[Load], f: fn(&Load) -> f64| median(v.iter().map(f).collect());
    Ok(format!(
        "\nGET .../analytics, 30 days hourly (720 buckets), 4 connections, 3 x 5 s rounds (medians)\n\
         seed: {} / {}\n\
         | rollup table | req/s | p50 ms | p99 ms |\n|---|---|---|---|\n\
         | measured project only (3,600 rows) | {:.0} | {:.2} | {:.2} |\n\
         | plus {rows} background rows | {:.0} | {:.2} | {:.2} |\n\
         ratio big/small req/s: {:.3} (server CPU ticks for the small rounds: {cpu_small})\n",
        first.trim(),
        seeded.trim(),
        m(&small, |l| l.rps),
        m(&small, |l| l.p50_ms),
        m(&small, |l| l.p99_ms),
        m(&big, |l| l.rps),
        m(&big, |l| l.p50_ms),
        m(&big, |l| l.p99_ms),
        m(&big, |l| l.rps) / m(&small, |l| l.rps),
    ))
}

/// `YYYY-MM-DD` of `days` ago (UTC), without a date crate.
pub(crate) fn chrono_like_days_ago(days: u64) -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) - days * 86_400;
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Tool calls over `/mcp` against a loopback API that answers at once: the latency
/// Tengine adds over calling the API directly with the same client, calls/s, and wrk
/// straight at the API, 64 concurrent sessions, A/B alternating (docs/PERFORMANCE.md).
fn mcp_bench(bin: &Path, seeder: &Path, db: &str, key: &str, project: &str) -> Result<String> {
    const CONNECTIONS: u32 = 64;
    const SECONDS: u32 = 10;
    let child = Command::new(seeder)
        .args(["echo-api", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("could not start the echo API: {e}"))?;
    let mut api = Baseline(child, String::new());
    api.1 = format!("http://{}", listening::address(&mut api.0, listening::BENCH, Duration::from_secs(20))?);
    let server = Server::start(bin, db, &[("TENGINE_TOOLS_ALLOW_PRIVATE", "true")])?;
    let tool = serde_json::json!({
        "name": "bench-echo",
        "description": "Echoes at once.",
        "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
        "base_url": api.1,
        "http_method": "POST",
        "endpoint_path": "/echo",
        "body_template": {"q": "{q}"}
    });
    post(&server.base, key, &format!("/projects/{project}/tools"), &tool.to_string())?;
    let wrk_api = wrk(&format!("{}/echo", api.1), key, CONNECTIONS, SECONDS)?;
    let ticks_before = cpu_ticks(server.pid());
    let out = run(Command::new(seeder).args([
        "mcp-load",
        "--mcp-url",
        &format!("{}/mcp", server.base),
        "--api-url",
        &format!("{}/echo", api.1),
        "--key",
        key,
        "--project",
        project,
        "--tool",
        "bench-echo",
        "--connections",
        &CONNECTIONS.to_string(),
        "--seconds",
        &SECONDS.to_string(),
        "--rounds",
        "2",
    ]))?;
    let ticks = cpu_ticks(server.pid()).saturating_sub(ticks_before);
    let rounds: serde_json::Value = serde_json::from_str(out.trim()).map_err(|e| format!("{e}: {out}"))?;
    let rounds = rounds.as_array().cloned().unwrap_or_default();
    let med = |side: &str, field: &str| median(rounds.iter().filter_map(|r| r[side][field].as_f64()).collect());
    let (d50, d99, m50, m99) =
        (med("direct", "p50_ms"), med("direct", "p99_ms"), med("mcp", "p50_ms"), med("mcp", "p99_ms"));
    let mcp_rps = med("mcp", "calls_per_sec");
    let mcp_calls: f64 = rounds.iter().filter_map(|r| r["mcp"]["calls"].as_f64()).sum();
    let errors: f64 = rounds.iter().filter_map(|r| r["mcp"]["errors"].as_f64()).sum();
    // Clock ticks are 10 ms; the server's CPU over every MCP round, per call.
    let cpu_us_per_call = if mcp_calls > 0.0 { ticks as f64 * 10_000.0 / mcp_calls } else { f64::NAN };
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    let mut t = String::new();
    t.push_str(&format!(
        "\n## mcp: tool calls over /mcp, {CONNECTIONS} sessions, {SECONDS} s x 2 rounds A/B (median of rounds)\n\n"
    ));
    t.push_str(
        "| measure | direct to the API | through /mcp | added by Tengine | target |\n| --- | --- | --- | --- | --- |\n",
    );
    t.push_str(&format!(
        "| p50 latency | {:.3} ms | {:.3} ms | {:.3} ms | <= 1 ms: {} |\n",
        d50,
        m50,
        m50 - d50,
        verdict(m50 - d50 <= 1.0)
    ));
    t.push_str(&format!(
        "| p99 latency | {:.3} ms | {:.3} ms | {:.3} ms | <= 5 ms: {} |\n",
        d99,
        m99,
        m99 - d99,
        verdict(m99 - d99 <= 5.0)
    ));
    t.push_str(&format!(
        "| calls/s | wrk at the API: {:.0} | {:.0} | ratio {:.3} | >= 0.5 x wrk: {} |\n",
        wrk_api.rps,
        mcp_rps,
        mcp_rps / wrk_api.rps,
        verdict(mcp_rps >= 0.5 * wrk_api.rps)
    ));
    t.push_str(&format!(
        "\nfailed calls: {errors}; server CPU per MCP call: {:.0} us (from /proc ticks over the MCP rounds)\n",
        cpu_us_per_call
    ));
    Ok(t)
}

/// The console's overview in Chromium against an account with 10,000 projects: the
/// time until every number on it has loaded (median of cold loads), and the JavaScript
/// and CSS the first load transfers.
fn console_bench(bin: &Path, seeder: &Path, db: &str, server: &Server) -> Result<String> {
    let made = run(Command::new(bin)
        .args(["accounts", "create", "--name", "bench-console", "--plan", "enterprise", "--limit", "1000000000"])
        .env("DATABASE_URL", db)
        .env("TENGINE_SECRET_KEY", BENCH_SECRET_KEY))?;
    let (account, key) = (json_field(&made, "account_id")?, json_field(&made, "key")?);
    run(Command::new(seeder).args(["seed-projects", "--database-url", db, "--account", &account, "--count", "10000"]))?;
    // Some usage to rank: a few projects with a few requests each.
    for i in 0..20 {
        let project = json_field(&post(&server.base, &key, "/projects", &format!(r#"{{"name":"busy {i}"}}"#))?, "id")?;
        for _ in 0..=i {
            curl(&[
                "-sf",
                "-o",
                "/dev/null",
                &format!("{}/api/v1/projects/{project}", server.base),
                "-H",
                &format!("Authorization: Bearer {key}"),
            ])?;
        }
    }
    // Usage is flushed every second.
    std::thread::sleep(Duration::from_secs(2));
    let console = crate::root().join("console");
    if !console.join("node_modules").is_dir() {
        run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&console))?;
    }
    let out = run(Command::new("node").args(["bench/interactive.mjs", &server.base, &key, "7"]).current_dir(&console))?;
    let m: serde_json::Value = serde_json::from_str(out.trim()).map_err(|e| format!("{e}: {out}"))?;
    let kb = m["first_load_js_css_bytes"].as_f64().unwrap_or(0.0) / 1024.0;
    Ok(format!(
        "\n## Console (10,000 projects, Chromium, 7 cold loads)\n\n\
         | measure | value | budget |\n| --- | --- | --- |\n\
         | overview interactive, median | {} ms (min {}, max {}) | <= 1000 ms |\n\
         | JS + CSS of the first load, compressed | {:.1} KB | <= 200 KB |\n",
        m["median_ms"], m["min_ms"], m["max_ms"], kb
    ))
}
