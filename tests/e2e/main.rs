//! Black-box end-to-end tests: every test starts the real `tengine` binary on its own
//! fresh database (PostgreSQL and SQLite) and talks to it over HTTP or its CLI.
//!
//! Build the binary first: `cargo build -p tengine-app && cargo test -p tengine-e2e`.

#[macro_use]
mod helpers;
mod metrics;

mod api_keys;
mod auth;
mod authz_matrix;
mod cli;
mod concurrency;
mod errors;
mod event_stream;
mod event_types;
mod faults;
mod inspector;
mod mcp;
mod mcp_calls;
mod oauth;
mod projects;
mod receiver;
mod sdk_rust;
mod secrets_at_rest;
mod sessions;
mod sqlite;
mod tools;
mod transport;
mod usage;
mod verify;
mod webhook_api;
mod webhook_delivery;
mod webhooks;
mod webhooks_scale;
