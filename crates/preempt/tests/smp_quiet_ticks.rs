//! Quiet ticks on several cores: four threads, one per core, each computing alone, take
//! (almost) no lock shared by the cores on their ticks — neither the scheduler lock nor the
//! interrupt controller's.
//!
//! A tick skips the scheduler lock while the lock's epoch is unchanged since the core was
//! found quiet (docs/design.md, "Quiet ticks"). Once a tick's own decision moved the epoch on,
//! four cores ended each other's quiet stretches at every tick, and every tick of every core
//! took the scheduler lock (4 × 200 takes here); on the Raspberry Pi every interrupt also took
//! the interrupt controller's lock twice. Under QEMU with more busy cores than host CPUs, a
//! lock on every tick made a 4-core run up to 23 times slower than a 1-core one
//! (docs/performance.md, "Scaling").
//! xtask: smp=4
//! xtask: timeout=120
//! xtask: expect-output=smp_quiet_ticks: ok
#![no_std]
#![no_main]

use core::hint::spin_loop;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use preempt::config::ticks_taken;
use preempt::testing::{irqchip_lock_takes, sched_lock_takes, spawn_on};
use preempt::{check, cpu, println};

preempt::entry!(main);

/// Ticks of core 0 measured.
const TICKS: u64 = 200;
/// Scheduler-lock takes allowed in that window (the first tick of each core after the
/// workers started may decide; on the old code: about `4 * TICKS`).
const SCHED_TAKES_MAX: u32 = 20;
/// Interrupt-controller lock takes allowed (on the old code, on the Pi: about `8 * TICKS`).
const IRQCHIP_TAKES_MAX: u32 = 4;

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
    // Let every core's first tick after the spawns decide (and find itself quiet).
    let settle = ticks_taken() + 5;
    while ticks_taken() < settle {
        spin_loop();
    }
    let (sched0, chip0) = (sched_lock_takes(), irqchip_lock_takes());
    let end = ticks_taken() + TICKS;
    while ticks_taken() < end {
        spin_loop();
    }
    let sched = sched_lock_takes().wrapping_sub(sched0);
    let chip = irqchip_lock_takes().wrapping_sub(chip0);
    STOP.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    println!("{TICKS} ticks of core 0: scheduler lock taken {sched} times, interrupt controller's lock {chip} times");
    check!(
        sched <= SCHED_TAKES_MAX,
        "busy cores took the scheduler lock {} times in {} ticks (at most {} expected)",
        sched,
        TICKS,
        SCHED_TAKES_MAX
    );
    check!(
        chip <= IRQCHIP_TAKES_MAX,
        "busy cores took the interrupt controller's lock {} times in {} ticks (at most {} expected)",
        chip,
        TICKS,
        IRQCHIP_TAKES_MAX
    );
    println!("smp_quiet_ticks: ok");
}
