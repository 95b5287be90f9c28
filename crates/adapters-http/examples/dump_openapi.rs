//! Writes the OpenAPI document to the path given (or stdout): `cargo xtask openapi` runs it
//! to refresh `docs/openapi.json`.

use std::io::Write;

fn main() -> std::io::Result<()> {
    let json = tengine_adapters_http::openapi::json();
    match std::env::args_os().nth(1) {
        Some(path) => std::fs::write(path, json),
        None => std::io::stdout().write_all(json.as_bytes()),
    }
}
