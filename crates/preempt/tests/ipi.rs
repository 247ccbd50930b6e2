//! Inter-processor interrupts on one core: `kick` to the caller's own core (or to cores not
//! started) sends nothing; a reschedule interrupt sent to this core through the board's driver
//! (a self-IPI: GIC SGI 15, or the BCM2836 core mailbox 1) is received, counted, and makes
//! the core check for preemption at once, so a higher-priority thread that was made ready
//! without a check (as a wake-up on another core would leave it) runs before the sender goes
//! on. The IPI's line is the kernel's: registering a handler for it is refused.
//!
//! With several cores, every started core has set up its IPI; main and the high-priority
//! thread share main's core on purpose (the point is the path on one core: the thread runs at
//! spawn, and only this core's check can let it run), and the other cores, idle, are sent
//! nothing.
//! xtask: timeout=30
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};
use preempt::testing::ipi;
use preempt::thread::{self, Builder};
use preempt::time::{Duration, Instant};
use preempt::{check, check_eq, cpu, irq, println};

preempt::entry!(main);

/// Times the high-priority thread came back from `park`.
static RAN: AtomicU32 = AtomicU32::new(0);

fn nothing(_line: u32) {}

fn main() {
    let me = cpu::current();
    thread::set_affinity(1 << me).expect("pin main");
    // Cores are started in order, and each sets up its IPI before it runs threads.
    let online = (1u32 << cpu::count()) - 1;
    check_eq!(ipi::online(), online);
    check_eq!(ipi::counts(me), (0, 0));

    let high = Builder::new()
        .name("high")
        .priority(200)
        .affinity(1 << me)
        .spawn(|| loop {
            thread::park();
            RAN.fetch_add(1, Ordering::Relaxed);
        })
        .expect("spawn");
    // It ran at once (it outranks main) and is parked now.
    check_eq!(RAN.load(Ordering::Relaxed), 0);

    // A ready thread that outranks main, and nobody has checked: main keeps running...
    ipi::unpark_without_check(high.thread());
    for _ in 0..1000 {
        core::hint::spin_loop();
    }
    check_eq!(RAN.load(Ordering::Relaxed), 0);

    // ...and a kick to itself or to cores not started sends nothing.
    let others = online & !(1 << me);
    let before: [(u64, u64); 4] = core::array::from_fn(ipi::counts);
    ipi::kick(1 << me);
    ipi::kick(!others);
    check_eq!(ipi::counts(me), (0, 0));
    for core in 0..4 {
        check_eq!(ipi::counts(core), before[core]);
        if others & (1 << core) == 0 && core != me {
            check_eq!(ipi::counts(core), (0, 0));
        }
    }
    check_eq!(RAN.load(Ordering::Relaxed), 0);

    // The self-IPI: received and acted on before this thread goes on (well within a tick).
    let t0 = Instant::now();
    ipi::send(me);
    let mut spins = 0u32;
    while RAN.load(Ordering::Relaxed) == 0 && spins < 10_000 {
        spins += 1;
        core::hint::spin_loop();
    }
    let waited = t0.elapsed();
    check_eq!(RAN.load(Ordering::Relaxed), 1);
    check_eq!(ipi::counts(me), (1, 1));
    check!(
        waited < Duration::from_micros(200),
        "preempted {waited:?} after the IPI (a tick, not the IPI)"
    );
    println!("self-IPI preempted after {spins} spins");

    // Repeatedly, and an IPI with nothing to do costs only a check.
    for round in 2..=50u32 {
        ipi::unpark_without_check(high.thread());
        ipi::send(me);
        check_eq!(RAN.load(Ordering::Relaxed), round);
        ipi::send(me);
    }
    check_eq!(ipi::counts(me), (99, 99));

    // The line is the kernel's.
    let line = preempt::testing::ipi::line();
    check!(matches!(
        irq::register(line, nothing),
        Err(irq::IrqError::Reserved(l)) if l == line
    ));
    println!("ipi ok");
}
