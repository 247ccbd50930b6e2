//! Compiles this crate with `cfg(loom)`: the kernel sources it includes then use loom's
//! atomics (only this crate sees the flag; its dependencies build as usual).

fn main() {
    println!("cargo::rustc-cfg=loom");
}
