//! Thread-Metric memory allocation (`tm_memory`): one thread takes a 128-byte block from a
//! fixed-size block pool and gives it back, in a loop. Score: pairs.
//!
//! xtask: timeout=60
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use preempt::pool::BlockPool;
use preempt_bench::tm;

preempt::entry!(main);

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn main() {
    tm::setup("tm_memory");
    let _worker = preempt_bench::builder()
        .name("memory")
        .priority(tm::priority(10))
        .spawn(|| {
            let pool = BlockPool::new(128, 16).expect("pool");
            loop {
                let block = pool.alloc().expect("a free block");
                pool.free(block);
                COUNTER.store(COUNTER.load(Relaxed) + 1, Relaxed);
            }
        })
        .expect("spawn");
    tm::report("tm_memory", || COUNTER.load(Relaxed), || Ok(()));
}
