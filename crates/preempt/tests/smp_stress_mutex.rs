//! Real parallelism (QEMU MTTCG, no `-icount`: the cores run at once on the host's threads):
//! four threads, spread over the cores (thread n on core n mod the core count), each make
//! [`PER_THREAD`] increments of a counter behind a `Mutex`, starting together, and the total
//! is exactly the sum of what each thread counted. Each thread counts, as it ends, how many
//! were incrementing at that moment: at least two at once, or the exact total could be a
//! side effect of the threads taking turns rather than the lock's doing.
//!
//! The run has as many cores as the host (`smp=host`: 2 to 4). With more vCPUs than host
//! cores, the host deschedules a vCPU that holds the mutex or a ticket of the scheduler's lock
//! and the others wait for its next time slice: on a 2-core host, 4 vCPUs made 5,000-25,000
//! passes a second where 2 make millions (docs/performance.md, "Stress sizes under real
//! parallelism"). The threads still stop at [`BUDGET`] so that a starved host cannot hang the
//! run, but stopping early is a failure: the size is the test.
//! xtask: smp=host
//! xtask: icount=off
//! xtask: gic=2
//! xtask: timeout=120
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use preempt::sync::{Arc, Mutex};
use preempt::thread::{self, Builder};
use preempt::time::{Duration, Instant};
use preempt::{check, check_eq, cpu, println};

preempt::entry!(main);

const THREADS: usize = 4;
/// Increments per thread: the million. Before the take-over of a pending mutex (see
/// `sched_core::scheduler::mutex`), a waiter that blocked once made every later unlock hand
/// the mutex to a blocked thread (a convoy: about 2,000 passes a second).
const PER_THREAD: u64 = 1_000_000;
/// Time after which the threads stop early (checked every [`CHECK_EVERY`] increments); a
/// failure, but a clear one rather than a timeout.
const BUDGET: Duration = Duration::from_secs(50);
const CHECK_EVERY: u64 = 4096;

/// Threads that have started and finished incrementing.
static STARTED: AtomicU64 = AtomicU64::new(0);
static FINISHED: AtomicU64 = AtomicU64::new(0);
/// The most threads seen incrementing at the same time (checked at each thread's end).
static MOST_AT_ONCE: AtomicU64 = AtomicU64::new(0);

fn main() {
    let cores = cpu::count();
    check!(cores >= 2, "{} core: nothing runs in parallel", cores);
    let counter = Arc::new(Mutex::new(0u64));
    let t0 = Instant::now();
    let workers: Vec<_> = (0..THREADS)
        .map(|n| {
            let core = n % cores;
            let counter = counter.clone();
            Builder::new()
                .name("incrementer")
                .priority(20)
                .affinity(1 << core)
                .spawn(move || {
                    // All four start together (sleeping, not spinning: `main` may need this
                    // core to spawn the others).
                    STARTED.fetch_add(1, Ordering::SeqCst);
                    while STARTED.load(Ordering::SeqCst) < THREADS as u64 {
                        thread::sleep(Duration::from_millis(1));
                    }
                    let mut mine = 0;
                    while mine < PER_THREAD {
                        if mine % CHECK_EVERY == 0 && t0.elapsed() >= BUDGET {
                            break;
                        }
                        *counter.lock().unwrap() += 1;
                        mine += 1;
                    }
                    let at_once =
                        STARTED.load(Ordering::SeqCst) - FINISHED.fetch_add(1, Ordering::SeqCst);
                    MOST_AT_ONCE.fetch_max(at_once, Ordering::SeqCst);
                    (cpu::current(), mine)
                })
                .expect("spawn")
        })
        .collect();
    let mut counted = 0;
    for (n, w) in workers.into_iter().enumerate() {
        let (ran_on, mine) = w.join().expect("incrementer");
        check_eq!(ran_on, n % cores);
        counted += mine;
    }
    let total = *counter.lock().unwrap();
    let ms = t0.elapsed().as_millis().max(1) as u64;
    let at_once = MOST_AT_ONCE.load(Ordering::SeqCst);
    println!(
        "total {total} in {ms} ms ({} passes/s) on {cores} cores; at most {at_once} threads incrementing at once",
        total * 1000 / ms
    );
    check_eq!(total, counted);
    check!(
        counted == THREADS as u64 * PER_THREAD,
        "stopped by the {} s budget at {} of {} increments (a starved host?)",
        BUDGET.as_secs(),
        counted,
        THREADS as u64 * PER_THREAD
    );
    check!(
        at_once >= 2,
        "no two threads were ever incrementing at the same time"
    );
    println!("smp_stress_mutex: all ok");
}
