//! Cross-core paths, on four cores under `-icount shift=0`:
//! - `smp_wake`: a thread L pinned to core 1 calls `Semaphore::release`; a higher-priority
//!   thread H pinned to core 2 waits in `acquire` (core 2 idles in `wfi`). A sample runs from
//!   just before L's `release` to just after H's `acquire` returns on core 2: the release with
//!   the placement of H on its core and the reschedule interrupt, then core 2's way out of
//!   `wfi`, its interrupt entry, the preemption check and the switch to H.
//! - `smp_ipi_latency`: a thread pinned to core 1 raises a software interrupt on core 2 (the
//!   same lock-free driver path as the kernel's reschedule interrupt,
//!   `preempt::testing::ipi::send_sgi`); core 2 idles in `wfi`. A sample runs from just before
//!   the send to the first instruction of the handler registered for that line on core 2.
//!
//! How the windows are timed. The PMU counts per core, so a window that starts on one core
//! and ends on another is timed with the virtual counter, which under `-icount shift=0` counts
//! the instructions executed by all cores together (at 62.5 MHz: every sample is a multiple
//! of 16, like `latency`'s). What it counts follows from how QEMU runs the cores under
//! `-icount`: one after another on one host thread, a core in `wfi` skipped. Measured, not
//! assumed: a core that receives an interrupt from another runs only once the sender halts —
//! while the sender stays busy the target does not run at all (a first version, whose sender
//! spun on a flag, never saw its target wake), and work the sender does after its call up to
//! its halt lands in the window one for one. So the acting thread halts in `wfi` as soon as
//! its call returns, and the target, once done, wakes it with a reschedule interrupt (outside
//! the window). With cores 0 and 3 idle, a sample is exactly the acting core's whole call
//! (`release`, `send_sgi`) plus the target core's instructions from leaving `wfi` to the end
//! of the window. That is the hand-over's critical path on hardware plus the few
//! instructions the acting core runs after its interrupt left (the end of its call), which
//! on hardware overlap the target's work. The acting core's share alone is measured with its
//! own PMU and printed in the `BENCH-INFO` line. Each sample is checked to be one clean
//! hand-over — the target core received exactly one reschedule interrupt (`smp_wake`) or ran
//! the handler once (`smp_ipi_latency`), and neither core took a tick meanwhile — and
//! discarded otherwise. The figures are in ns = instructions, in steps of 16 (the counter's
//! 62.5 MHz): a sample is the true cost rounded down or up to a step, depending on where in a
//! step the window opened. So each window opens after a random 3 to 18 instructions
//! (`stagger`), which puts its start at a uniformly random point of a step, and the metric is
//! the mean of the middle 90% of the samples (`preempt_bench::report_dithered`): with
//! uniform phases the rounding averages out to the true cost. (The median flips a whole step
//! between the two steps around the cost; without the stagger the phases follow the loop's
//! length and the mean drifts with it.) The kernel runs on four cores
//! whatever `--smp` says (its `smp=4` line).
//!
//! xtask: smp=4
//! xtask: timeout=120
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::arch::asm;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};

use preempt::sync::Semaphore;
use preempt::testing::ipi;
use preempt::thread::Builder;
use preempt::{cpu, irq, println};
use preempt_arch::cpu as cpu_arch;
use preempt_bench::{init, report_dithered, ticks, Unit, SAMPLES};

preempt::entry!(main);

/// The core of the acting thread (sender, releaser).
const CORE_A: usize = 1;
/// The core of the woken thread / the interrupt's target.
const CORE_B: usize = 2;
const HIGH: u8 = 110;
const LOW: u8 = 100;
/// Hand-overs before timing starts.
const WARMUP: usize = 100;
/// The software interrupt `smp_ipi_latency` sends.
const SGI: u32 = 1;
/// Discarded samples allowed per metric before the kernel gives up (ticks discard a few).
const MAX_DISCARDED: usize = 100;

