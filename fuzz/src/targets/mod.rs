//! The fuzz targets, one module each.

pub mod analytics;
pub mod api_key;
pub mod bodies;
pub mod ids;
pub mod query;

/// The base62 alphabet (`0-9A-Za-z`), as the reference oracles spell it.
pub const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A fuzz target: runs within a budget and returns how many cases it ran.
pub type Target = fn(crate::Budget) -> u64;

/// Every target, by name.
pub const ALL: [(&str, Target); 5] = [
    ("api_key", api_key::fuzz),
    ("ids", ids::fuzz),
    ("query", query::fuzz),
    ("analytics", analytics::fuzz),
    ("bodies", bodies::fuzz),
];
