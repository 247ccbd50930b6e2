//! Tickless on every core: four threads, one per core, each computing alone, take no timer
//! interrupt at all and no lock shared by the cores — neither the scheduler lock nor the
//! interrupt controller's — however long they run.
//!
//! A core's timer is programmed only for what is due on it (docs/design.md, "Time"): nothing
//! here. With the periodic tick every core took one interrupt per millisecond (800 in this
//! window), and before the quiet ticks every one of them took the scheduler lock.
//!
//! Real time with the cores in parallel (MTTCG): under `-icount` `cargo xtask` gives the
//! kernel a timer deadline per core every millisecond, for the emulator's sake (the cores
//! take turns there: see `icount-tick-us`), which this test is not about.
//! xtask: smp=4
//! xtask: icount=off
//! xtask: timeout=120
//! xtask: expect-output=smp_tickless: ok
#![no_std]
#![no_main]

use core::hint::spin_loop;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use preempt::testing::{irqchip_lock_takes, sched_lock_takes, spawn_on, timer_interrupts};
use preempt::time::{Duration, Instant};
use preempt::{check, cpu, println};

preempt::entry!(main);

/// How long the four cores compute alone.
const WINDOW: Duration = Duration::from_millis(200);
/// Scheduler-lock takes allowed in that window (none is needed).
const SCHED_TAKES_MAX: u32 = 2;
/// Interrupt-controller lock takes allowed.
const IRQCHIP_TAKES_MAX: u32 = 2;

static STOP: AtomicBool = AtomicBool::new(false);
static RUNNING: AtomicU32 = AtomicU32::new(0);

fn main() {
    check!(cpu::count() == 4, "needs 4 cores, has {}", cpu::count());
    // `main` stays alone on core 0; one worker computes alone on each other core.
    let workers = [1, 2, 3].map(|core| {
        spawn_on(core, || {
            RUNNING.fetch_add(1, Ordering::Relaxed);
            let mut x = 1u64;
            while !STOP.load(Ordering::Relaxed) {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                spin_loop();
            }
            x
        })
    });
    while RUNNING.load(Ordering::Relaxed) < 3 {
        spin_loop();
    }
    // Let a timer programmed before the spawns (a slice that ended meanwhile) fire.
    let settle = Instant::now() + Duration::from_millis(5);
    while Instant::now() < settle {
        spin_loop();
    }
    let (irqs0, sched0, chip0) = (timer_interrupts(), sched_lock_takes(), irqchip_lock_takes());
    let end = Instant::now() + WINDOW;
    while Instant::now() < end {
        spin_loop();
    }
    let irqs = timer_interrupts() - irqs0;
    let sched = sched_lock_takes().wrapping_sub(sched0);
    let chip = irqchip_lock_takes().wrapping_sub(chip0);
    STOP.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    println!(
        "{WINDOW:?} of four busy cores: {irqs} timer interrupts, scheduler lock taken {sched} \
         times, interrupt controller's lock {chip} times"
    );
    check!(irqs == 0, "{} timer interrupts while nothing was due", irqs);
    check!(
        sched <= SCHED_TAKES_MAX,
        "busy cores took the scheduler lock {} times (at most {} expected)",
        sched,
        SCHED_TAKES_MAX
    );
    check!(
        chip <= IRQCHIP_TAKES_MAX,
        "busy cores took the interrupt controller's lock {} times (at most {} expected)",
        chip,
        IRQCHIP_TAKES_MAX
    );
    println!("smp_tickless: ok");
}
