//! Thread-Metric cooperative scheduling (`tm_cooperative`): five threads of one priority each
//! increment their own counter and call `thread::yield_now`, forever. Score: the sum of the
//! five counters over the period. At every report the counters must be within one of each
//! other (true round robin), or the run fails.
//!
//! xtask: timeout=60
#![no_std]
#![no_main]

extern crate alloc;

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use preempt::thread;
use preempt_bench::tm;

preempt::entry!(main);

const THREADS: usize = 5;
static COUNTERS: [AtomicU64; THREADS] = [const { AtomicU64::new(0) }; THREADS];

fn main() {
    tm::setup("tm_cooperative");
    for i in 0..THREADS {
        preempt_bench::builder()
            .name(alloc::format!("coop{i}"))
            .priority(tm::priority(3))
            .spawn(move || worker(i))
            .expect("spawn");
    }
    tm::report("tm_cooperative", total, balanced);
}

fn worker(i: usize) {
    loop {
        COUNTERS[i].store(COUNTERS[i].load(Relaxed) + 1, Relaxed);
        thread::yield_now();
    }
}

fn total() -> u64 {
    COUNTERS.iter().map(|c| c.load(Relaxed)).sum()
}

fn balanced() -> Result<(), alloc::string::String> {
    let counts: [u64; THREADS] = core::array::from_fn(|i| COUNTERS[i].load(Relaxed));
    let (lo, hi) = (
        counts.iter().min().copied().unwrap_or(0),
        counts.iter().max().copied().unwrap_or(0),
    );
    if hi - lo > 1 {
        return Err(alloc::format!("counters out of balance: {counts:?}"));
    }
    Ok(())
}
