//! `thread::scope`, written from std's documentation: scoped threads borrow from the caller's
//! stack (shared and mutable borrows), are joined at the end of the scope if not by hand, may
//! spawn more threads into the same scope, and hand back values through their handles; the
//! scope returns its closure's value. A scoped thread that panics makes `scope` panic after
//! all are joined, unless its handle's `join` reported it.
//!
//! Without unwinding the kernel keeps the borrow sound when the scope's owner fails: an owner
//! that panics, or faults, inside `scope` does not exit before its scoped threads end, and its
//! frames — which they borrow — stay intact (a fault exits on the thread's exit stack). Like
//! unwinding, the failed owner first gives up its locks: a scoped thread waiting for a `Mutex`
//! or `RwLock` the owner held gets it, poisoned, instead of both waiting forever.
//! xtask: expect-output=thread 'owner-panics' panicked at
//! xtask: expect-output=fault in thread 'owner-faults'
//! xtask: expect-output=scoped_threads: ok
//! xtask: timeout=120
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use preempt::sync::{Mutex, RwLock};
use preempt::thread::{self, Builder, Scope, ScopedJoinHandle};
use preempt::time::Duration;
use preempt::{check, check_eq, println};

preempt::entry!(main);

fn send_sync<T: Send + Sync>() {}

/// std: `Scope` is `Sync` (threads of the scope spawn into it) and handles are `Send + Sync`.
fn bounds() {
    send_sync::<Scope<'static, 'static>>();
    send_sync::<ScopedJoinHandle<'static, u32>>();
}

/// Equal-priority threads each own a chunk of a stack array, mutably, and interleave.
fn mutable_chunks() {
    let mut cells = [0u32; 64];
    let shared = [7u32; 8];
    let total = AtomicU32::new(0);
    let result = thread::scope(|s| {
        for (n, chunk) in cells.chunks_mut(16).enumerate() {
            let shared = &shared;
            let total = &total;
            s.spawn(move || {
                for round in 0..200u32 {
                    for c in chunk.iter_mut() {
                        *c += 1;
                    }
                    if round % 50 == 0 {
                        thread::yield_now();
                    }
                }
                total.fetch_add(shared[n] * 16, Ordering::Relaxed);
            });
        }
        "scope value"
    });
    check_eq!(result, "scope value");
    check!(
        cells.iter().all(|&c| c == 200),
        "every cell written by its own thread"
    );
    check_eq!(total.load(Ordering::Relaxed), 4 * 7 * 16);
}

/// Values come back through the handles; a handle's `is_finished` and `thread()` work.
fn values_through_handles() {
    let data: Vec<u64> = (1..=100).collect();
    let (a, b) = thread::scope(|s| {
        let low = s.spawn(|| data[..50].iter().sum::<u64>());
        let high = Builder::new()
            .name("high-half")
            .spawn_scoped(s, || data[50..].iter().sum::<u64>())
            .expect("spawn_scoped");
        check_eq!(high.thread().name(), Some("high-half"));
        let high_sum = high.join().expect("high half");
        (low.join().expect("low half"), high_sum)
    });
    check_eq!(a + b, 5050);
}

/// `scope` returns only after threads nobody joined have ended, including one spawned by a
/// thread of the scope.
fn joins_at_end() {
    let done = AtomicUsize::new(0);
    thread::scope(|s| {
        s.spawn(|| {
            thread::sleep(Duration::from_millis(20));
            done.fetch_add(1, Ordering::Relaxed);
            s.spawn(|| {
                thread::sleep(Duration::from_millis(10));
                done.fetch_add(10, Ordering::Relaxed);
            });
        });
    });
    check_eq!(
        done.load(Ordering::Relaxed),
        11,
        "scope returned before its threads ended"
    );
}

