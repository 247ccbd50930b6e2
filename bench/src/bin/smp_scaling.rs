//! Wall-clock speedup of four independent CPU-bound threads on 1, 2 and 4 cores:
//! `smp_scaling_2` and `smp_scaling_4` are the time on one core divided by the time on two and
//! on four, in percent (200 = twice as fast).
//!
//! Unlike every other kernel this one runs in real time (`icount=off`): QEMU runs the four
//! cores on four host threads (MTTCG), and the virtual counter follows the host's clock. The
//! figures therefore depend on the host — its core count above all: QEMU cannot run four cores
//! faster than the host runs four threads, so the most to expect is min(4, host cores) — and
//! on its load. `cargo xtask bench` runs this kernel alone, after the others, prints the
//! host's core count with it, and neither saves it to the baseline nor checks it.
//!
//! Each thread runs the same register-only loop (no shared data, no kernel calls), sized at
//! start so that one thread's share takes about [`SHARE_MS`] on this host. A configuration
//! spawns the four threads with an affinity of cores `0..n`, below `main`'s priority (so all
//! four exist before `main` waits), and is timed from before the first spawn to the last
//! join; the kernel's scheduler spreads them over the cores it may use. Each configuration is
//! run [`ROUNDS`] times, interleaved, and its fastest run kept (the one the host disturbed
//! least).
//!
//! xtask: smp=4
//! xtask: icount=off
//! xtask: timeout=300
#![no_std]
#![no_main]

use core::hint::black_box;

use preempt::thread::Builder;
use preempt::time::{Duration, Instant};
use preempt::{cpu, println};
use preempt_arch::pmu;
use preempt_bench::{report_value, Unit};

preempt::entry!(main);

/// Threads of every configuration.
const THREADS: usize = 4;
/// The core counts compared (the first is the reference).
const CONFIGS: [usize; 3] = [1, 2, 4];
/// Runs of each configuration; the fastest is kept.
const ROUNDS: usize = 3;
/// Wall-clock time of one thread's share of work alone on a core.
const SHARE_MS: u64 = 100;
/// Priority of the working threads (below `main`'s default).
const WORKER: u8 = 10;

/// `n` steps of a xorshift generator: a few register instructions each, no memory.
#[inline(never)]
fn work(n: u64) -> u64 {
    let mut x = black_box(0x9e37_79b9_7f4a_7c15u64);
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

/// Steps of [`work`] that take about [`SHARE_MS`] here.
fn calibrate() -> u64 {
    let mut n = 1u64 << 16;
    loop {
        let start = Instant::now();
        black_box(work(n));
        let took = start.elapsed();
        if took >= Duration::from_millis(20) {
            let per_ms = n as u128 * 1000 / took.as_micros().max(1);
            return (per_ms * u128::from(SHARE_MS)) as u64;
        }
        n *= 2;
    }
}

/// Wall-clock time of [`THREADS`] threads of `steps` each, allowed on cores `0..cores`.
fn run(cores: usize, steps: u64) -> Duration {
    let start = Instant::now();
    let handles: [_; THREADS] = core::array::from_fn(|_| {
        Builder::new()
            .priority(WORKER)
            .affinity((1 << cores) - 1)
            .spawn(move || work(steps))
            .expect("spawn a worker")
    });
    for h in handles {
        black_box(h.join().expect("a worker"));
    }
    start.elapsed()
}

/// Whether the PMU counts instructions, which QEMU does only under `-icount` (where the cores
/// take turns on one host thread and nothing scales).
fn under_icount() -> bool {
    if !pmu::is_available() {
        return false;
    }
    pmu::enable();
    let a = pmu::read_instructions();
    black_box(work(100));
    pmu::elapsed(a, pmu::read_instructions()) >= 100
}

fn main() {
    if under_icount() {
        println!("BENCH-ERROR smp_scaling: runs under -icount; it needs real time (icount=off)");
        preempt::exit(1);
    }
    if cpu::count() < 4 {
        println!(
            "BENCH-ERROR smp_scaling: {} core(s) run threads; it needs 4",
            cpu::count()
        );
        preempt::exit(1);
    }
    let steps = calibrate();
    let mut best = [Duration::MAX; CONFIGS.len()];
    for _ in 0..ROUNDS {
        for (i, &cores) in CONFIGS.iter().enumerate() {
            best[i] = best[i].min(run(cores, steps));
        }
    }
    println!(
        "BENCH-INFO smp_scaling: {THREADS} threads of {steps} steps; fastest of {ROUNDS}: \
         1 core {} ms, 2 cores {} ms, 4 cores {} ms",
        best[0].as_millis(),
        best[1].as_millis(),
        best[2].as_millis()
    );
    let percent = |t: Duration| (best[0].as_micros() * 100 / t.as_micros().max(1)) as u64;
    report_value("smp_scaling_2", Unit::Percent, percent(best[1]));
    report_value("smp_scaling_4", Unit::Percent, percent(best[2]));
}
