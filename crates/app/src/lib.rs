//! The `tengine` application as a library: the binary, the fuzz harness and tests build
//! the same application. [`Application::build`] takes a plain [`Config`] (the CLI parses
//! flags and environment into it); [`wiring`] holds the lower-level pieces.

pub mod config;
pub mod forward;
mod listener;
pub mod secret_key;
mod startup;
pub mod system;
pub mod wiring;
mod workers;

pub use config::{Config, ServeConfig, StoreConfig};
pub use startup::{shutdown_signal, Application};
