//! What the `tengine` binary shares with the rest of the workspace (the fuzz harness
//! wires the application the same way): the system adapters of the small ports.

pub mod system;
