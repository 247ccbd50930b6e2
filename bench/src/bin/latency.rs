//! Worst-case interrupt-to-thread latency, with nothing else running and under a heap-heavy
//! load:
//! - `irq_to_thread_worst_idle`: a timer interrupt fires at a known counter value; its handler
//!   releases a semaphore; a thread of the highest priority blocked on it wakes. A sample is
//!   the time from the timer's deadline to that thread's return from `acquire`. Only that
//!   thread and `main` (blocked in `join`) exist: the interrupt finds the core idle.
//! - `irq_to_thread_worst_loaded`: the same while lower-priority threads allocate and free
//!   blocks of varied sizes (`preempt_bench::load`, 4,096 live, ~30 MiB), grow `Vec`s to up to 64 KiB,
//!   spawn + join threads and spawn detached threads that exit — everything that takes the
//!   heap lock or the scheduler lock with IRQs masked.
//!
//! The `max` of each is the worst case seen; the acceptance is that the loaded worst
//! exceeds the idle worst by a small constant (`cargo xtask bench --check` enforces it).
//!
//! The interrupt is the EL1 virtual timer (the kernel's tick uses the physical one): GIC PPI 27
//! on virt, local line 3 (`CNTVIRQ`) on the BCM2837. Deadlines are 20–220 µs apart,
//! pseudo-random, so they land at every phase of the load. Times come from the virtual counter
//! and are converted to ns, which under `-icount shift=0` are instructions; the counter's
//! resolution (62.5 MHz) makes a sample a multiple of 16. No sample is discarded: ticks are
//! part of the load. The sample count is the same in `--quick` runs.
//!
//! xtask: timeout=300
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

use preempt::irq;
use preempt::sync::Semaphore;
use preempt::thread::{self, JoinHandle};
use preempt_bench::load::{self, Block, Rng};
use preempt_bench::{init, report, Unit};

preempt::entry!(main);

/// Samples per metric, in both modes (a maximum over fewer samples is not comparable).
const SAMPLES: usize = 2_000;
const WARMUP: usize = 20;
/// The measuring thread's priority (above everything else).
const HIGH: u8 = 250;
/// The load threads' priority (below `main`).
const LOW: u8 = 20;
/// Live blocks of the allocating load thread.
const SLOTS: usize = 4096;
/// Detached threads alive at most at once.
const DETACHED_MAX: usize = 8;

static SEM: Semaphore = Semaphore::new(0);
static STOP: AtomicBool = AtomicBool::new(false);
static DETACHED: AtomicUsize = AtomicUsize::new(0);

/// The EL1 virtual timer, programmed directly (the kernel leaves it alone).
mod vtimer {
    use core::arch::asm;

    /// Its interrupt line: GIC PPI 27 on virt; `CNTVIRQ`, local line 3, on the BCM2837 (told
    /// apart by where SGIs are numbered: from 16 there, from 0 on a GIC).
    pub fn line() -> u32 {
        if preempt::irq::sgi_line(0) == 16 {
            3
        } else {
            27
        }
    }

    /// `CNTVCT_EL0`, ordered after earlier instructions.
    #[inline(always)]
    pub fn now() -> u64 {
        let c: u64;
        // SAFETY: `isb` and a read of the virtual count; no memory is touched.
        unsafe { asm!("isb", "mrs {0}, cntvct_el0", out(reg) c, options(nomem, nostack)) };
        c
    }

    /// Fires when the virtual count reaches `deadline`.
    pub fn arm(deadline: u64) {
        // SAFETY: programs this core's EL1 virtual timer (enable, unmasked); no memory.
        unsafe {
            asm!(
                "msr cntv_cval_el0, {d}",
                "msr cntv_ctl_el0, {ctl}",
                "isb",
                d = in(reg) deadline,
                ctl = in(reg) 1u64,
                options(nomem, nostack)
            )
        }
    }

    /// Disables the timer, which drops its (level-triggered) interrupt.
    pub fn stop() {
        // SAFETY: disables this core's EL1 virtual timer; no memory.
        unsafe { asm!("msr cntv_ctl_el0, xzr", "isb", options(nomem, nostack)) }
    }
}

