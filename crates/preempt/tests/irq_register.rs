//! Registering interrupt handlers: a line that already has a handler is refused (the first
//! handler stays), and a handler the controller refuses to enable is not left installed.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};
use preempt::irq;
use preempt::{check, check_eq, println};

preempt::entry!(main);

static A: AtomicU32 = AtomicU32::new(0);
static B: AtomicU32 = AtomicU32::new(0);

fn a(_line: u32) {
    A.fetch_add(1, Ordering::Relaxed);
}

fn b(_line: u32) {
    B.fetch_add(1, Ordering::Relaxed);
}

fn main() {
    let sgi = 5;
    let line = irq::sgi_line(sgi);
    irq::register(line, a).expect("register");
    let again = irq::register(line, b);
    check!(
        again.is_err(),
        "a second handler was accepted for the same line"
    );
    irq::trigger_software(sgi).expect("sgi");
    check_eq!(
        (A.load(Ordering::Relaxed), B.load(Ordering::Relaxed)),
        (1, 0)
    );

    // After unregistering, the line is free again.
    irq::unregister(line).expect("unregister");
    irq::register(line, b).expect("register after unregister");
    irq::trigger_software(sgi).expect("sgi");
    check_eq!(
        (A.load(Ordering::Relaxed), B.load(Ordering::Relaxed)),
        (1, 1)
    );
    irq::unregister(line).expect("unregister");

    // A line in the kernel's range that the controller does not have.
    let bad = 1000;
    let first = irq::register(bad, a);
    check!(
        matches!(first, Err(irq::IrqError::Controller(_))),
        "{:?}",
        first
    );
    let second = irq::register(bad, a);
    check!(
        matches!(second, Err(irq::IrqError::Controller(_))),
        "the refused handler stayed installed: {:?}",
        second
    );
    println!("irq_register: ok");
}
