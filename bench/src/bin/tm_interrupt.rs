//! Thread-Metric interrupt processing (`tm_interrupt`): a thread raises a software interrupt;
//! the handler counts and releases a semaphore; the thread then acquires it (without blocking:
//! it was just released) and counts. Score: the handler's count; the two counts must stay
//! within one of each other.
//!
//! xtask: timeout=60
#![no_std]
#![no_main]

extern crate alloc;

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use preempt::irq;
use preempt::sync::Semaphore;
use preempt_bench::tm;

preempt::entry!(main);

const SGI: u32 = 1;
static SEM: Semaphore = Semaphore::new(0);
static HANDLER: AtomicU64 = AtomicU64::new(0);
static THREAD: AtomicU64 = AtomicU64::new(0);

fn handler(_line: u32) {
    HANDLER.store(HANDLER.load(Relaxed) + 1, Relaxed);
    SEM.release();
}

fn main() {
    tm::setup("tm_interrupt");
    irq::register(irq::sgi_line(SGI), handler).expect("register the SGI handler");
    let _worker = preempt_bench::builder()
        .name("interrupt")
        .priority(tm::priority(10))
        .spawn(|| loop {
            irq::trigger_software(SGI).expect("trigger SGI");
            SEM.acquire();
            THREAD.store(THREAD.load(Relaxed) + 1, Relaxed);
        })
        .expect("spawn");
    tm::report(
        "tm_interrupt",
        || HANDLER.load(Relaxed),
        || {
            let (h, t) = (HANDLER.load(Relaxed), THREAD.load(Relaxed));
            if h.abs_diff(t) > 1 {
                return Err(alloc::format!("handler count {h}, thread count {t}"));
            }
            Ok(())
        },
    );
}
