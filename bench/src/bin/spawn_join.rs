//! `spawn_join`: instructions to spawn a thread (default settings) whose closure returns at
//! once, and join it: stack and control-block allocation, the switch to the new thread, its
//! exit, the switch back, the reaping and the frees.
//!
//! xtask: timeout=60
#![no_std]
#![no_main]

use preempt::thread;
use preempt_bench::{init, measure, report, Unit, SAMPLES};

preempt::entry!(main);

fn main() {
    init("spawn_join");
    // Warm-up: the kernel's tables grow to their steady size, the heap to its steady shape.
    let mut samples = measure(SAMPLES, 100, || {
        thread::spawn(|| ()).join().expect("join");
    });
    report("spawn_join", Unit::Instructions, &mut samples);
}
