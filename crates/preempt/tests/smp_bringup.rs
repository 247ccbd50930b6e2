//! All four cores run threads: `cpu::count()` is 4, and four busy threads, each recording the
//! cores it finds itself on, are seen on every core 0..4 (the idle cores pick them up from the
//! one ready queue on their ticks).
//!
//! xtask: smp=4
//! xtask: timeout=120
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};
use preempt::thread::Builder;
use preempt::time::{Duration, Instant};
use preempt::{check, check_eq, cpu, println};

preempt::entry!(main);

/// Bit n: some thread ran on core n.
static SEEN: AtomicU32 = AtomicU32::new(0);

const ALL: u32 = 0b1111;

fn main() {
    check_eq!(cpu::count(), 4);
    check!(cpu::current() < 4, "core {} out of range", cpu::current());
    let give_up = Instant::now() + Duration::from_millis(500);
    let workers: Vec<_> = (0..4)
        .map(|i| {
            Builder::new()
                .name(alloc::format!("spinner{i}"))
                .spawn(move || {
                    let mut mine = 0u32;
                    while SEEN.load(Ordering::Relaxed) != ALL && Instant::now() < give_up {
                        let bit = 1 << cpu::current();
                        if mine & bit == 0 {
                            mine |= bit;
                            SEEN.fetch_or(bit, Ordering::Relaxed);
                        }
                    }
                    mine
                })
                .expect("spawn")
        })
        .collect();
    for (i, w) in workers.into_iter().enumerate() {
        let mine = w.join().expect("join");
        println!("spinner{i} ran on cores {mine:#06b}");
    }
    let seen = SEEN.load(Ordering::Relaxed);
    if seen != ALL {
        preempt::testing::dump_sched();
        for c in 0..4 {
            println!("core {}: ipis {:?}", c, preempt::testing::ipi::counts(c));
        }
    }
    check_eq!(seen, ALL);
    println!("smp bring-up ok: {} cores", cpu::count());
}
