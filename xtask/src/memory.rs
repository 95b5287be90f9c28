//! `cargo xtask bench memory`: the server's memory with many accounts in the rate limiter
//! and a million distinct keys verified (the key cache): 100,000 accounts with 10
//! account-wide keys each are seeded, and wrk presents every key once, cycling through
//! the file of secrets. Reports RSS before, after and at peak, and the caches' gauges
//! from `/metrics`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::bench::{drop_database, fresh_database, rss_kib, run, target_dir, Server};
use crate::Result;

const ACCOUNTS: u64 = 100_000;
const KEYS_PER_ACCOUNT: u64 = 10;
const TOKEN: &str = "bench-metrics-token-0123456789";

/// Runs the memory phase on a database of its own; returns the report's text.
pub fn memory_bench(bin: &Path, seeder: &Path) -> Result<String> {
    let (name, db) = fresh_database()?;
    let result = measure(bin, seeder, &db);
    drop_database(&name);
    result
}

fn measure(bin: &Path, seeder: &Path, db: &str) -> Result<String> {
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let keys = dir.join("memory-keys.txt");
    // Migrate first (the seeder writes through the adapter, which expects the schema).
    let server = Server::start(bin, db, &[("TENGINE_METRICS_TOKEN", TOKEN)])?;
    let idle = rss_kib(server.pid(), "VmRSS:");
    let seeded = run(Command::new(seeder).args([
        "seed-keys",
        "--database-url",
        db,
        "--accounts",
        &ACCOUNTS.to_string(),
        "--keys",
        &KEYS_PER_ACCOUNT.to_string(),
        "--out",
        &keys.to_string_lossy(),
    ]))?;
    let lua = dir.join("memory-keys.lua");
    std::fs::write(
        &lua,
        r#"-- Each request presents the next key of the file; the two threads start half a file apart,
-- and a run goes on where the last one stopped (args[2]: requests each thread made so far).
local n = 0
function setup(thread) thread:set("offset", n); n = n + 1 end
function init(args)
  keys = {}
  for line in io.lines(args[1]) do keys[#keys + 1] = line end
  i = ((offset or 0) * math.floor(#keys / 2) + (tonumber(args[2]) or 0)) % #keys
end
function request()
  i = i % #keys + 1
  return wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. keys[i] })
end
"#,
    )
    .map_err(|e| e.to_string())?;
    let target = ACCOUNTS * KEYS_PER_ACCOUNT;
    let started = Instant::now();
    let (mut requests, mut non_2xx) = (0u64, 0u64);
    let mut last_rps = 0.0;
    while requests < target && started.elapsed().as_secs() < 300 {
        let out = run(Command::new("wrk")
            .args(["-t2", "-c64", "-d20s", "-s"])
            .arg(&lua)
            .arg(format!("{}/api/v1/projects", server.base))
            .arg("--")
            .arg(&keys)
            // Each thread made about half the requests so far.
            .arg((requests / 2).to_string()))?;
        for line in out.lines().map(str::trim) {
            if let Some(n) = line.split(" requests in ").next().filter(|_| line.contains(" requests in ")) {
                requests += n.trim().parse::<u64>().unwrap_or(0);
            } else if let Some(v) = line.strip_prefix("Non-2xx or 3xx responses:") {
                non_2xx += v.trim().parse::<u64>().unwrap_or(0);
            } else if let Some(v) = line.strip_prefix("Requests/sec:") {
                last_rps = v.trim().parse().unwrap_or(0.0);
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    // Let the once-a-second flusher set the gauges.
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    let (rss, peak) = (rss_kib(server.pid(), "VmRSS:"), rss_kib(server.pid(), "VmHWM:"));
    let metrics = run(Command::new("curl").args([
        "-sf",
        &format!("{}/metrics", server.base),
        "-H",
        &format!("Authorization: Bearer {TOKEN}"),
    ]))?;
    let gauges: String = metrics
        .lines()
        .filter(|l| l.starts_with("tengine_cache_") || l.starts_with("tengine_rate_limiter_accounts"))
        .map(|l| format!("  {l}\n"))
        .collect();
    let mib = |kib: u64| kib as f64 / 1024.0;
    Ok(format!(
        "\nMemory: {ACCOUNTS} accounts x {KEYS_PER_ACCOUNT} account-wide keys, each key presented in turn (wrk, 64 connections)\n\
         seed: {}\n\
         requests: {requests} in {seconds:.0} s ({last_rps:.0} req/s in the last slice; every key verified {:.2} times on average), non-2xx: {non_2xx}\n\
         tengine RSS idle {:.1} MiB, after {:.1} MiB, peak {:.1} MiB (target: under 300 MiB, or bounded caches that say so in /metrics)\n\
         /metrics:\n{gauges}",
        seeded.trim(),
        requests as f64 / target as f64,
        mib(idle),
        mib(rss),
        mib(peak)
    ))
}
