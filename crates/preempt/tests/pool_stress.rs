//! `BlockPool` under stress: threads of different priorities take blocks (`alloc`, retried
//! after short sleeps, and `alloc_timeout`, so some wait for a block and are woken by a free)
//! from a pool smaller than their number, stamp every word of the block with their id and
//! sequence number while they hold it, and check the stamp before giving it back; an
//! interrupt handler raised at arbitrary points takes two blocks, returns the first and keeps
//! the second until its next run (the pop, pop, push pattern that makes a pop it interrupted
//! see its old head again); a 50 kHz tick preempts equal priorities anywhere. A block handed
//! out twice shows up as a foreign stamp; at the end every block is free again and each
//! can be taken exactly once.
//!
//! xtask: expect-output=pool_stress: ok
//! xtask: timeout=120
#![no_std]
#![no_main]

extern crate alloc;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use preempt::irq;
use preempt::pool::{Block, BlockPool};
use preempt::sync::Mutex;
use preempt::thread::{self, Builder};
use preempt::time::Duration;
use preempt::{check, check_eq, println};

preempt::entry!(main);

const THREADS: usize = 5;
const PRIORITY: [u8; THREADS] = [100, 120, 120, 140, 160];
const PER: u64 = 30_000;
const BLOCKS: usize = 4;
const WORDS: usize = 8;
const IRQ_ID: u64 = 0xff;
const SGI: u32 = 5;

static POOL: Mutex<Option<&'static BlockPool>> = Mutex::new(None);
/// The block the handler keeps between two runs.
static HELD: Mutex<Option<Block>> = Mutex::new(None);
static IRQ_PAIRS: AtomicU64 = AtomicU64::new(0);
static STOP: AtomicBool = AtomicBool::new(false);

fn stamp(b: &mut Block, id: u64, seq: u64) {
    for (w, word) in b.as_mut_slice().chunks_exact_mut(8).take(WORDS).enumerate() {
        word.copy_from_slice(&(id << 56 | seq << 8 | w as u64).to_ne_bytes());
    }
}

fn check_stamp(b: &mut Block, id: u64, seq: u64) {
    for (w, word) in b.as_mut_slice().chunks_exact_mut(8).take(WORDS).enumerate() {
        let got = u64::from_ne_bytes(word.try_into().expect("word"));
        check!(
            got == id << 56 | seq << 8 | w as u64,
            "block {:p} held by {:#x} (seq {}) has word {} = {:#x}: handed out twice",
            b.as_ptr(),
            id,
            seq,
            w,
            got
        );
    }
}

fn handler(_line: u32) {
    let (Ok(pool), Ok(mut held)) = (POOL.try_lock(), HELD.try_lock()) else {
        return;
    };
    let Some(pool) = *pool else { return };
    let n = IRQ_PAIRS.load(Ordering::Relaxed);
    if let Some(mut b) = held.take() {
        check_stamp(&mut b, IRQ_ID, n);
        pool.free(b);
        return;
    }
    if let Some(mut a) = pool.alloc() {
        stamp(&mut a, IRQ_ID, n + 1);
        if let Some(mut b) = pool.alloc() {
            stamp(&mut b, IRQ_ID, n + 1);
            check_stamp(&mut a, IRQ_ID, n + 1);
            pool.free(a);
            *held = Some(b);
            IRQ_PAIRS.store(n + 1, Ordering::Relaxed);
        } else {
            check_stamp(&mut a, IRQ_ID, n + 1);
            pool.free(a);
        }
    }
}

fn main() {
    preempt::config::set_tick_hz(50_000).expect("tick rate");
    let pool: &'static BlockPool = Box::leak(Box::new(BlockPool::new(64, BLOCKS).expect("pool")));
    *POOL.lock().expect("pool slot") = Some(pool);
    irq::register(irq::sgi_line(SGI), handler).expect("register");

    let workers: Vec<_> = (0..THREADS)
        .map(|id| {
            Builder::new()
                .name("worker")
                .priority(PRIORITY[id])
                .spawn(move || {
                    let (mut waited, mut empty) = (0u64, 0u64);
                    for seq in 0..PER {
                        let mut b = loop {
                            let got = if id % 2 == 0 {
                                empty += u64::from(pool.free_blocks() == 0);
                                pool.alloc_timeout(Duration::from_micros(200))
                            } else {
                                pool.alloc()
                            };
                            match got {
                                Some(b) => break b,
                                None if id % 2 == 0 => waited += 1,
                                None => thread::sleep(Duration::from_micros(3)),
                            }
                        };
                        stamp(&mut b, id as u64, seq);
                        for _ in 0..(seq % 7) * 20 {
                            core::hint::spin_loop();
                        }
                        if seq % 5 == 0 {
                            thread::yield_now();
                        }
                        check_stamp(&mut b, id as u64, seq);
                        if seq % 2 == 0 {
                            pool.free(b);
                        } else {
                            drop(b);
                        }
                    }
                    (waited, empty)
                })
                .expect("spawn worker")
        })
        .collect();

    // Wakes at arbitrary points, preempts whoever runs and raises the handler's interrupt.
    let disturber = preempt::testing::spawn_disturber(&STOP, SGI);

    let (mut timeouts, mut empty) = (0, 0);
    for w in workers {
        let (t, e) = w.join().expect("worker");
        timeouts += t;
        empty += e;
    }
    STOP.store(true, Ordering::Relaxed);
    disturber.join().expect("disturber");
    irq::unregister(irq::sgi_line(SGI)).expect("unregister");
    preempt::config::set_tick_hz(1000).expect("tick rate");
    drop(HELD.lock().expect("held").take());
    *POOL.lock().expect("pool slot") = None;

    check_eq!(pool.free_blocks(), BLOCKS);
    let mut all: Vec<_> = (0..BLOCKS).map(|_| pool.alloc().expect("block")).collect();
    check!(pool.alloc().is_none(), "more blocks than the pool holds");
    all.sort_by_key(|b| b.as_ptr() as usize);
    all.dedup_by_key(|b| b.as_ptr() as usize);
    check_eq!(all.len(), BLOCKS);
    println!(
        "{} thread pairs, {} handler pairs, {} timed waits on an empty pool, {} timed out",
        THREADS as u64 * PER,
        IRQ_PAIRS.load(Ordering::Relaxed),
        empty,
        timeouts
    );
    println!("pool_stress: ok");
}