/// Window ends published by the target core, and how many it published.
static END: AtomicU64 = AtomicU64::new(0);
/// Whether the target core took no tick during the last window.
static END_QUIET: AtomicBool = AtomicBool::new(false);
static SEQ: AtomicU64 = AtomicU64::new(0);
static DONE: AtomicBool = AtomicBool::new(false);

/// The virtual counter (`CNTVCT_EL0`) after earlier instructions.
#[inline(always)]
fn vnow() -> u64 {
    let c: u64;
    // SAFETY: `isb` and a read of the virtual count; no memory is touched.
    unsafe { asm!("isb", "mrs {0}, cntvct_el0", out(reg) c, options(nomem, nostack)) };
    c
}

/// Runs `3 + n` instructions (`n` < 16: a branch, a `nop` when `n` is odd, a shift, and
/// `n / 2` turns of a two-instruction loop), so that a window opened right after starts at
/// any point of a counter step.
fn stagger(n: u64) {
    // SAFETY: arithmetic on one register and branches within the block; no memory, no stack.
    unsafe {
        asm!(
            "tbz {n}, #0, 2f",
            "nop",
            "2:",
            "lsr {n}, {n}, #1",
            "cbz {n}, 4f",
            "3:",
            "subs {n}, {n}, #1",
            "b.ne 3b",
            "4:",
            n = inout(reg) n => _,
            options(nomem, nostack),
        );
    }
}

/// Counter units to ns (= instructions under `-icount shift=0`).
fn to_ns(counts: u64) -> u64 {
    counts * 1_000_000_000 / preempt::time::Instant::frequency()
}

fn main() {
    init("smp");
    if cpu::count() <= CORE_B {
        println!(
            "BENCH-ERROR smp: {} core(s) run threads; this kernel needs {}",
            cpu::count(),
            CORE_B + 1
        );
        preempt::exit(1);
    }
    println!(
        "BENCH-INFO smp: {} cores, virtual counter at {} Hz, {} samples per metric",
        cpu::count(),
        preempt::time::Instant::frequency(),
        SAMPLES
    );
    let mut s = smp_wake();
    report_dithered("smp_wake", Unit::Instructions, &mut s);
    let mut s = smp_ipi_latency();
    report_dithered("smp_ipi_latency", Unit::Instructions, &mut s);
}

/// The acting side's loop, on core A: `act` starts one hand-over; each sample is kept when
/// `accepted(before)` says the target took exactly the expected interrupt (given a snapshot
/// `snapshot()` taken before) and neither core took a tick.
fn drive(
    name: &str,
    snapshot: impl Fn() -> u64,
    accepted: impl Fn(u64) -> bool,
    mut act: impl FnMut(),
) -> Vec<u64> {
    let mut kept = Vec::with_capacity(SAMPLES);
    // The acting core's own share of each kept sample (its PMU), for the information line.
    let mut own = Vec::with_capacity(SAMPLES);
    preempt_arch::pmu::enable(); // `init` started the PMU of `main`'s core only
    let (mut done, mut discarded) = (0, 0);
    let mut phase = 0x2545_f491_4f6c_dd1d_u64;
    while kept.len() < SAMPLES {
        let seq = SEQ.load(Acquire);
        let tick = ticks();
        let before = snapshot();
        // A random shift of the window's start within a counter step (module docs).
        phase ^= phase << 13;
        phase ^= phase >> 7;
        phase ^= phase << 17;
        stagger(phase & 15);
        let own_start = preempt_bench::read();
        let start = vnow();
        act();
        let own_end = preempt_bench::read();
        // Halt until the target has closed the window and interrupted this core back: under
        // `-icount` QEMU runs the target only once this core halts (module docs).
        while SEQ.load(Acquire) == seq {
            cpu_arch::wait_for_interrupt();
        }
        let end = END.load(Relaxed);
        done += 1;
        if done <= WARMUP {
            continue;
        }
        if ticks() == tick && END_QUIET.load(Relaxed) && accepted(before) {
            kept.push(to_ns(end.wrapping_sub(start)));
            own.push(preempt_bench::since(own_start, own_end));
        } else {
            discarded += 1;
            if discarded > MAX_DISCARDED {
                println!("BENCH-ERROR {name}: {discarded} samples were not one clean hand-over");
                preempt::exit(1);
            }
        }
    }
    own.sort_unstable();
    println!(
        "BENCH-INFO {name}: core {CORE_A}'s share (PMU, its call from start to return): median {}; \
         {discarded} samples discarded (a tick, or not one clean hand-over)",
        own[(own.len() - 1) / 2]
    );
    kept
}

