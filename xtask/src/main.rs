//! Developer tasks: `cargo xtask test` (the whole suite), `cargo xtask ci` (format,
//! lints, cargo-deny, then the suite), `cargo xtask deny` (supply-chain checks),
//! `cargo xtask bench`, `cargo xtask openapi` (regenerate
//! `docs/openapi.json`), `cargo xtask fuzz` (the proptest fuzz targets) and
//! `cargo xtask fuzz-api` (schemathesis against the server), `cargo xtask sdk-models`
//! (regenerate the SDKs' models from `docs/openapi.json`). Few dependencies (serde_json
//! for JSON), so it builds in seconds.

mod bench;
mod deny;
mod fuzz;
mod fuzz_api;
mod growth;
mod listening;
mod memory;
mod sdk_models;
mod webhooks;

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("ci") => ci(),
        Some("deny") => deny::deny(),
        Some("pg") => ensure_postgres(),
        Some("bench") => bench::bench(&args[1..]),
        Some("openapi") => openapi(),
        Some("fuzz") => fuzz::fuzz(&args[1..]),
        Some("fuzz-api") => fuzz_api::fuzz_api(&args[1..]),
        Some("sdk-models") => sdk_models::sdk_models(&args[1..]),
        Some("dashboard") => dashboard(),
        _ => {
            eprintln!(
                "usage: cargo xtask <test [cargo test args]|ci|deny|pg|bench [usage|analytics]|openapi|fuzz [--seconds N]|fuzz-api|sdk-models [--check]|dashboard>"
            );
            eprintln!("  test  start PostgreSQL if needed, build the binaries, run every test (Rust, Python and TypeScript SDKs)");
            eprintln!("  ci    cargo fmt --check, cargo clippy -D warnings, `deny`, then `test`");
            eprintln!("  deny  cargo deny check (advisories, bans, licenses, sources); installs the pinned cargo-deny");
            eprintln!("  pg    start the local PostgreSQL cluster if it is down");
            eprintln!("  bench release build, fresh database, wrk on loopback; see docs/PERFORMANCE.md");
            eprintln!("  openapi  regenerate docs/openapi.json from the code");
            eprintln!("  fuzz  the proptest fuzz targets in release mode for N seconds in all (default 150)");
            eprintln!("  fuzz-api  schemathesis (all checks) against a fresh server [--max-examples N] [--seed N]");
            eprintln!("  sdk-models  regenerate the three SDKs' models from docs/openapi.json (--check: only compare)");
            eprintln!(
                "  dashboard  rebuild the console (console/ -> crates/adapters-console/assets); needs Node.js 20"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) type Result<T = ()> = std::result::Result<T, String>;

/// A cargo command without the variables `cargo run` set for xtask itself
/// (`CARGO_PKG_NAME=xtask`, ...): build scripts that read them (ring's does) would see a
/// change from a build run in the shell and rebuild half the tree each time the two alternate.
pub(crate) fn cargo_command() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_MANIFEST_")
            || matches!(name.as_ref(), "CARGO_CRATE_NAME" | "CARGO_BIN_NAME" | "CARGO_PRIMARY_PACKAGE")
        {
            command.env_remove(name.as_ref());
        }
    }
    command
}

/// The workspace root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Runs cargo with `args`, as if from the shell.
pub(crate) fn cargo(args: &[&str]) -> Result {
    eprintln!("xtask: cargo {}", args.join(" "));
    let status = cargo_command().args(args).status().map_err(|e| format!("could not run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

fn test(extra: &[String]) -> Result {
    ensure_postgres()?;
    // End-to-end tests drive the real binary, so build it before any test runs.
    cargo(&["build", "--workspace", "--bins"])?;
    let mut args = vec!["test", "--workspace", "--no-fail-fast"];
    args.extend(extra.iter().map(String::as_str));
    let rust = cargo(&args);
    if !extra.is_empty() {
        return rust;
    }
    // The SDKs' suites and the console's browser tests drive the same debug binary.
    let suites = ["sdks/python/run-tests.sh", "sdks/typescript/run-tests.sh", "console/run-tests.sh"];
    let sdks = suites.map(|script| {
        eprintln!("xtask: {script}");
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let status = Command::new("bash").arg(format!("{root}/{script}")).status();
        match status {
            Ok(s) if s.success() => Ok(()),
            Ok(s) => Err(format!("{script} failed ({s})")),
            Err(e) => Err(format!("could not run {script}: {e}")),
        }
    });
    rust?;
    sdks.into_iter().collect()
}

/// Rebuilds the console's committed assets from `console/` (npm ci on first use).
fn dashboard() -> Result {
    let dir = root().join("console");
    let npm = |args: &[&str]| -> Result {
        eprintln!("xtask: npm {}", args.join(" "));
        let status =
            Command::new("npm").args(args).current_dir(&dir).status().map_err(|e| format!("could not run npm: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("`npm {}` failed ({status})", args.join(" ")))
        }
    };
    if !dir.join("node_modules").is_dir() {
        npm(&["ci", "--no-audit", "--no-fund"])?;
    }
    npm(&["run", "build"])?;
    eprintln!("xtask: wrote crates/adapters-console/assets (commit it with the sources)");
    Ok(())
}

fn ci() -> Result {
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    deny::deny()?;
    test(&[])
}

/// Rewrites `docs/openapi.json` with the document the HTTP adapter generates, then the SDK models.
fn openapi() -> Result {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
    cargo(&["run", "--quiet", "--package", "tengine-adapters-http", "--example", "dump_openapi", "--", path])?;
    eprintln!("xtask: wrote docs/openapi.json");
    // The SDKs' models follow the document.
    sdk_models::sdk_models(&[])
}

fn postgres_up() -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], 5432));
    TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
}

/// Starts the machine's PostgreSQL cluster if nothing listens on 127.0.0.1:5432.
/// Set `TENGINE_TEST_PG_URL` to use another server; then nothing is started.
pub(crate) fn ensure_postgres() -> Result {
    if std::env::var_os("TENGINE_TEST_PG_URL").is_some() || postgres_up() {
        return Ok(());
    }
    let versions: Vec<String> = std::fs::read_dir("/etc/postgresql")
        .map_err(|_| "PostgreSQL is not running on 127.0.0.1:5432 and not installed (see .ci/run)".to_owned())?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    for version in &versions {
        eprintln!("xtask: starting PostgreSQL {version}");
        let _ = Command::new("pg_ctlcluster").args(["--skip-systemctl-redirect", version, "main", "start"]).status();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if postgres_up() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err("PostgreSQL did not come up on 127.0.0.1:5432".into())
}

#[cfg(test)]
mod tests {
    use super::cargo_command;

    #[test]
    fn cargo_runs_without_the_package_variables_cargo_set_for_xtask() {
        // `cargo test` sets them for this process as `cargo run` does for xtask.
        assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some() && std::env::var_os("CARGO_PKG_NAME").is_some());
        let command = cargo_command();
        let removed: Vec<_> = command.get_envs().filter(|(_, v)| v.is_none()).map(|(k, _)| k.to_owned()).collect();
        for name in ["CARGO_MANIFEST_DIR", "CARGO_PKG_NAME", "CARGO_PKG_VERSION"] {
            assert!(removed.iter().any(|k| k == name), "{name} is passed on: {removed:?}");
        }
        assert!(!removed.iter().any(|k| k == "CARGO_TARGET_DIR" || k == "CARGO_HOME"), "{removed:?}");
    }
}
