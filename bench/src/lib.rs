//! Shared code of preempt's benchmark kernels (`src/bin/*.rs`, one per metric group).
//!
//! A benchmark kernel is an ordinary preempt program. It measures with the PMU's
//! `INST_RETIRED` counter ([`preempt_arch::pmu`]), which under QEMU `-icount shift=0` counts
//! every instruction exactly, and prints one line per metric for `cargo xtask bench`:
//!
//! ```text
//! BENCH yield_switch median=123 max=130 unit=instructions samples=10000
//! ```
//!
//! Conventions every kernel follows (the xtask and `docs/performance.md` rely on them):
//!
//! - A sample is the number of instructions retired between two counter reads, minus the
//!   cost of an empty pair of reads ([`overhead`]): the reads themselves are not counted.
//! - A sample whose window contains a timer interrupt is discarded (and another one taken):
//!   its cost is measured on its own (`timer_irq_cost`), and one landing in a window would
//!   make `max` depend on when the timer fired instead of on the code measured.
//! - The median is the lower middle value; `max` is the largest kept sample.
//! - With several cores (`--smp N`), [`init`] pins `main` to its core and kernels spawn their
//!   threads with [`builder`], pinned there too: every window opens and closes on one core's
//!   PMU, and the figures are the single-core paths on a system whose other cores idle. (The
//!   `smp` kernels place their threads themselves.) Under QEMU `-icount` that PMU counts the
//!   machine's instructions, not the core's: an idle core woken by the emulator's turn grid
//!   adds its wake-up to the window it falls in (`tick` leaves such samples out).
//! - Sample counts come from [`SAMPLES`]: 10,000 per metric, or 1,000 with the `quick`
//!   feature. Thread-Metric scores are the same in both modes.
#![no_std]
#![cfg(target_os = "none")]

extern crate alloc;

pub mod load;
pub mod ring;
pub mod tm;

use alloc::vec::Vec;

use preempt::println;
use preempt_arch::pmu;

/// Samples taken per instruction-count metric.
pub const SAMPLES: usize = if cfg!(feature = "quick") {
    1_000
} else {
    10_000
};

/// Whether this is the `quick` build.
pub const QUICK: bool = cfg!(feature = "quick");

/// What a metric counts; printed as the `unit=` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Instructions per operation (lower is better).
    Instructions,
    /// Instructions timed by the system counter rather than counted by the PMU (lower is
    /// better): under `-icount shift=0` a count is 16 instructions at QEMU's 62.5 MHz, so a
    /// sample is a multiple of 16 and the same path can read one count more or less,
    /// depending on where the counter stepped.
    CounterInstructions,
    /// Ticks (lower is better).
    Ticks,
    /// Thread-Metric operations per reporting period (higher is better).
    Score,
    /// A wall-clock ratio in percent (`smp_scaling`; higher is better). Host-dependent: never
    /// in the baseline, never checked.
    Percent,
    /// Nanoseconds of the system counter (lower is better): how late a wake-up came. Under
    /// `-icount shift=0` one nanosecond is one instruction.
    Nanoseconds,
    /// Interrupts per second (lower is better).
    Interrupts,
}

impl Unit {
    /// The `unit=` value.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Instructions => "instructions",
            Unit::CounterInstructions => "counter-instructions",
            Unit::Ticks => "ticks",
            Unit::Score => "score",
            Unit::Percent => "percent",
            Unit::Nanoseconds => "ns",
            Unit::Interrupts => "interrupts",
        }
    }
}

