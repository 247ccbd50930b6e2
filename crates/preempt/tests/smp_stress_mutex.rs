//! Real parallelism (QEMU MTTCG, no `-icount`: the four cores run at once on the host's
//! threads): four threads, one per core, each make up to [`PER_THREAD`] increments of a
//! counter behind a `Mutex` (fewer if [`BUDGET`] runs out first: the host sets the pace),
//! starting together, and the total is exactly the sum of what each thread counted. Each thread counts, as it
//! ends, how many were incrementing at that moment: at least two at once, or the exact total
//! could be a side effect of the threads taking turns rather than the lock's doing.
//! xtask: smp=4
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
/// Increments per thread: the million. On this 2-core host running 4 vCPUs the rate
/// ranges from 400,000 passes a second with the host otherwise idle (4 x 1,000,000 in about
/// 10 s) down to 8,000-40,000 with other QEMUs beside it, so the run is also bounded in time
/// ([`BUDGET`]) and says how far it got. Before the take-over of a pending mutex (see
/// `sched_core::scheduler::mutex`), a host-preempted vCPU made a waiter block and from then on
/// every unlock handed the mutex to a blocked thread (a convoy: about 2,000 passes a second;
/// 4 x 50,000 timed out at 120 s). What is left is the emulation, not the convoy: 4 threads on
/// 4 separate mutexes made 0.5-7 million passes a second in the same runs, and a slow path
/// (about 1 in 1,000 passes) waits tens of milliseconds for the scheduler's ticket lock when a
/// vCPU is descheduled by the host.
const PER_THREAD: u64 = 1_000_000;
/// Time after which the threads stop early (checked every [`CHECK_EVERY`] increments).
const BUDGET: Duration = Duration::from_secs(50);
const CHECK_EVERY: u64 = 4096;

/// Threads that have started and finished incrementing.
static STARTED: AtomicU64 = AtomicU64::new(0);
static FINISHED: AtomicU64 = AtomicU64::new(0);
/// The most threads seen incrementing at the same time (checked at each thread's end).
static MOST_AT_ONCE: AtomicU64 = AtomicU64::new(0);

fn main() {
    check_eq!(cpu::count(), THREADS);
    let counter = Arc::new(Mutex::new(0u64));
    let t0 = Instant::now();
    let workers: Vec<_> = (0..THREADS)
        .map(|core| {
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
    for (core, w) in workers.into_iter().enumerate() {
        let (ran_on, mine) = w.join().expect("incrementer");
        check_eq!(ran_on, core);
        counted += mine;
    }
    let total = *counter.lock().unwrap();
    let ms = t0.elapsed().as_millis().max(1) as u64;
    let at_once = MOST_AT_ONCE.load(Ordering::SeqCst);
    println!(
        "total {total} in {ms} ms ({} passes/s); at most {at_once} threads incrementing at once",
        total * 1000 / ms
    );
    if counted < THREADS as u64 * PER_THREAD {
        println!(
            "stopped by the {} s budget before {} per thread (a slow or busy host)",
            BUDGET.as_secs(),
            PER_THREAD
        );
    }
    check_eq!(total, counted);
    check!(
        at_once >= 2,
        "no two threads were ever incrementing at the same time"
    );
    println!("smp_stress_mutex: all ok");
}
