//! The fuzz targets, `#[ignore]`d so the normal test run stays fast: `cargo xtask fuzz`
//! runs them in release mode, each for `TENGINE_FUZZ_SECONDS` (capped by `PROPTEST_CASES`).

use tengine_fuzz::{targets, Budget};

#[test]
#[ignore = "a fuzz target: run with `cargo xtask fuzz`"]
fn api_key_parsing_accepts_exactly_well_formed_keys() {
    targets::api_key::fuzz(Budget::from_env());
}

#[test]
#[ignore = "a fuzz target: run with `cargo xtask fuzz`"]
fn id_parsing_accepts_exactly_well_formed_ids() {
    targets::ids::fuzz(Budget::from_env());
}

#[test]
#[ignore = "a fuzz target: run with `cargo xtask fuzz`"]
fn query_parsing_refuses_exactly_bad_parameters() {
    targets::query::fuzz(Budget::from_env());
}

#[test]
#[ignore = "a fuzz target: run with `cargo xtask fuzz`"]
fn analytics_ranges_never_panic_and_stay_bounded() {
    targets::analytics::fuzz(Budget::from_env());
}

#[test]
#[ignore = "a fuzz target: run with `cargo xtask fuzz`"]
fn no_body_gets_a_server_error_or_an_undocumented_answer() {
    targets::bodies::fuzz(Budget::from_env());
}