/// Starts the PMU and checks that it counts instructions; stops the system with exit status
/// 1 when it does not (QEMU counts `INST_RETIRED` only with `-icount`).
pub fn init(kernel: &str) {
    if !pmu::is_available() {
        println!("BENCH-ERROR {kernel}: no PMUv3 on this core");
        preempt::exit(1);
    }
    pmu::enable();
    if preempt::cpu::count() > 1 {
        preempt::thread::set_affinity(1 << preempt::cpu::current()).expect("pin main");
    }
    let a = read();
    let mut x = 0u64;
    for i in 0..100 {
        x = core::hint::black_box(x + i);
    }
    let b = read();
    if pmu::elapsed(a, b) < 100 {
        println!(
            "BENCH-ERROR {kernel}: the INST_RETIRED counter does not count (QEMU needs -icount)"
        );
        preempt::exit(1);
    }
    println!(
        "BENCH-INFO {kernel}: {} event counters, read overhead {} instructions, {} samples per metric",
        pmu::event_counters(),
        overhead(),
        SAMPLES
    );
}

/// A builder for a benchmark thread: pinned to the calling core when several cores run
/// threads (see the crate docs), as [`preempt::thread::Builder::new`] otherwise.
pub fn builder() -> preempt::thread::Builder {
    let b = preempt::thread::Builder::new();
    if preempt::cpu::count() > 1 {
        b.affinity(1 << preempt::cpu::current())
    } else {
        b
    }
}

/// The instruction counter (event counter 0), ordered with the code around it.
#[inline(always)]
pub fn read() -> u64 {
    pmu::read_instructions()
}

/// Instructions from `start` to `end` (two [`read`] values), minus [`overhead`].
#[inline(always)]
pub fn since(start: u64, end: u64) -> u64 {
    pmu::elapsed(start, end).saturating_sub(overhead())
}

/// Instructions counted by an empty pair of reads (`isb; mrs` twice): the harness's own cost,
/// subtracted from every sample. Measured once, as the minimum of 64 pairs.
pub fn overhead() -> u64 {
    use core::sync::atomic::{AtomicU64, Ordering};
    static OVERHEAD: AtomicU64 = AtomicU64::new(u64::MAX);
    let known = OVERHEAD.load(Ordering::Relaxed);
    if known != u64::MAX {
        return known;
    }
    let mut best = u64::MAX;
    for _ in 0..64 {
        let a = read();
        let b = read();
        best = best.min(pmu::elapsed(a, b));
    }
    OVERHEAD.store(best, Ordering::Relaxed);
    best
}

/// Timer interrupts taken so far on this core (to discard samples one landed in).
#[inline(always)]
pub fn ticks() -> u64 {
    preempt::config::ticks_taken()
}

/// Prints the `BENCH` line of a metric from its samples (which it sorts). Stops the system
/// with exit status 1 if there are none.
pub fn report(name: &str, unit: Unit, samples: &mut [u64]) {
    sort_nonempty(name, samples);
    emit(name, unit, samples[(samples.len() - 1) / 2], samples);
}

/// [`report`] for a window timed with the system counter, which steps once per several
/// instructions (16 under QEMU's 62.5 MHz counter at `-icount shift=0`): each sample is the
/// true cost rounded up or down to a step, depending on where in a step the window opened,
/// so the median of a cost that lies between two steps is one or the other by a single
/// sample (the cross-core windows of `smp` split 501 to 499), and moves a whole step with any
/// code change that shifts the phase. The figure reported as the median is the mean of the
/// middle 90% of the samples, rounded: with the windows' starts spread over a step (the
/// caller's part), it lands between the two steps where the true cost does, and the slowest
/// and fastest 5% (a window that caught a stray interrupt) do not pull it. `min` and `max`
/// stay the extremes.
pub fn report_dithered(name: &str, unit: Unit, samples: &mut [u64]) {
    sort_nonempty(name, samples);
    let cut = samples.len() / 20;
    let middle = &samples[cut..samples.len() - cut];
    let n = middle.len() as u64;
    let mean = (middle.iter().sum::<u64>() + n / 2) / n;
    emit(name, unit, mean, samples);
    println!(
        "BENCH-INFO {name}: reported as the mean of the middle 90% of the samples (counter \
         steps); their median is {}",
        samples[(samples.len() - 1) / 2]
    );
}

