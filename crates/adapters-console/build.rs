//! Rebuilds when the committed console build changes (files added included), since the
//! assets are embedded at compile time.

fn main() {
    println!("cargo:rerun-if-changed=assets");
}