fn pinned<T: Send + 'static>(
    core: usize,
    priority: u8,
    f: impl FnOnce() -> T + Send + 'static,
) -> preempt::thread::JoinHandle<T> {
    Builder::new()
        .affinity(1 << core)
        .priority(priority)
        .spawn(f)
        .expect("spawn")
}

fn smp_wake() -> Vec<u64> {
    static SEM: Semaphore = Semaphore::new(0);
    DONE.store(false, Relaxed);
    let high = pinned(CORE_B, HIGH, || {
        assert_eq!(cpu::current(), CORE_B);
        loop {
            let tick = ticks();
            SEM.acquire();
            let end = vnow();
            END.store(end, Relaxed);
            END_QUIET.store(ticks() == tick, Relaxed);
            SEQ.fetch_add(1, Release);
            ipi::send(CORE_A); // ends core A's wait
            if DONE.load(Relaxed) {
                break;
            }
        }
    });
    let low = pinned(CORE_A, LOW, || {
        assert_eq!(cpu::current(), CORE_A);
        let samples = drive(
            "smp_wake",
            || ipi::counts(CORE_B).1,
            |before| ipi::counts(CORE_B).1 == before + 1,
            || SEM.release(),
        );
        DONE.store(true, Relaxed);
        SEM.release();
        samples
    });
    let samples = low.join().expect("the releasing thread");
    high.join().expect("the woken thread");
    samples
}

/// The handler on core B: the window's end first, then the bookkeeping.
fn on_sgi(_line: u32) {
    let end = vnow();
    END.store(end, Relaxed);
    HANDLED.fetch_add(1, Relaxed);
    let tick = ticks();
    END_QUIET.store(B_TICKS.swap(tick, Relaxed) == tick, Relaxed);
    SEQ.fetch_add(1, Release);
    ipi::send(CORE_A); // ends core A's wait
}

/// Runs of [`on_sgi`].
static HANDLED: AtomicU64 = AtomicU64::new(0);
/// Core B's tick count at the previous run of [`on_sgi`].
static B_TICKS: AtomicU64 = AtomicU64::new(0);

fn smp_ipi_latency() -> Vec<u64> {
    static STOP: Semaphore = Semaphore::new(0);
    static READY: Semaphore = Semaphore::new(0);
    let line = irq::sgi_line(SGI);
    // The handler and the line's enable, on core B (SGIs are enabled per core); then core B
    // idles until the end.
    let target = pinned(CORE_B, HIGH, move || {
        B_TICKS.store(ticks(), Relaxed);
        irq::register(line, on_sgi).expect("register the SGI handler");
        READY.release();
        STOP.acquire();
        irq::unregister(line).expect("unregister the SGI handler");
    });
    READY.acquire();
    let sender = pinned(CORE_A, LOW, || {
        drive(
            "smp_ipi_latency",
            || HANDLED.load(Relaxed),
            |before| HANDLED.load(Relaxed) == before + 1,
            || ipi::send_sgi(CORE_B, SGI).expect("send the SGI"),
        )
    });
    let samples = sender.join().expect("the sending thread");
    STOP.release();
    target.join().expect("the target thread");
    samples
}
