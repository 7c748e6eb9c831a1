//! Sets `cfg(shared_fixtures)` when `../shared/fixtures` (third-party test data, read in place)
//! is beside the project, so the tests that need it are `#[ignore]`d, and counted as ignored
//! by `cargo test`, where it is absent instead of passing without running.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(shared_fixtures)");
    println!("cargo::rerun-if-changed=../shared/fixtures");
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures");
    if fixtures.is_dir() {
        println!("cargo::rustc-cfg=shared_fixtures");
    }
}
