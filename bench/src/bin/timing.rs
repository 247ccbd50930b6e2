//! Precise time: how late the kernel wakes a thread after the deadline it asked for, and how
//! many timer interrupts it takes when nothing is due.
//!
//! - `wake_late_idle`: a thread of priority 250 calls `thread::sleep` for 20–80 µs, again and
//!   again, on an otherwise idle system. The durations step through that range by a stride
//!   coprime with it (`20 + i × 7919 mod 61` µs), so the deadlines fall at every phase of the
//!   periodic tick. A sample is the time the thread is running again (`Instant::now()` right
//!   after the call) minus the deadline (an `Instant` read just before the call plus the
//!   duration), in ns.
//! - `wake_late_busy`: the same while two threads of priority 10 spin on the same core.
//! - `loop_jitter`: a thread of priority 250 runs a 1 kHz loop, `sleep_until(next)` with
//!   `next += 1 ms`, the first deadline 1.37 ms after an `Instant` (between two ticks), under
//!   the same two spinning threads. A sample is the lateness of one wake-up against its
//!   deadline. The loop must not drift: the median lateness of its last quarter may exceed
//!   that of its first by 500 ns at most (`BENCH-ERROR` otherwise).
//! - `idle_irqs_per_s`: `main`, the only thread, sleeps 1 s, 3 times;
//!   a sample is the timer interrupts taken meanwhile by all cores
//!   (`preempt::testing::timer_interrupts`) minus the one that is due: the interrupt at the
//!   sleep's deadline, which wakes it. So the figure is the interrupts per second taken with
//!   nothing due (the raw count is printed too).
//!
//! 2,000 short sleeps for each of the first two, 1,000 wake-ups of the loop, after 10 of
//! warm-up; the same in `--quick` runs (like `latency`), so that the maxima are comparable
//! with the baseline's there too. A wake-up before its deadline stops the kernel with
//! `BENCH-ERROR`. Times come from the
//! system counter (`Instant::ticks`), converted to ns exactly (62.5 MHz under QEMU: every
//! sample is a multiple of 16 ns); under `-icount shift=0` a nanosecond is an instruction.
//! Every thread is pinned to `main`'s core (`preempt_bench::builder`), so with `--smp N` the
//! load still competes with the measuring thread on one core.
//!
//! xtask: timeout=600
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering::Relaxed};

use preempt::println;
use preempt::thread::{self, JoinHandle};
use preempt::time::{Duration, Instant};
use preempt_bench::{init, report, Unit};

preempt::entry!(main);

/// The measuring thread's priority (above everything else).
const HIGH: u8 = 250;
/// The spinning load's priority.
const LOW: u8 = 10;
/// Short sleeps per metric (warm-up not counted). The sample counts are the same in `--quick`
/// runs, so that their maxima, the figures that matter, are compared with the baseline's
/// there too: a run takes about 4 s of virtual time, most of it idle (skipped) or a spin
/// loop (which QEMU runs fast), a few seconds of host time.
const SLEEPS: usize = 2_000;
/// Wake-ups of the 1 kHz loop (one per virtual millisecond).
const LOOP_WAKES: usize = 1_000;
/// Seconds of sleep for `idle_irqs_per_s` (idle time costs no host time).
const IDLE_SECONDS: usize = 3;
/// Wake-ups before samples are kept.
const WARMUP: usize = 10;
/// The first deadline of the loop, after an `Instant` (between two 1 ms ticks).
const LOOP_PHASE: Duration = Duration::from_micros(1_370);
/// The loop's period.
const PERIOD: Duration = Duration::from_millis(1);
/// How much later the loop's last quarter may wake than its first (their median lateness)
/// before that counts as drift.
const DRIFT_SLACK_NS: u64 = 500;

static STOP: AtomicBool = AtomicBool::new(false);

fn main() {
    init("timing");

    let mut idle = on_high("wake_late_idle", short_sleeps);

    let load = [spawn_spinner("spin-a"), spawn_spinner("spin-b")];
    let mut busy = on_high("wake_late_busy", short_sleeps);
    let mut jitter = on_high("loop_jitter", periodic_loop);
    STOP.store(true, Relaxed);
    for h in load {
        h.join().expect("a spinning thread");
    }

    let mut irqs = idle_irqs();

    report("wake_late_idle", Unit::Nanoseconds, &mut idle);
    report("wake_late_busy", Unit::Nanoseconds, &mut busy);
    report("loop_jitter", Unit::Nanoseconds, &mut jitter);
    report("idle_irqs_per_s", Unit::Interrupts, &mut irqs);
}

