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
//! read; the loop body has no data-dependent branch, so an undisturbed iteration always costs
//! the same (`base`, the minimum). `preempt::testing::set_extra_timer_period` makes the timer
//! fire every 10 µs with nothing due; an iteration such an interrupt lands in costs `base` plus
//! the interrupt, and its excess is one sample.
//!
//! Every iteration also stores, right after its counter read, the timer interrupts taken so
//! far by this core and by the others, so each disturbed iteration is matched with the
//! interrupt in it: exactly one of this core's and none of another's makes a sample. Under
//! QEMU `-icount` with several cores the instruction counter is the machine's (QEMU reads it
//! from its global instruction count), so an idle core woken by its timer — the emulator's
//! turn grid (`preempt::testing::icount_turn`, docs/design.md "Time") — adds its instructions
//! to the iteration it interrupts here: such iterations are left out, and counted. Any other
//! disturbance is an error.
//!
//! xtask: timeout=60
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec;
use alloc::vec::Vec;

use preempt::println;
use preempt::time::Duration;
use preempt_arch::layout::MAX_CPUS;
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
    let mut cal = vec![Iteration::default(); 256];
    spin(&mut cal, 0);
    // The first iteration starts from the read before the loop, a shorter path: skip it.
    let base = u64::from(cal[1..].iter().map(|i| i.cost).min().expect("calibration"));
    let steady = cal[1..]
        .iter()
        .map(|i| u64::from(i.cost))
        .filter(|&d| d <= base + MARGIN)
        .all(|d| d == base);
    if !steady {
        let first: Vec<u32> = cal[..16].iter().map(|i| i.cost).collect();
        println!(
            "BENCH-ERROR timer_irq_cost: the loop's undisturbed iterations differ in cost: {first:?}"
        );
        preempt::exit(1);
    }
    // Other cores' interrupts count here only under the emulator's turn grid (see the module
    // docs); room for them (about 3 per 100 samples with three idle cores) when it runs.
    let shared = preempt::testing::icount_turn().is_some();
    let count = SAMPLES;
    let mut buf = vec![Iteration::default(); if shared { count + count / 8 } else { count }];
    let before = ticks();
    let start = spin(&mut buf, base + MARGIN);
    let taken = ticks() - before;
    preempt::testing::set_extra_timer_period(None);
    let sorted = classify(start, &buf, base, shared);
    println!(
        "timer_irq_cost: loop iteration {base} instructions; {} disturbed iterations: {} by one \
         timer interrupt on this core ({taken} taken), {} by another core's alone, {} by both \
         or next to both",
        buf.len(),
        sorted.timer.len(),
        sorted.other,
        sorted.mixed
    );
    if sorted.unexplained > 0 {
        println!(
            "BENCH-ERROR timer_irq_cost: {} disturbed iterations without a timer interrupt",
            sorted.unexplained
        );
        preempt::exit(1);
    }
    // Every interrupt of this core lands in a disturbed iteration (one more may land after
    // the last).
    let own = (sorted.timer.len() + sorted.mixed_own) as u64;
    if taken.abs_diff(own) > 1 || sorted.timer.len() < count {
        println!(
            "BENCH-ERROR timer_irq_cost: {} samples of {count}, {own} timer interrupts in \
             disturbed iterations but {taken} taken",
            sorted.timer.len()
        );
        preempt::exit(1);
    }
    let mut samples = sorted.timer;
    samples.truncate(count);
    report("timer_irq_cost", Unit::Instructions, &mut samples);
}

/// One iteration as stored: its cost and, read right after its closing counter read, the
/// timer interrupts taken so far by this core and by the others.
#[derive(Clone, Copy, Default)]
struct Iteration {
    cost: u32,
    own: u32,
    others: u32,
}

/// The disturbed iterations sorted by what disturbed them.
struct Sorted {
    /// Excess over `base` of the iterations with one timer interrupt of this core and nothing
    /// else: the samples.
    timer: Vec<u64>,
    /// Iterations with another core's timer interrupt and none of this core's (shared counter).
    other: usize,
    /// Iterations with interrupts of both, or right after such an iteration (an interrupt
    /// between the counter read and the stamp shows in the earlier stamp but costs in the
    /// later iteration), left out. `mixed_own`: this core's interrupts among them.
    mixed: usize,
    mixed_own: usize,
    /// Disturbed iterations that no timer interrupt explains.
    unexplained: usize,
}

/// Matches each disturbed iteration with the interrupts stamped since the previous one.
fn classify(start: Iteration, buf: &[Iteration], base: u64, shared: bool) -> Sorted {
    let mut s = Sorted {
        timer: Vec::with_capacity(buf.len()),
        other: 0,
        mixed: 0,
        mixed_own: 0,
        unexplained: 0,
    };
    let mut last = start;
    let mut after_mixed = false;
    for it in buf {
        let own = it.own.wrapping_sub(last.own);
        let others = it.others.wrapping_sub(last.others);
        last = *it;
        let several = own + others > 1;
        if several || after_mixed {
            s.mixed += 1;
            s.mixed_own += own as usize;
        } else if own == 1 {
            s.timer.push(u64::from(it.cost) - base);
        } else if others == 1 && shared {
            s.other += 1;
        } else {
            s.unexplained += 1;
        }
        after_mixed = several;
    }
    s
}

/// Timer interrupts so far, of this core and of the other cores: each core's count read once
/// (a fixed number of reads), so the two agree.
#[inline(always)]
fn stamp(me: usize, cost: u32) -> Iteration {
    let mut own = 0u64;
    let mut all = 0u64;
    for core in 0..MAX_CPUS {
        let n = preempt::testing::timer_interrupts_on(core);
        all += n;
        own += n * u64::from(core == me);
    }
    Iteration {
        cost,
        own: own as u32,
        others: (all - own) as u32,
    }
}

/// Spins until `buf` is full of iterations costing more than `threshold`; returns the stamp
/// taken right after the first counter read. No data-dependent branch: the store is
/// unconditional and the index advances by 0 or 1.
#[inline(never)]
fn spin(buf: &mut [Iteration], threshold: u64) -> Iteration {
    let me = preempt::cpu::current();
    let mut n = 0;
    let mut prev = read();
    let start = stamp(me, 0);
    while n < buf.len() {
        let now = read();
        let d = preempt_arch::pmu::elapsed(prev, now);
        buf[n] = stamp(me, d as u32);
        n += usize::from(d > threshold);
        prev = now;
    }
    start
}
