//! A thread-local used inside an interrupt handler is refused (the handler has no thread of
//! its own, and `TPIDR_EL0` there is the interrupted thread's): the system stops with a
//! message naming the problem, even though the interrupted thread's value exists.
//! xtask: expect-exit=101
//! xtask: expect-output=thread-local storage used in an interrupt handler
#![no_std]
#![no_main]

use core::cell::Cell;
use core::sync::atomic::{AtomicU32, Ordering};
use preempt::{check, irq, println};

preempt::entry!(main);

static SEEN: AtomicU32 = AtomicU32::new(0);

preempt::thread_local! {
    static VALUE: Cell<u32> = const { Cell::new(0) };
}

fn handler(_line: u32) {
    SEEN.store(VALUE.get() + 1, Ordering::SeqCst);
}

fn main() {
    VALUE.set(41);
    irq::register(irq::sgi_line(6), handler).expect("register");
    irq::trigger_software(6).expect("sgi");
    println!("the handler saw {}", SEEN.load(Ordering::SeqCst));
    check!(false, "a thread-local was used inside a handler");
}
