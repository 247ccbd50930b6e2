//! Taking an `RwLock` inside an interrupt handler is refused even when it is free: the system
//! stops with a message naming the call.
//! xtask: expect-exit=102
//! xtask: expect-output=RwLock::read would block inside an interrupt handler
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};
use preempt::sync::RwLock;
use preempt::{check, irq};

preempt::entry!(main);

static L: RwLock<u32> = RwLock::new(0);
static SEEN: AtomicU32 = AtomicU32::new(0);

fn handler(_line: u32) {
    let v = *L.read().unwrap_or_else(|p| p.into_inner());
    SEEN.store(v + 1, Ordering::Relaxed);
}

fn main() {
    irq::register(irq::sgi_line(6), handler).expect("register");
    irq::trigger_software(6).expect("sgi");
    check!(
        SEEN.load(Ordering::Relaxed) == 0,
        "RwLock::read inside a handler was allowed"
    );
    check!(false, "the handler did not run");
}
