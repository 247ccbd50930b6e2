//! Thread-Metric synchronization processing (`tm_synchronization`): one thread acquires and
//! releases a semaphore (it never has to wait) and counts, in a loop. Score: pairs.
//!
//! xtask: timeout=60
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use preempt::sync::Semaphore;
use preempt_bench::tm;

preempt::entry!(main);

static SEM: Semaphore = Semaphore::new(1);
static COUNTER: AtomicU64 = AtomicU64::new(0);

fn main() {
    tm::setup("tm_synchronization");
    let _worker = preempt_bench::builder()
        .name("sync")
        .priority(tm::priority(10))
        .spawn(|| loop {
            SEM.acquire();
            SEM.release();
            COUNTER.store(COUNTER.load(Relaxed) + 1, Relaxed);
        })
        .expect("spawn");
    tm::report("tm_synchronization", || COUNTER.load(Relaxed), || Ok(()));
}
