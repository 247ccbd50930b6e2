//! Generates the linker script for the selected board and passes it to the linker for this
//! package's binaries, examples and tests. Its folder is on the linker search path of every
//! crate depending on preempt, whose own build script names it (`-Tpreempt.ld`, as in
//! `templates/app/build.rs`): a `rustc-link-arg` reaches only this package's own targets.
//!
//! The script is generated rather than checked in per board because the boards differ only in
//! the load address: QEMU virt loads an ELF at 0x4020_0000 (below that QEMU drops the device
//! tree), the Raspberry Pi firmware loads a raw `kernel8.img` at 0x8_0000. The page size the
//! sections are aligned to is the MMU's, and the size of the per-core stack area is the
//! vectors' and the boot code's, both from `preempt_arch`'s `layout.rs`.

use std::{env, fs, path::PathBuf};

// Page size and per-core stack layout, from the arch crate's one definition (a file with
// nothing but constants in it).
#[path = "../arch-aarch64/src/layout.rs"]
#[allow(dead_code)]
mod layout;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=link.ld.in");
    println!("cargo:rerun-if-changed=../arch-aarch64/src/layout.rs");
    let target = env::var("TARGET").unwrap_or_default();
    if !target.starts_with("aarch64") || !target.ends_with("-none") {
        return;
    }
    let base = if env::var_os("CARGO_FEATURE_BOARD_RPI").is_some() {
        "0x80000"
    } else {
        "0x40200000"
    };
    let template = fs::read_to_string("link.ld.in").expect("read link.ld.in");
    let script = template
        .replace("@BASE@", base)
        .replace("@PAGE_SIZE@", &format!("{:#x}", layout::PAGE_SIZE))
        .replace(
            "@CPU_STACKS@",
            &format!("{:#x}", layout::CPU_STACKS_SIZE * layout::MAX_CPUS),
        )
        .replace(
            "@CPU_STACKS_ALIGN@",
            &format!("{:#x}", layout::CPU_STACKS_SIZE),
        );
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    fs::write(out.join("preempt.ld"), script).expect("write preempt.ld");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg=-Tpreempt.ld");
}
