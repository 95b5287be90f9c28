//! `cargo xtask fuzz [--seconds N]`: the proptest fuzz targets of `fuzz/` (ignored by the
//! normal test run) in release mode, one after another, sharing a time budget.

use crate::Result;

/// The `#[ignore]`d tests of `fuzz/tests/fuzz.rs`, one per target.
const TARGETS: u64 = 5;
/// The whole run's default budget, compilation aside.
const DEFAULT_SECONDS: u64 = 150;

/// Runs every target for its share of `--seconds` (default 150).
pub fn fuzz(args: &[String]) -> Result {
    let seconds = match args {
        [] => DEFAULT_SECONDS,
        [flag, n] if flag == "--seconds" => n.parse().map_err(|_| format!("--seconds takes a number, not {n}"))?,
        _ => return Err("usage: cargo xtask fuzz [--seconds N]".into()),
    };
    let each = (seconds / TARGETS).max(1);
    eprintln!("xtask: {TARGETS} fuzz targets, {each} s each");
    // The targets read their budget from here; PROPTEST_CASES only caps the case count.
    std::env::set_var("TENGINE_FUZZ_SECONDS", each.to_string());
    std::env::set_var("PROPTEST_CASES", "100000000");
    crate::cargo(&[
        "test",
        "--package",
        "tengine-fuzz",
        "--release",
        "--test",
        "fuzz",
        "--",
        "--ignored",
        "--test-threads",
        "1",
        "--nocapture",
    ])
}