/// Sorts `samples`; stops the system with exit status 1 if there are none.
fn sort_nonempty(name: &str, samples: &mut [u64]) {
    if samples.is_empty() {
        println!("BENCH-ERROR {name}: no samples");
        preempt::exit(1);
    }
    samples.sort_unstable();
}

/// The `BENCH` line with `figure` as the median, and the distribution of `sorted`.
fn emit(name: &str, unit: Unit, figure: u64, sorted: &[u64]) {
    let (min, max) = (sorted[0], sorted[sorted.len() - 1]);
    println!(
        "BENCH {name} median={figure} max={max} unit={} samples={} min={min}",
        unit.name(),
        sorted.len()
    );
    print_distribution(name, sorted);
}

/// Prints the distinct values of sorted `samples` with their counts (at most 8, the most
/// frequent first), so a `max` far from the median can be traced to its cause.
fn print_distribution(name: &str, sorted: &[u64]) {
    let mut groups: Vec<(u64, usize)> = Vec::new();
    for &v in sorted {
        match groups.last_mut() {
            Some((last, n)) if *last == v => *n += 1,
            _ => groups.push((v, 1)),
        }
    }
    if groups.len() <= 1 {
        return;
    }
    let shown = groups.len().min(8);
    groups.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut line = alloc::string::String::new();
    for (v, n) in &groups[..shown] {
        let _ = core::fmt::Write::write_fmt(&mut line, format_args!(" {v}x{n}"));
    }
    println!(
        "{name}: {} distinct values; most frequent:{line}",
        groups.len()
    );
}

/// Prints the `BENCH` line of a single-valued metric (a Thread-Metric score).
pub fn report_value(name: &str, unit: Unit, value: u64) {
    println!(
        "BENCH {name} median={value} max={value} unit={} samples=1",
        unit.name()
    );
}

/// A timing window that one thread opens and another closes: the cost of handing the CPU
/// from one thread to another through a kernel object (a release that wakes a waiter, an
/// unlock that hands a mutex over, a send that wakes a receiver, an interrupt).
///
/// [`open`](Self::open) publishes the tick count, then the instruction counter (last, so the
/// window starts as late as possible); [`close`](Self::close) reads the counter first and
/// returns the sample, or `None` when a tick was taken in between.
pub struct Window {
    start: core::sync::atomic::AtomicU64,
    tick: core::sync::atomic::AtomicU64,
}

impl Window {
    /// A window not opened yet.
    pub const fn new() -> Self {
        Self {
            start: core::sync::atomic::AtomicU64::new(0),
            tick: core::sync::atomic::AtomicU64::new(u64::MAX),
        }
    }

    /// Starts the window (call right before the operation).
    #[inline(always)]
    pub fn open(&self) {
        use core::sync::atomic::Ordering::Relaxed;
        self.tick.store(ticks(), Relaxed);
        self.start.store(read(), Relaxed);
    }

    /// Ends the window (call right after the operation returns in the other thread): the
    /// instructions since [`open`](Self::open), unless a tick was taken meanwhile.
    #[inline(always)]
    pub fn close(&self) -> Option<u64> {
        use core::sync::atomic::Ordering::Relaxed;
        let end = read();
        let tick = ticks();
        let start = self.start.load(Relaxed);
        (self.tick.swap(u64::MAX, Relaxed) == tick).then(|| since(start, end))
    }
}

impl Default for Window {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs `op` until `count` samples were kept, timing each call with the counter and
/// discarding calls a tick landed in. The first `warmup` calls are not kept.
pub fn measure(count: usize, warmup: usize, mut op: impl FnMut()) -> Vec<u64> {
    let mut samples = Vec::with_capacity(count);
    let mut done = 0;
    while samples.len() < count {
        let tick = ticks();
        let start = read();
        op();
        let end = read();
        if done >= warmup && ticks() == tick {
            samples.push(since(start, end));
        }
        done += 1;
    }
    samples
}
