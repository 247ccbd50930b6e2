//! Real parallelism (QEMU MTTCG, no `-icount`: the four cores run at once on the host's
//! threads): four threads, one per core, each make 1,000,000 increments of a counter behind a
//! `Mutex`, and the total is exact. A second counter, incremented without the lock by
//! read-then-write, shows the cores really did overlap (it loses updates), so the exact total
//! is the lock's doing and not a side effect of the cores taking turns.
//! xtask: smp=4
//! xtask: icount=off
//! xtask: timeout=240
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use preempt::sync::{Arc, Mutex};
use preempt::thread::Builder;
use preempt::{check, check_eq, cpu, println};

preempt::entry!(main);

const THREADS: usize = 4;
const PER_THREAD: u64 = 1_000_000;

/// Incremented by a plain load and store, so that overlapping cores lose updates.
static RACY: AtomicU64 = AtomicU64::new(0);

fn main() {
    check_eq!(cpu::count(), THREADS);
    let counter = Arc::new(Mutex::new(0u64));
    let workers: Vec<_> = (0..THREADS)
        .map(|core| {
            let counter = counter.clone();
            Builder::new()
                .name("incrementer")
                .priority(20)
                .affinity(1 << core)
                .spawn(move || {
                    for _ in 0..PER_THREAD {
                        *counter.lock().unwrap() += 1;
                        RACY.store(RACY.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                    }
                    cpu::current()
                })
                .expect("spawn")
        })
        .collect();
    for (core, w) in workers.into_iter().enumerate() {
        check_eq!(w.join().expect("incrementer"), core);
    }
    let total = *counter.lock().unwrap();
    let racy = RACY.load(Ordering::Relaxed);
    println!("locked total {total}, unlocked total {racy}");
    check_eq!(total, THREADS as u64 * PER_THREAD);
    check!(
        racy < THREADS as u64 * PER_THREAD,
        "the unlocked counter lost nothing: the cores never overlapped"
    );
    println!("smp_stress_mutex: all ok");
}