/// Runs `body(name)` in a thread of priority [`HIGH`] pinned to `main`'s core; its samples.
fn on_high(name: &'static str, body: fn(&str) -> Vec<u64>) -> Vec<u64> {
    preempt_bench::builder()
        .name(name)
        .priority(HIGH)
        .spawn(move || body(name))
        .expect("spawn the measuring thread")
        .join()
        .expect("the measuring thread")
}

/// A thread of priority [`LOW`] on `main`'s core that spins until [`STOP`].
fn spawn_spinner(name: &str) -> JoinHandle<()> {
    preempt_bench::builder()
        .name(name)
        .priority(LOW)
        .spawn(|| {
            let mut n = 0u64;
            while !STOP.load(Relaxed) {
                n = core::hint::black_box(n + 1);
            }
        })
        .expect("spawn a spinning thread")
}

/// Counter ticks as ns (exact at QEMU's 62.5 MHz; rounded down otherwise).
fn ticks_to_ns(ticks: u64) -> u64 {
    (u128::from(ticks) * 1_000_000_000 / u128::from(Instant::frequency())) as u64
}

/// The lateness of a wake-up at `woke` for `deadline`, in ns; stops the kernel if it is early.
fn lateness(metric: &str, i: usize, deadline: Instant, woke: Instant) -> u64 {
    if woke < deadline {
        println!(
            "BENCH-ERROR {metric}: wake-up {i} came {} ns EARLY",
            ticks_to_ns(deadline.ticks() - woke.ticks())
        );
        preempt::exit(1);
    }
    ticks_to_ns(woke.ticks() - deadline.ticks())
}

/// [`SLEEPS`] sleeps of 20–80 µs; their lateness.
fn short_sleeps(metric: &str) -> Vec<u64> {
    let mut samples = Vec::with_capacity(SLEEPS);
    for i in 0..WARMUP + SLEEPS {
        let d = Duration::from_micros(20 + (i as u64 * 7919) % 61);
        let deadline = Instant::now() + d;
        thread::sleep(d);
        let late = lateness(metric, i, deadline, Instant::now());
        if i >= WARMUP {
            samples.push(late);
        }
    }
    samples
}

/// The 1 kHz `sleep_until` loop; its lateness per wake-up (checked for drift).
fn periodic_loop(metric: &str) -> Vec<u64> {
    let mut samples = Vec::with_capacity(LOOP_WAKES);
    let mut next = Instant::now() + LOOP_PHASE;
    for i in 0..WARMUP + LOOP_WAKES {
        thread::sleep_until(next);
        let late = lateness(metric, i, next, Instant::now());
        if i >= WARMUP {
            samples.push(late);
        }
        next += PERIOD;
    }
    let quarter = samples.len() / 4;
    let early = median(&samples[..quarter]);
    let late = median(&samples[samples.len() - quarter..]);
    println!(
        "{metric}: lateness of the first wake-up {} ns, the last {} ns; median of the first quarter {early} ns, of the last {late} ns",
        samples[0],
        samples[samples.len() - 1]
    );
    if late > early + DRIFT_SLACK_NS {
        println!(
            "BENCH-ERROR {metric}: the loop drifts: median lateness {early} ns in the first quarter, {late} ns in the last"
        );
        preempt::exit(1);
    }
    samples
}

/// The lower middle value of `v`.
fn median(v: &[u64]) -> u64 {
    let mut sorted = v.to_vec();
    sorted.sort_unstable();
    sorted[(sorted.len() - 1) / 2]
}

/// Timer interrupts beyond the one due, per 1 s sleep of the only thread.
fn idle_irqs() -> Vec<u64> {
    let seconds = IDLE_SECONDS;
    // Let the threads that just ended be reaped and the core settle first.
    thread::sleep(Duration::from_millis(10));
    let mut samples = Vec::with_capacity(seconds);
    let mut raw = Vec::with_capacity(seconds);
    for _ in 0..seconds {
        let before = preempt::testing::timer_interrupts();
        thread::sleep(Duration::from_secs(1));
        let taken = preempt::testing::timer_interrupts() - before;
        raw.push(taken);
        // The interrupt at the deadline, which ends the sleep, is due.
        samples.push(taken.saturating_sub(1));
    }
    println!("idle_irqs_per_s: timer interrupts per 1 s sleep, the waking one included: {raw:?}");
    samples
}
