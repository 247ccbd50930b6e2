//! Waiting on a `Condvar` inside an interrupt handler is refused even when the wait would end at
//! once (`wait_while` with a false condition): the system stops with a message naming the call.
//! xtask: expect-exit=102
//! xtask: expect-output=Condvar::wait_while would block inside an interrupt handler
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};
use preempt::sync::{Condvar, Mutex};
use preempt::{check, irq};

preempt::entry!(main);

static M: Mutex<u32> = Mutex::new(0);
static CV: Condvar = Condvar::new();
static DONE: AtomicU32 = AtomicU32::new(0);

fn handler(_line: u32) {
    // try_lock is allowed in a handler; waiting is not.
    let g = M.try_lock().expect("a free mutex");
    let g = CV
        .wait_while(g, |v| *v != 0)
        .unwrap_or_else(|p| p.into_inner());
    DONE.store(*g + 1, Ordering::Relaxed);
}

fn main() {
    irq::register(irq::sgi_line(6), handler).expect("register");
    irq::trigger_software(6).expect("sgi");
    check!(
        DONE.load(Ordering::Relaxed) == 0,
        "Condvar::wait_while inside a handler was allowed"
    );
    check!(false, "the handler did not run");
}
