//! Thread-Metric preemptive scheduling (`tm_preemptive`): five threads of five priorities.
//! All but the lowest start suspended. The lowest resumes the next one up, which preempts it
//! at once, counts and resumes the next one up, and so on; the highest counts and suspends
//! itself, and control falls back down the chain, each thread suspending itself in turn until
//! the lowest runs again and counts. Score: the sum of the five counters; they must stay
//! within one of each other.
//!
//! Suspend and resume are `thread::park` and `Thread::unpark` (a thread only ever suspends
//! itself here, which is exactly what parking is).
//!
//! xtask: timeout=60
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use preempt::thread::{self, Thread};
use preempt_bench::tm;

preempt::entry!(main);

const THREADS: usize = 5;
static COUNTERS: [AtomicU64; THREADS] = [const { AtomicU64::new(0) }; THREADS];

fn main() {
    tm::setup("tm_preemptive");
    // Spawned from the top down so that each thread is given the handle of the one above it.
    // TM priorities 10 (lowest, thread 0) up to 6 (highest, thread 4).
    let mut above: Option<Thread> = None;
    let mut handles = Vec::new();
    for i in (0..THREADS).rev() {
        let next = above.take();
        let h = preempt_bench::builder()
            .name(alloc::format!("pre{i}"))
            .priority(tm::priority(10 - i as u8))
            .spawn(move || worker(i, next))
            .expect("spawn");
        above = Some(h.thread().clone());
        handles.push(h);
    }
    tm::report("tm_preemptive", total, balanced);
}

fn worker(i: usize, next: Option<Thread>) {
    loop {
        if i > 0 {
            thread::park(); // suspended until the thread below resumes this one
        }
        if i == 0 {
            // The lowest resumes the next thread first, which preempts it right away.
            if let Some(next) = &next {
                next.unpark();
            }
            COUNTERS[i].store(COUNTERS[i].load(Relaxed) + 1, Relaxed);
        } else {
            COUNTERS[i].store(COUNTERS[i].load(Relaxed) + 1, Relaxed);
            if let Some(next) = &next {
                next.unpark();
            }
        }
    }
}

fn total() -> u64 {
    COUNTERS.iter().map(|c| c.load(Relaxed)).sum()
}

fn balanced() -> Result<(), alloc::string::String> {
    let counts: [u64; THREADS] = core::array::from_fn(|i| COUNTERS[i].load(Relaxed));
    let lo = counts.iter().min().copied().unwrap_or(0);
    let hi = counts.iter().max().copied().unwrap_or(0);
    if hi - lo > 1 {
        return Err(alloc::format!("counters out of balance: {counts:?}"));
    }
    Ok(())
}
