//! RwLock re-entry by the thread that holds it: taking write access again, read access while
//! writing, or write access while reading would wait for the caller itself. Each ends the
//! calling thread with a panic (its `join` returns `Err`) instead of hanging. A second read by
//! a reader succeeds, even while a writer waits; try_read/try_write report `WouldBlock`; holds
//! of dead readers are dropped; more reader threads than the lock tracks at once all get in.
//! xtask: timeout=60
//! xtask: expect-output=deadlock: a thread asked to write an RwLock it is already writing
//! xtask: expect-output=deadlock: a thread asked to read an RwLock it is already writing
//! xtask: expect-output=deadlock: a thread asked to write an RwLock it is already reading
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use preempt::sync::{Arc, RwLock, TryLockError, MAX_READER_THREADS};
use preempt::thread::{self, Builder, JoinHandle};
use preempt::time::{Duration, Instant};
use preempt::{check, check_eq, println};

preempt::entry!(main);

/// Waits (bounded) for `h` to end and returns whether it failed.
fn ends_failed<T>(what: &str, h: JoinHandle<T>) -> bool {
    let t0 = Instant::now();
    while !h.is_finished() {
        check!(
            t0.elapsed() < Duration::from_millis(500),
            "{}: the thread hangs",
            what
        );
        thread::sleep(Duration::from_millis(1));
    }
    h.join().is_err()
}

fn spawn<T: Send + 'static>(name: &str, f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
    Builder::new()
        .name(name)
        .priority(100)
        .spawn(f)
        .expect("spawn")
}

fn main() {
    let h = spawn("write-write", || {
        let l = RwLock::new(0u32);
        let _w = l.write();
        let _again = l.write();
    });
    check!(
        ends_failed("write then write", h),
        "write then write returned"
    );

    let h = spawn("write-read", || {
        let l = RwLock::new(0u32);
        let _w = l.write();
        let _r = l.read();
    });
    check!(
        ends_failed("write then read", h),
        "write then read returned"
    );

    let h = spawn("read-write", || {
        let l = RwLock::new(0u32);
        let _r = l.read();
        let _w = l.write();
    });
    check!(
        ends_failed("read then write", h),
        "read then write returned"
    );

    // The non-blocking forms just say no.
    let l = RwLock::new(0u32);
    {
        let _w = l.write().expect("write");
        check!(matches!(l.try_write(), Err(TryLockError::WouldBlock)));
        check!(matches!(l.try_read(), Err(TryLockError::WouldBlock)));
    }
    {
        let _r = l.read().expect("read");
        check!(matches!(l.try_write(), Err(TryLockError::WouldBlock)));
        check!(l.try_read().is_ok());
    }
    check!(l.try_write().is_ok());

    // A reader reads again while a writer waits: allowed (the writer waits for both holds).
    // The writer starts only once the reader reads (with several cores both run at once).
    let rw = Arc::new(RwLock::new(1u32));
    let writer_waiting = Arc::new(AtomicBool::new(false));
    let reading = Arc::new(AtomicBool::new(false));
    let (rw2, ww, rd) = (rw.clone(), writer_waiting.clone(), reading.clone());
    let reader = spawn("reader", move || {
        let a = rw2.read().expect("first read");
        rd.store(true, Ordering::Relaxed);
        while !ww.load(Ordering::Relaxed) {
            thread::sleep(Duration::from_millis(1));
        }
        thread::sleep(Duration::from_millis(2)); // the writer is queued by now
        let b = rw2.read().expect("second read");
        let c = rw2.try_read().expect("third read");
        *a + *b + *c
    });
    let (rw3, ww, rd) = (rw.clone(), writer_waiting.clone(), reading.clone());
    let writer = spawn("writer", move || {
        while !rd.load(Ordering::Relaxed) {
            thread::sleep(Duration::from_millis(1));
        }
        ww.store(true, Ordering::Relaxed);
        *rw3.write().expect("write") += 1;
    });
    check!(
        !ends_failed("recursive read", reader),
        "recursive read failed"
    );
    check!(!ends_failed("writer", writer), "writer failed");
    check_eq!(*rw.read().expect("read"), 2);

    // A reader that dies holding its read access does not block writers for ever.
    let rw2 = rw.clone();
    let h = spawn("dying-reader", move || {
        let _r = rw2.read();
        panic!("dying while reading");
    });
    check!(ends_failed("dying reader", h));
    let t0 = Instant::now();
    *rw.write().expect("write after a dead reader") += 1;
    check!(t0.elapsed() < Duration::from_millis(100));

    // More reader threads at once than the lock tracks individually: all get in.
    static INSIDE: AtomicU32 = AtomicU32::new(0);
    static MOST: AtomicU32 = AtomicU32::new(0);
    let readers: Vec<_> = (0..12)
        .map(|_| {
            let rw = rw.clone();
            spawn("many", move || {
                let g = rw.read().expect("read");
                let n = INSIDE.fetch_add(1, Ordering::Relaxed) + 1;
                MOST.fetch_max(n, Ordering::Relaxed);
                thread::sleep(Duration::from_millis(3));
                INSIDE.fetch_sub(1, Ordering::Relaxed);
                *g
            })
        })
        .collect();
    for r in readers {
        check!(!ends_failed("many readers", r));
    }
    let most = MOST.load(Ordering::Relaxed) as usize;
    check!(
        (2..=MAX_READER_THREADS).contains(&most),
        "{} readers at once",
        most
    );
    println!("rwlock_reentry: ok");
}
