//! Links the program with preempt's memory layout.
//!
//! preempt's build script writes `preempt.ld` (load address of the board its features select)
//! and puts its folder on the linker search path; naming the script is up to the crate that
//! links a binary, as with `cortex-m-rt`'s `link.x`. This applies to the binary and the tests.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("aarch64") && target.ends_with("-none") {
        println!("cargo:rustc-link-arg=-Tpreempt.ld");
    }
}
