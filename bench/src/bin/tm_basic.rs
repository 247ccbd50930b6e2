//! Thread-Metric basic processing (`tm_basic`): one thread repeatedly runs a fixed compute
//! kernel over a 1024-word array and counts passes; no kernel service is called. The score
//! calibrates the CPU (here: the compiler's code for the kernel, and the ticks' toll on a
//! busy thread) rather than the scheduler.
//!
//! The kernel: the array is filled once with 0, 1, 2…; each pass then replaces every word by
//! (word + pass counter) XOR word. Array and counter are accessed like C `volatile` data
//! (relaxed atomics: one load or store each, never merged or vectorised), as in the original.
//!
//! xtask: timeout=60
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use preempt_bench::tm;

preempt::entry!(main);

static ARRAY: [AtomicU64; 1024] = [const { AtomicU64::new(0) }; 1024];
static COUNTER: AtomicU64 = AtomicU64::new(0);

fn main() {
    tm::setup("tm_basic");
    let _worker = preempt_bench::builder()
        .name("basic")
        .priority(tm::priority(10))
        .spawn(worker)
        .expect("spawn");
    tm::report("tm_basic", || COUNTER.load(Relaxed), || Ok(()));
}

fn worker() {
    for (i, word) in ARRAY.iter().enumerate() {
        word.store(i as u64, Relaxed);
    }
    loop {
        for word in &ARRAY {
            let old = word.load(Relaxed);
            word.store(old.wrapping_add(COUNTER.load(Relaxed)) ^ old, Relaxed);
        }
        COUNTER.store(COUNTER.load(Relaxed) + 1, Relaxed);
    }
}
