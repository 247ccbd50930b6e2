//! Locking a `Mutex` inside an interrupt handler is refused even when the mutex is free, like
//! every other blocking call there: the system stops with a message naming the call.
//! xtask: expect-exit=102
//! xtask: expect-output=Mutex::lock would block inside an interrupt handler
#![no_std]
#![no_main]

use preempt::sync::Mutex;
use preempt::{check, irq, println};

preempt::entry!(main);

static M: Mutex<u32> = Mutex::new(0);

fn handler(_line: u32) {
    *M.lock().unwrap_or_else(|p| p.into_inner()) += 1;
}

fn main() {
    irq::register(irq::sgi_line(6), handler).expect("register");
    irq::trigger_software(6).expect("sgi");
    println!(
        "the handler locked the mutex {} time(s)",
        *M.lock().expect("lock")
    );
    check!(false, "Mutex::lock inside a handler was allowed");
}
