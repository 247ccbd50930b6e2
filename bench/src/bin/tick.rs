//! `tick_cost`: instructions a running thread loses to one periodic tick that has nothing to
//! switch (the whole interrupt: vector, frame save, acknowledge, tick bookkeeping, the
//! scheduler's "keep" decision, end of interrupt, frame restore, `eret`).
//! `idle_ticks_per_s`: ticks taken per second while every thread sleeps.
//!
//! Method for `tick_cost`: `main`, the only runnable thread, spins in a loop whose every
//! iteration reads the instruction counter and stores the difference to the previous read;
//! the loop body is branch-free, so an undisturbed iteration always costs the same (`base`,
//! the minimum). An iteration a tick lands in costs `base` plus the tick; its excess is one
//! sample. The tick rate is raised to 100 kHz so that samples come quickly (the per-tick work
//! does not depend on the rate), and set back to 1 kHz afterwards.
//!
//! xtask: timeout=60
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec;
use alloc::vec::Vec;

use preempt::config;
use preempt::println;
use preempt::time::Duration;
use preempt_bench::{init, read, report, ticks, Unit, QUICK, SAMPLES};

preempt::entry!(main);

/// An iteration costing more than `base + MARGIN` had a tick in it.
const MARGIN: u64 = 16;

fn main() {
    init("tick");
    tick_cost();
    idle_ticks();
}

fn tick_cost() {
    config::set_tick_hz(100_000).expect("tick rate");
    // Calibration with the same loop: threshold 0 keeps every iteration.
    let mut cal = vec![0u32; 256];
    spin(&mut cal, 0);
    // The first iteration starts from the read before the loop, a shorter path: skip it.
    let base = u64::from(*cal[1..].iter().min().expect("calibration samples"));
    let steady = cal[1..]
        .iter()
        .filter(|&&d| u64::from(d) <= base + MARGIN)
        .all(|&d| u64::from(d) == base);
    if !steady {
        println!(
            "BENCH-ERROR tick_cost: the loop's undisturbed iterations differ in cost: {:?}",
            &cal[..16]
        );
        preempt::exit(1);
    }
    let count = SAMPLES;
    let mut buf = vec![0u32; count];
    let before = ticks();
    spin(&mut buf, base + MARGIN);
    let taken = ticks() - before;
    config::set_tick_hz(config::DEFAULT_TICK_HZ).expect("tick rate");
    println!("tick_cost: loop iteration {base} instructions; {count} disturbed iterations, {taken} ticks");
    if taken.abs_diff(count as u64) > 1 {
        println!("BENCH-ERROR tick_cost: {count} disturbed iterations but {taken} ticks");
        preempt::exit(1);
    }
    let mut samples: Vec<u64> = buf.iter().map(|&d| u64::from(d) - base).collect();
    report("tick_cost", Unit::Instructions, &mut samples);
}

/// Spins until `buf` is full of iteration costs above `threshold`. Branch-free body: the
/// store is unconditional and the index advances by 0 or 1.
#[inline(never)]
fn spin(buf: &mut [u32], threshold: u64) {
    let mut n = 0;
    let mut prev = read();
    while n < buf.len() {
        let now = read();
        let d = preempt_arch::pmu::elapsed(prev, now);
        buf[n] = d as u32;
        n += usize::from(d > threshold);
        prev = now;
    }
}

fn idle_ticks() {
    let seconds = if QUICK { 1 } else { 3 };
    let mut samples = Vec::new();
    for _ in 0..seconds {
        let before = ticks();
        preempt::thread::sleep(Duration::from_secs(1));
        samples.push(ticks() - before);
    }
    report("idle_ticks_per_s", Unit::Ticks, &mut samples);
}
