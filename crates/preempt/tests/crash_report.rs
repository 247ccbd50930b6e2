//! Fault and panic reports carry a backtrace that `cargo xtask test` symbolizes: a thread
//! that faults a few calls deep and one that panics a few calls deep are each reported with
//! the functions on the way (the failing one and its callers) and their source files.
//!
//! The expected texts below only appear once the backtrace's addresses are named (the kernel
//! prints `  #N 0x…` only), so this test fails if the frame walk or the symbolizer breaks.
//! xtask: timeout=60
//! xtask: expect-output=fault in thread 'faulter': data abort
//! xtask: expect-output=  pc 0x
//! xtask: expect-output=crash_report::deep_fault (crates/preempt/tests/crash_report.rs:
//! xtask: expect-output=crash_report::middle_fault (crates/preempt/tests/crash_report.rs:
//! xtask: expect-output=crash_report::outer_fault (crates/preempt/tests/crash_report.rs:
//! xtask: expect-output=thread 'panicker' panicked at crates/preempt/tests/crash_report.rs:
//! xtask: expect-output=crash_report::deep_panic (crates/preempt/tests/crash_report.rs:
//! xtask: expect-output=crash_report::middle_panic (crates/preempt/tests/crash_report.rs:
//! xtask: expect-output=crash_report: ok
#![no_std]
#![no_main]

use core::hint::black_box;
use preempt::thread::Builder;
use preempt::{check, println};

preempt::entry!(main);

/// Unmapped on both boards (the 39-bit map covers RAM and devices far below it).
const UNMAPPED: usize = 0x20_0000_0000;

/// Reads an unmapped address: the faulting function of the report.
#[inline(never)]
fn deep_fault(offset: usize) -> u64 {
    let p = black_box(UNMAPPED + offset) as *const u64;
    // SAFETY: not safe at all — this test wants the fault (nothing is mapped there).
    black_box(unsafe { p.read_volatile() }) + 1
}

#[inline(never)]
fn middle_fault(offset: usize) -> u64 {
    black_box(deep_fault(black_box(offset) * 8)) + 2
}

#[inline(never)]
fn outer_fault() -> u64 {
    black_box(middle_fault(black_box(1))) + 3
}

/// Panics: the panicking function of the report.
#[inline(never)]
fn deep_panic(n: u32) -> u32 {
    if black_box(n) == 3 {
        panic!("deliberate panic {n}");
    }
    n + 1
}

#[inline(never)]
fn middle_panic(n: u32) -> u32 {
    black_box(deep_panic(black_box(n) + 1)) + 2
}

fn main() {
    let faulter = Builder::new()
        .name("faulter")
        .spawn(outer_fault)
        .expect("spawn");
    check!(faulter.join().is_err_and(|e| e.is_fault()));
    let panicker = Builder::new()
        .name("panicker")
        .spawn(|| middle_panic(black_box(2)))
        .expect("spawn");
    check!(panicker.join().is_err());
    println!("crash_report: ok");
}
