//! Proptest-based fuzz targets. Each target is a function taking a [`Budget`]:
//! `tests/fuzz.rs` runs them (`#[ignore]`d; `cargo xtask fuzz` runs them in release mode
//! for a time budget) and `tests/smoke.rs` runs each for a handful of cases in the normal
//! test run.

pub mod app;
pub mod targets;

use std::fmt::Debug;
use std::time::{Duration, Instant};

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

/// How long a target runs: until `cases` cases or `time` has passed, whichever is first.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// The most cases to run.
    pub cases: u64,
    /// The most time to spend (checked between batches of cases).
    pub time: Option<Duration>,
}

impl Budget {
    /// A handful of cases, for the smoke test.
    pub fn smoke() -> Self {
        Self { cases: 24, time: None }
    }

    /// From the environment: `TENGINE_FUZZ_SECONDS` (default 10) and `PROPTEST_CASES`
    /// (default: no cap but the time).
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
        Self {
            cases: var("PROPTEST_CASES").unwrap_or(u64::MAX),
            time: Some(Duration::from_secs(var("TENGINE_FUZZ_SECONDS").unwrap_or(10))),
        }
    }
}

/// Cases per proptest run; the budget is checked between runs.
const BATCH: u64 = 256;

/// Runs `test` on values of `strategy` within `budget`, in batches with fresh random
/// seeds. A failure (an `Err` or a panic) is shrunk by proptest and reported with the
/// minimal input. Returns the number of cases run.
///
/// # Panics
/// When a case fails.
pub fn run<S>(name: &str, budget: Budget, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) -> u64
where
    S: Strategy,
    S::Value: Debug,
{
    let started = Instant::now();
    let mut cases = 0u64;
    // Proptest catches panics (they fail the case); the default hook would print every
    // one of them while a failure shrinks. The report below says what failed.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut failure = None;
    let in_time = || match budget.time {
        Some(limit) => started.elapsed() < limit,
        None => true,
    };
    while failure.is_none() && cases < budget.cases && in_time() {
        let batch = BATCH.min(budget.cases - cases);
        let config = Config {
            cases: u32::try_from(batch).unwrap_or(u32::MAX),
            failure_persistence: None,
            max_shrink_iters: 4_096,
            ..Config::default()
        };
        match TestRunner::new(config).run(&strategy, &test) {
            Ok(()) => cases += batch,
            Err(TestError::Fail(reason, input)) => {
                failure = Some(format!("failed after {cases} cases: {reason}\nminimal input: {input:#?}"));
            }
            Err(TestError::Abort(reason)) => failure = Some(format!("aborted: {reason}")),
        }
    }
    std::panic::set_hook(hook);
    if let Some(failure) = failure {
        panic!("fuzz target `{name}` {failure}");
    }
    eprintln!("fuzz target `{name}`: {cases} cases in {:.1} s", started.elapsed().as_secs_f64());
    cases
}
