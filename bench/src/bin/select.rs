//! `select_2`, `select_10`, `select_100`, `select_1000`: instructions per switch when N
//! threads of one priority take turns with `thread::yield_now` (a ring, see
//! `preempt_bench::ring`): each switch puts the yielding thread at the back of its level and
//! picks the front one of N. With an O(1) ready queue all four are equal.
//!
//! xtask: timeout=120
#![no_std]
#![no_main]

extern crate alloc;

use preempt::thread::MIN_STACK_SIZE;
use preempt_bench::{init, report, ring, Unit, SAMPLES};

preempt::entry!(main);

fn main() {
    init("select");
    for n in [2, 10, 100, 1000] {
        // 1000 threads × 8 KiB stacks = 8 MiB: fits virt's 128 MiB easily.
        let mut samples = ring::run(n, SAMPLES, MIN_STACK_SIZE);
        report(
            &alloc::format!("select_{n}"),
            Unit::Instructions,
            &mut samples,
        );
    }
}