fn on_timer(_line: u32) {
    vtimer::stop();
    SEM.release();
}

/// Takes `SAMPLES` latencies (ns) in a thread of priority [`HIGH`].
fn sample(seed: u64) -> Vec<u64> {
    preempt_bench::builder()
        .name("measure")
        .priority(HIGH)
        .spawn(move || {
            let freq = preempt::time::Instant::frequency();
            let mut rng = Rng::new(seed);
            let mut samples = Vec::with_capacity(SAMPLES);
            for i in 0..WARMUP + SAMPLES {
                let delay_ns = 20_000 + rng.below(200_000);
                let deadline = vtimer::now() + delay_ns * freq / 1_000_000_000;
                vtimer::arm(deadline);
                SEM.acquire();
                let late = vtimer::now().saturating_sub(deadline);
                if i >= WARMUP {
                    samples.push(late * 1_000_000_000 / freq);
                }
            }
            samples
        })
        .expect("spawn the measuring thread")
        .join()
        .expect("the measuring thread")
}

fn spawn_load(name: &str, body: fn()) -> JoinHandle<()> {
    preempt_bench::builder()
        .name(name)
        .priority(LOW)
        .spawn(body)
        .expect("spawn a load thread")
}

/// Replaces a random one of 4,096 live blocks with a new one of random layout.
fn alloc_free() {
    let mut rng = Rng::new(0x10ad_0001);
    let mut slots: Vec<Option<Block>> = (0..SLOTS).map(|_| None).collect();
    while !STOP.load(Relaxed) {
        let i = rng.below(SLOTS as u64) as usize;
        slots[i] = None;
        slots[i] = Some(Block::new(load::layout(&mut rng)).expect("out of memory"));
    }
}

/// Grows a `Vec<u64>` one push at a time to up to 8,192 elements, then drops it.
fn vec_growth() {
    let mut rng = Rng::new(0x10ad_0002);
    while !STOP.load(Relaxed) {
        let n = 1 + rng.below(8192);
        let mut v = Vec::new();
        for k in 0..n {
            v.push(k);
        }
        core::hint::black_box(&v);
    }
}

/// Spawns a thread (16 or 64 KiB stack) and joins it.
fn spawn_join() {
    let mut big = false;
    while !STOP.load(Relaxed) {
        big = !big;
        preempt_bench::builder()
            .priority(LOW)
            .stack_size(if big { 64 * 1024 } else { 16 * 1024 })
            .spawn(|| core::hint::black_box(1u32))
            .expect("spawn")
            .join()
            .expect("join");
    }
}

/// Keeps up to [`DETACHED_MAX`] detached threads coming and going.
fn detached() {
    while !STOP.load(Relaxed) {
        if DETACHED.load(Relaxed) >= DETACHED_MAX {
            thread::yield_now();
            continue;
        }
        DETACHED.fetch_add(1, Relaxed);
        drop(
            preempt_bench::builder()
                .priority(LOW)
                .stack_size(16 * 1024)
                .spawn(|| {
                    DETACHED.fetch_sub(1, Relaxed);
                })
                .expect("spawn"),
        );
    }
}

fn main() {
    init("latency");
    irq::register(vtimer::line(), on_timer).expect("register the virtual timer's handler");

    let mut idle = sample(0x1a7e_0001);

    let load = [
        spawn_load("alloc-free", alloc_free),
        spawn_load("vec-growth", vec_growth),
        spawn_load("spawn-join", spawn_join),
        spawn_load("detached", detached),
    ];
    let mut loaded = sample(0x1a7e_0002);
    STOP.store(true, Relaxed);
    for h in load {
        h.join().expect("a load thread");
    }
    while DETACHED.load(Relaxed) > 0 {
        thread::sleep(core::time::Duration::from_millis(1));
    }

    report(
        "irq_to_thread_worst_idle",
        Unit::CounterInstructions,
        &mut idle,
    );
    report(
        "irq_to_thread_worst_loaded",
        Unit::CounterInstructions,
        &mut loaded,
    );
}
