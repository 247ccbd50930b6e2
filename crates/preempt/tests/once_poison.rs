//! `Once` whose initializer panicked is poisoned, as in std: a later `call_once` panics
//! ("Once instance has previously been poisoned") without running its closure, and
//! `call_once_force` runs, sees the poison and completes the `Once`. A `OnceLock`
//! whose initializer panicked stays empty and the next `get_or_init` initializes it.
//! xtask: expect-output=Once instance has previously been poisoned
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicBool, Ordering};
use preempt::sync::{Once, OnceLock};
use preempt::thread;
use preempt::{check, check_eq, println};

preempt::entry!(main);

static ONCE: Once = Once::new();
static CELL: OnceLock<u32> = OnceLock::new();
static RAN: AtomicBool = AtomicBool::new(false);

fn main() {
    let r = thread::spawn(|| ONCE.call_once(|| panic!("the initializer fails"))).join();
    check!(r.is_err());
    check!(!ONCE.is_completed());
    let r = thread::spawn(|| ONCE.call_once(|| RAN.store(true, Ordering::Relaxed))).join();
    check!(
        !RAN.load(Ordering::Relaxed),
        "call_once ran again after a panicked initializer"
    );
    check!(r.is_err(), "call_once on a poisoned Once returned");
    check!(!ONCE.is_completed());
    let mut saw_poison = None;
    ONCE.call_once_force(|state| saw_poison = Some(state.is_poisoned()));
    check_eq!(saw_poison, Some(true));
    check!(ONCE.is_completed());
    ONCE.call_once(|| RAN.store(true, Ordering::Relaxed));
    ONCE.call_once_force(|_| RAN.store(true, Ordering::Relaxed));
    check!(
        !RAN.load(Ordering::Relaxed),
        "a completed Once ran a closure"
    );

    // A healthy Once: call_once_force sees no poison.
    static FRESH: Once = Once::new();
    FRESH.call_once_force(|state| saw_poison = Some(state.is_poisoned()));
    check_eq!(saw_poison, Some(false));
    check!(FRESH.is_completed());

    let r = thread::spawn(|| *CELL.get_or_init(|| panic!("the cell's initializer fails"))).join();
    check!(r.is_err());
    check!(CELL.get().is_none());
    check_eq!(*CELL.get_or_init(|| 5), 5);
    check_eq!(CELL.get(), Some(&5));
    println!("once_poison: ok");
}
