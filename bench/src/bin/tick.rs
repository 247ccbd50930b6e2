//! `timer_irq_cost`: instructions a running thread loses to one timer interrupt that has
//! nothing to do but program the timer again (the whole interrupt: vector, frame save,
//! acknowledge, silencing the timer, the scheduler lock, the timer decision — nothing due,
//! "keep" —, programming the compare, end of interrupt, frame restore, `eret`). The kernel
//! takes no periodic tick: such an interrupt happens when a timer fires early (a deadline that
//! went away, a slice that changed since it was programmed); this is its cost, the successor
//! of the periodic tick's `tick_cost`.
//!
//! Method: `main`, the only runnable thread (untimed: no slice to end), spins in a loop whose
//! every iteration reads the instruction counter and stores the difference to the previous
//! read; the loop body is branch-free, so an undisturbed iteration always costs the same
//! (`base`, the minimum). `preempt::testing::set_extra_timer_period` makes the timer fire
//! every 10 µs with nothing due; an iteration such an interrupt lands in costs `base` plus the
//! interrupt, and its excess is one sample.
//!
//! xtask: timeout=60
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec;
use alloc::vec::Vec;

use preempt::println;
use preempt::time::Duration;
use preempt_bench::{init, read, report, ticks, Unit, SAMPLES};

preempt::entry!(main);

/// An iteration costing more than `base + MARGIN` had a tick in it.
const MARGIN: u64 = 16;

fn main() {
    init("tick");
    timer_irq_cost();
}

fn timer_irq_cost() {
    preempt::testing::set_extra_timer_period(Some(Duration::from_micros(10)));
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
            "BENCH-ERROR timer_irq_cost: the loop's undisturbed iterations differ in cost: {:?}",
            &cal[..16]
        );
        preempt::exit(1);
    }
    let count = SAMPLES;
    let mut buf = vec![0u32; count];
    let before = ticks();
    let all_before = preempt::testing::timer_interrupts();
    spin(&mut buf, base + MARGIN);
    let taken = ticks() - before;
    let all = preempt::testing::timer_interrupts() - all_before;
    preempt::testing::set_extra_timer_period(None);
    println!(
        "timer_irq_cost: loop iteration {base} instructions; {count} disturbed iterations, \
         {taken} timer interrupts here, {all} on every core"
    );
    // Under `-icount` with several cores the instruction counter counts every core's
    // instructions (QEMU derives it from the one shared count), and the other cores take
    // their turn-grid timer interrupts (`icount_turn`): when the emulator runs one of them in
    // the middle of an iteration, that iteration is disturbed too. So each disturbed iteration
    // holds a timer interrupt of some core: at least this core's, at most every core's (two
    // may share an iteration). Alone, exactly this core's.
    let others = if preempt::testing::icount_turn().is_some() {
        all - taken
    } else {
        0
    };
    if (count as u64) + 1 < taken || count as u64 > taken + others + 1 {
        println!(
            "BENCH-ERROR timer_irq_cost: {count} disturbed iterations but {taken} timer \
             interrupts here and {others} counted on other cores"
        );
        preempt::exit(1);
    }
    let mut samples: Vec<u64> = buf.iter().map(|&d| u64::from(d) - base).collect();
    report("timer_irq_cost", Unit::Instructions, &mut samples);
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
