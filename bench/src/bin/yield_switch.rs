//! `yield_switch`: instructions per switch when two equal-priority threads hand the CPU to
//! each other with `thread::yield_now`, from just before the call in one thread to just after
//! it returns in the other (see `preempt_bench::ring`).
//!
//! xtask: timeout=60
#![no_std]
#![no_main]

use preempt_bench::{init, report, ring, Unit, SAMPLES};

preempt::entry!(main);

fn main() {
    init("yield_switch");
    let mut samples = ring::run(2, SAMPLES, preempt::thread::DEFAULT_STACK_SIZE);
    report("yield_switch", Unit::Instructions, &mut samples);
}