/// A failed thread joined by hand is reported by its `join` alone; one left to the scope makes
/// the scope panic, after every thread ended.
fn failures() {
    let r = thread::scope(|s| {
        let h = s.spawn(|| -> u32 { panic!("scoped failure {}", 7) });
        h.join()
    });
    let e = r.expect_err("a panicking scoped thread joins Err");
    check!(
        e.message().contains("scoped failure 7"),
        "message: {}",
        e.message()
    );

    static SLOW_DONE: AtomicBool = AtomicBool::new(false);
    let outer = Builder::new()
        .name("scope-reports")
        .spawn(|| {
            thread::scope(|s| {
                s.spawn(|| panic!("left to the scope"));
                s.spawn(|| {
                    thread::sleep(Duration::from_millis(20));
                    SLOW_DONE.store(true, Ordering::Relaxed);
                });
            });
        })
        .expect("spawn");
    let e = outer
        .join()
        .expect_err("scope must panic for an unjoined failed thread");
    check!(
        e.message().contains("scoped thread panicked"),
        "message: {}",
        e.message()
    );
    check!(
        SLOW_DONE.load(Ordering::Relaxed),
        "scope panicked before all threads ended"
    );
}

/// The owner panics inside `scope` while its scoped thread still borrows its frame: the owner
/// does not end (its `join` does not return) before that thread has ended, and the frame
/// stays intact until then.
fn owner_fails(name: &'static str, fault: bool) {
    static CHILD_DONE: AtomicBool = AtomicBool::new(false);
    static CHILD_SAW: AtomicU32 = AtomicU32::new(0);
    CHILD_DONE.store(false, Ordering::Relaxed);
    CHILD_SAW.store(0, Ordering::Relaxed);
    let owner = Builder::new()
        .name(name)
        .priority(100)
        .spawn(move || {
            let mut frame = [0xa5u8; 512];
            core::hint::black_box(&mut frame);
            thread::scope(|s| {
                let frame = &frame;
                s.spawn(move || {
                    thread::sleep(Duration::from_millis(30));
                    let intact = frame.iter().filter(|&&b| b == 0xa5).count() as u32;
                    CHILD_SAW.store(intact, Ordering::Relaxed);
                    CHILD_DONE.store(true, Ordering::Release);
                });
                if fault {
                    let p = core::hint::black_box(0usize) as *mut u64;
                    // SAFETY: not safe at all: this test wants the fault (page 0 is unmapped).
                    unsafe { p.write_volatile(1) };
                }
                panic!("owner gives up");
            });
        })
        .expect("spawn");
    let e = owner.join().expect_err("the owner failed");
    check_eq!(e.is_fault(), fault);
    check!(
        CHILD_DONE.load(Ordering::Acquire),
        "{}: the failed owner ended while its scoped thread still ran",
        name
    );
    check_eq!(
        CHILD_SAW.load(Ordering::Relaxed),
        512,
        "{}: borrowed frame changed",
        name
    );
}

/// The owner panics holding a `Mutex` and an `RwLock` its scoped threads wait for: they get
/// them, poisoned, and everything ends.
fn owner_fails_holding_locks() {
    static MUTEX: Mutex<u32> = Mutex::new(0);
    static RWLOCK: RwLock<u32> = RwLock::new(0);
    static POISONED_SEEN: AtomicU32 = AtomicU32::new(0);
    let owner = Builder::new()
        .name("owner-holds-locks")
        .priority(100)
        .spawn(|| {
            let _m = MUTEX.lock().expect("fresh mutex");
            let _w = RWLOCK.write().expect("fresh rwlock");
            thread::scope(|s| {
                s.spawn(|| {
                    if MUTEX.lock().is_err() {
                        POISONED_SEEN.fetch_add(1, Ordering::Relaxed);
                    }
                });
                s.spawn(|| {
                    if RWLOCK.read().is_err() {
                        POISONED_SEEN.fetch_add(1, Ordering::Relaxed);
                    }
                });
                thread::sleep(Duration::from_millis(10)); // both wait for the locks now
                panic!("owner gives up holding locks");
            });
        })
        .expect("spawn");
    check!(owner.join().is_err());
    check_eq!(
        POISONED_SEEN.load(Ordering::Relaxed),
        2,
        "both saw the locks poisoned"
    );
    check!(MUTEX.is_poisoned());
}

fn main() {
    bounds();
    mutable_chunks();
    values_through_handles();
    joins_at_end();
    failures();
    owner_fails("owner-panics", false);
    owner_fails("owner-faults", true);
    owner_fails_holding_locks();
    println!("scoped_threads: ok");
}
