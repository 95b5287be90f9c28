//! Every fuzz target for a handful of cases, so the normal test run keeps them working.

use tengine_fuzz::{targets, Budget};

#[test]
fn every_fuzz_target_runs_a_handful_of_cases() {
    for (name, target) in targets::ALL {
        assert_eq!(target(Budget::smoke()), Budget::smoke().cases, "{name}");
    }
}
