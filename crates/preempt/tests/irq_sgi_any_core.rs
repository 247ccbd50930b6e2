//! A software interrupt registered on one core reaches its handler whichever core raises it:
//! its line is enabled per core, and a raise on a core other than the registering one enables
//! it there first (GICv3 and the Pi's local controller do not deliver it otherwise; QEMU's
//! GICv2 happens to). Each started core raises it once from a thread pinned there; the handler
//! counts per core.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};
use preempt::thread::{self, Builder};
use preempt::time::{Duration, Instant};
use preempt::{check, check_eq, cpu, irq, println};

preempt::entry!(main);

const SGI: u32 = 5;

static HITS: [AtomicU32; 4] = [const { AtomicU32::new(0) }; 4];

fn handler(_line: u32) {
    HITS[cpu::current()].fetch_add(1, Ordering::Relaxed);
}

/// Raises the SGI from a thread pinned to `core`, then gives it 2 ms to arrive.
fn raise_on(core: usize) {
    Builder::new()
        .affinity(1 << core)
        .spawn(|| irq::trigger_software(SGI).expect("trigger"))
        .expect("spawn")
        .join()
        .expect("raiser");
    thread::sleep(Duration::from_millis(2));
}

fn main() {
    irq::register(irq::sgi_line(SGI), handler).expect("register");
    for core in 0..cpu::count() {
        Builder::new()
            .affinity(1 << core)
            .spawn(move || {
                check_eq!(cpu::current(), core);
                irq::trigger_software(SGI).expect("trigger");
                let until = Instant::now() + Duration::from_millis(50);
                while HITS[core].load(Ordering::Relaxed) == 0 && Instant::now() < until {
                    thread::sleep(Duration::from_millis(1));
                }
            })
            .expect("spawn")
            .join()
            .expect("raiser");
        check!(
            HITS[core].load(Ordering::Relaxed) == 1,
            "SGI {} raised on core {} reached its handler {} times",
            SGI,
            core,
            HITS[core].load(Ordering::Relaxed)
        );
    }
    // Raised on a core after `unregister`, it has no handler there and the kernel disables
    // it on that core; registering again makes every core enable it again on its next raise.
    let last = cpu::count() - 1;
    irq::unregister(irq::sgi_line(SGI)).expect("unregister");
    raise_on(last);
    irq::register(irq::sgi_line(SGI), handler).expect("register again");
    raise_on(last);
    check_eq!(HITS[last].load(Ordering::Relaxed), 2);
    println!("irq_sgi_any_core: {} cores ok", cpu::count());
}
