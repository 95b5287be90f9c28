//! Rebuilds the crate when the console's built assets change: `include_dir!` embeds
//! them but does not tell Cargo it read them.
fn main() {
    println!("cargo:rerun-if-changed=assets");
}
