//! Kernel-object operations that never block, each timed as a pair by one thread:
//! - `sem_pair`: `Semaphore::acquire` (a permit is there) + `Semaphore::release` (nobody waits);
//! - `mutex_uncontended`: `Mutex::lock` + dropping the guard, no other thread involved;
//! - `channel_pair`: `SyncSender::send` of a four-word message (room in the channel) +
//!   `Receiver::recv` of it (the message is there);
//! - `pool_pair`: `BlockPool::alloc` of a 128-byte block (one is free) + `BlockPool::free` of it.
//!
//! xtask: timeout=60
#![no_std]
#![no_main]

use preempt::pool::BlockPool;
use preempt::sync::{mpsc, Mutex, Semaphore};
use preempt_bench::{init, measure, report, Unit, SAMPLES};

preempt::entry!(main);

static SEM: Semaphore = Semaphore::new(1);
static MUTEX: Mutex<u64> = Mutex::new(0);

/// Calls before timing starts: objects are created on first use and tables grow once.
const WARMUP: usize = 100;

fn main() {
    init("sync_ops");
    let mut samples = measure(SAMPLES, WARMUP, || {
        SEM.acquire();
        SEM.release();
    });
    report("sem_pair", Unit::Instructions, &mut samples);

    let mut samples = measure(SAMPLES, WARMUP, || {
        *MUTEX.lock().expect("mutex") += 1;
    });
    report("mutex_uncontended", Unit::Instructions, &mut samples);

    let (tx, rx) = mpsc::sync_channel::<[u64; 4]>(16);
    let mut n = 0u64;
    let mut samples = measure(SAMPLES, WARMUP, || {
        tx.send([n, n + 1, n + 2, n + 3]).expect("send");
        let m = rx.recv().expect("recv");
        core::hint::black_box(m);
        n += 1;
    });
    report("channel_pair", Unit::Instructions, &mut samples);

    let pool = BlockPool::new(128, 16).expect("pool");
    let mut samples = measure(SAMPLES, WARMUP, || {
        let block = pool.alloc().expect("a free block");
        pool.free(block);
    });
    report("pool_pair", Unit::Instructions, &mut samples);
}
