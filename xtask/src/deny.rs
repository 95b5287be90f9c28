//! `cargo xtask deny`: cargo-deny's four checks against `deny.toml`, with a pinned
//! cargo-deny installed into a cache outside the clone when it is missing.

use std::path::PathBuf;
use std::process::Command;

use crate::{root, Result};

/// The cargo-deny release the checks run with (its `deny.toml` schema and lints).
const VERSION: &str = "0.20.2";

/// Where the pinned tool is installed: `$TENGINE_TOOLS_DIR`, else `/var/tmp/tengine-tools`,
/// which outlives a CI clone like the shared build cache does.
fn tools_dir() -> PathBuf {
    std::env::var_os("TENGINE_TOOLS_DIR").map_or_else(|| PathBuf::from("/var/tmp/tengine-tools"), PathBuf::from)
}

fn installed(bin: &std::path::Path) -> bool {
    let out = Command::new(bin.join("cargo-deny")).arg("--version").output();
    out.is_ok_and(|o| {
        o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == format!("cargo-deny {VERSION}")
    })
}

/// Installs cargo-deny `VERSION` if needed, then runs `cargo deny check` on the workspace.
pub(crate) fn deny() -> Result {
    let tools = tools_dir();
    let bin = tools.join("bin");
    if !installed(&bin) {
        eprintln!("xtask: installing cargo-deny {VERSION} into {} (a few minutes, once)", tools.display());
        // Its own temporary target dir: the tool's release build would only bloat ours.
        let status = crate::cargo_command()
            .args(["install", "cargo-deny", "--locked", "--version", VERSION, "--root"])
            .arg(&tools)
            .env_remove("CARGO_TARGET_DIR")
            .status()
            .map_err(|e| format!("could not run cargo install: {e}"))?;
        if !status.success() {
            return Err(format!("installing cargo-deny {VERSION} failed ({status})"));
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&path)))
        .map_err(|e| format!("bad PATH: {e}"))?;
    let run = |args: &[&str]| {
        eprintln!("xtask: cargo deny {}", args.join(" "));
        crate::cargo_command()
            .args(["deny", "--locked", "--manifest-path"])
            .arg(root().join("Cargo.toml"))
            .args(args)
            .env("PATH", &path)
            .status()
            .map_err(|e| format!("could not run cargo deny: {e}"))
    };
    // The RustSec database lives on GitHub. Without it (a machine that cannot reach
    // GitHub), an earlier copy is used offline; with none at all, the other three checks
    // still run and the skipped one is said loudly rather than failing every build.
    let fetched = run(&["fetch", "db"])?.success();
    // A failed fetch leaves a `db.lock` file behind; a database is a directory.
    let have_db = advisory_dbs().read_dir().is_ok_and(|d| d.flatten().any(|e| e.path().join(".git").is_dir()));
    // `deny.toml` is found next to the manifest; `--show-stats` prints the summary.
    let mut args = vec!["check", "--show-stats", "--hide-inclusion-graph"];
    if !fetched {
        // Offline, cargo-deny's `cargo metadata` needs every platform's crates already
        // downloaded (a fresh machine has only the host's): fetch them from crates.io.
        crate::cargo(&["fetch", "--locked"])?;
        args.insert(0, "--offline");
    }
    if fetched || have_db {
        args.push("advisories");
    }
    args.extend(["bans", "licenses", "sources"]);
    let status = run(&args)?;
    if !fetched {
        let what = if have_db { "checked against an earlier copy" } else { "NOT CHECKED" };
        eprintln!("xtask: advisories {what}: the RustSec database could not be fetched from GitHub");
    }
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo deny check` failed ({status})"))
    }
}

/// cargo-deny's default advisory database directory, `$CARGO_HOME/advisory-dbs`.
fn advisory_dbs() -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    home.unwrap_or_default().join("advisory-dbs")
}
