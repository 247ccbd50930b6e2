//! Thread-Metric interrupt preemption processing (`tm_interrupt_preemption`): a thread raises
//! a software interrupt and counts; the handler counts and resumes a suspended thread of
//! higher priority, which preempts the interrupted thread as soon as the handler returns,
//! counts and suspends itself again. Score: the handler's count (one per interrupt and
//! preemption); the three counts must stay within one of each other.
//!
//! Suspend and resume are `thread::park` and `Thread::unpark` (from the handler).
//!
//! xtask: timeout=60
#![no_std]
#![no_main]

extern crate alloc;

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use preempt::irq;
use preempt::sync::OnceLock;
use preempt::thread::{self, Thread};
use preempt_bench::tm;

preempt::entry!(main);

const SGI: u32 = 1;
static HIGH: OnceLock<Thread> = OnceLock::new();
static HANDLER: AtomicU64 = AtomicU64::new(0);
static LOW_COUNT: AtomicU64 = AtomicU64::new(0);
static HIGH_COUNT: AtomicU64 = AtomicU64::new(0);

fn handler(_line: u32) {
    HANDLER.store(HANDLER.load(Relaxed) + 1, Relaxed);
    if let Some(high) = HIGH.get() {
        high.unpark();
    }
}

fn main() {
    tm::setup("tm_interrupt_preemption");
    let high = preempt_bench::builder()
        .name("preempting")
        .priority(tm::priority(5))
        .spawn(|| loop {
            thread::park();
            HIGH_COUNT.store(HIGH_COUNT.load(Relaxed) + 1, Relaxed);
        })
        .expect("spawn");
    let _ = HIGH.set(high.thread().clone());
    irq::register(irq::sgi_line(SGI), handler).expect("register the SGI handler");
    let _low = preempt_bench::builder()
        .name("interrupted")
        .priority(tm::priority(10))
        .spawn(|| loop {
            irq::trigger_software(SGI).expect("trigger SGI");
            LOW_COUNT.store(LOW_COUNT.load(Relaxed) + 1, Relaxed);
        })
        .expect("spawn");
    tm::report(
        "tm_interrupt_preemption",
        || HANDLER.load(Relaxed),
        || {
            let c = [
                HANDLER.load(Relaxed),
                LOW_COUNT.load(Relaxed),
                HIGH_COUNT.load(Relaxed),
            ];
            let (lo, hi) = (
                c.iter().min().copied().unwrap_or(0),
                c.iter().max().copied().unwrap_or(0),
            );
            if hi - lo > 1 {
                return Err(alloc::format!(
                    "counts out of balance (handler, low, high): {c:?}"
                ));
            }
            Ok(())
        },
    );
}
