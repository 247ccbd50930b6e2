//! `testing::ipi::send_sgi` raises a program's software interrupt on another core: the handler
//! registered for its line runs on that core, once per send; the kernel's own SGI (the
//! reschedule interrupt's, on a GIC) is refused.
//! xtask: smp=4
//! xtask: timeout=60
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use core::time::Duration;

use preempt::irq::{self, IrqError};
use preempt::testing::ipi;
use preempt::thread::{self, Builder};
use preempt::{check, check_eq, cpu, println};

preempt::entry!(main);

const SGI: u32 = 3;
const SENDS: u32 = 5;

static RUNS: AtomicU32 = AtomicU32::new(0);
static ON: AtomicUsize = AtomicUsize::new(usize::MAX);

fn on_sgi(_line: u32) {
    ON.store(cpu::current(), Ordering::Relaxed);
    RUNS.fetch_add(1, Ordering::Release);
}

fn main() {
    thread::set_affinity(1).expect("main on core 0");
    check_eq!(cpu::current(), 0);
    let line = irq::sgi_line(SGI);
    for target in 1..cpu::count() {
        // SGIs are enabled per core: the handler is installed once, the line enabled on each
        // target by a thread running there.
        Builder::new()
            .affinity(1 << target)
            .spawn(move || {
                if target == 1 {
                    irq::register(line, on_sgi).expect("register");
                } else {
                    irq::enable(line).expect("enable");
                }
            })
            .expect("spawn")
            .join()
            .expect("join");
        for _ in 0..SENDS {
            let before = RUNS.load(Ordering::Acquire);
            ipi::send_sgi(target, SGI).expect("send_sgi");
            // Wait asleep: under -icount the target runs only while this core idles.
            let mut waited = 0;
            while RUNS.load(Ordering::Acquire) == before {
                thread::sleep(Duration::from_micros(100));
                waited += 1;
                check!(waited < 1000, "no handler run on core {target}");
            }
            check_eq!(RUNS.load(Ordering::Acquire), before + 1);
            check_eq!(ON.load(Ordering::Relaxed), target);
        }
        println!("core {target}: {SENDS} SGIs handled there");
    }
    if irq::sgi_line(15) == ipi::line() {
        check!(matches!(ipi::send_sgi(1, 15), Err(IrqError::Reserved(15))));
        println!("the kernel's SGI is refused");
    }
    println!("smp_send_sgi: ok");
}
