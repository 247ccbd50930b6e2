//! Links the benchmark kernels with preempt's generated linker script.
//!
//! preempt's build script puts `preempt.ld` (for the selected board) on the linker search
//! path of every crate that depends on it; a binary outside the `preempt` package only has to
//! name it.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("aarch64") && target.ends_with("-none") {
        println!("cargo:rustc-link-arg-bins=-Tpreempt.ld");
    }
}
