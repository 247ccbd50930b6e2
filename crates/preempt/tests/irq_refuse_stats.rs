//! `preempt::stats::threads` (which allocates) is refused inside an interrupt handler: the
//! system stops with a message naming the call, instead of allocating with IRQs masked.
//! xtask: expect-exit=102
//! xtask: expect-output=preempt::stats::threads called inside an interrupt handler
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicUsize, Ordering};
use preempt::{check, irq, println, stats};

preempt::entry!(main);

static SEEN: AtomicUsize = AtomicUsize::new(0);

fn handler(_line: u32) {
    SEEN.store(stats::threads().len(), Ordering::Relaxed);
}

fn main() {
    check!(!stats::threads().is_empty(), "a thread sees no threads");
    irq::register(irq::sgi_line(6), handler).expect("register");
    irq::trigger_software(6).expect("sgi");
    println!(
        "the handler listed {} thread(s)",
        SEEN.load(Ordering::Relaxed)
    );
    check!(false, "stats::threads inside a handler was allowed");
}
