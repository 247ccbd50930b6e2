//! Condvar producer–consumer, semaphores, event flags, barrier, RwLock, Once/OnceLock and
//! park/unpark — with timeout accuracy for every timed call.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};
use preempt::sync::{
    Arc, Barrier, Condvar, EventFlags, Mutex, Once, OnceLock, RwLock, Semaphore, WaitMode,
};
use preempt::thread::{self, Builder};
use preempt::time::{Duration, Instant};
use preempt::{check, check_eq, println};

preempt::entry!(main);

const SLACK: Duration = Duration::from_micros(150);

fn timed(ms: u64, f: impl FnOnce(Duration) -> bool) {
    let d = Duration::from_millis(ms);
    let t = Instant::now();
    let timed_out = f(d);
    let took = t.elapsed();
    check!(timed_out, "a {} ms wait did not time out", ms);
    check!(
        took >= d && took <= d + SLACK,
        "a {} ms timeout took {:?}",
        ms,
        took
    );
}

fn main() {
    preempt::config::set_tick_hz(20_000).expect("tick");
    // Bounded buffer with a mutex and two condition variables.
    let shared = Arc::new((Mutex::new(VecDeque::new()), Condvar::new(), Condvar::new()));
    let consumer = {
        let shared = shared.clone();
        Builder::new()
            .priority(90)
            .spawn(move || {
                let (m, not_empty, not_full) = &*shared;
                let mut sum = 0u64;
                for _ in 0..1000 {
                    let mut q = not_empty
                        .wait_while(m.lock().expect("lock"), |q| q.is_empty())
                        .expect("wait");
                    sum += q.pop_front().expect("item");
                    drop(q);
                    not_full.notify_one();
                }
                sum
            })
            .expect("spawn")
    };
    let producers: Vec<_> = (0..2u64)
        .map(|p| {
            let shared = shared.clone();
            Builder::new()
                .priority(80)
                .spawn(move || {
                    let (m, not_empty, not_full) = &*shared;
                    for i in 0..500u64 {
                        let mut q = not_full
                            .wait_while(m.lock().expect("lock"), |q| q.len() >= 3)
                            .expect("wait");
                        q.push_back(p * 10_000 + i);
                        drop(q);
                        not_empty.notify_one();
                    }
                })
                .expect("spawn")
        })
        .collect();
    for p in producers {
        p.join().expect("producer");
    }
    let expected: u64 = (0..500u64).sum::<u64>() * 2 + 10_000 * 500;
    check_eq!(consumer.join().expect("consumer"), expected);
    let (m, cv, _) = &*shared;
    for ms in [1, 3] {
        timed(ms, |d| {
            cv.wait_timeout(m.lock().expect("lock"), d)
                .expect("wait")
                .1
                .timed_out()
        });
    }
    timed(2, |d| {
        cv.wait_timeout_while(m.lock().expect("lock"), d, |_| true)
            .expect("wait")
            .1
            .timed_out()
    });

    // Semaphore: counting, handoff to a waiter, timeouts.
    let sem = Arc::new(Semaphore::new(2));
    check!(sem.try_acquire() && sem.try_acquire() && !sem.try_acquire());
    timed(2, |d| !sem.acquire_timeout(d));
    let s2 = sem.clone();
    let waiter = Builder::new()
        .priority(200)
        .spawn(move || {
            s2.acquire();
            1
        })
        .expect("spawn");
    sem.release();
    check_eq!(waiter.join().expect("waiter"), 1);
    check_eq!(sem.available_permits(), 0);

    // Event flags: any / all, clear on exit, timeouts.
    let ev = Arc::new(EventFlags::new());
    let e2 = ev.clone();
    let all = Builder::new()
        .priority(200)
        .spawn(move || e2.wait(0b0110, WaitMode::All, true))
        .expect("spawn");
    ev.set(0b0010);
    check!(!all.is_finished());
    ev.set(0b0100);
    check_eq!(all.join().expect("all") & 0b0110, 0b0110);
    check_eq!(ev.get() & 0b0110, 0);
    ev.set(0b1000);
    check_eq!(ev.wait(0b1001, WaitMode::Any, false), 0b1000);
    timed(2, |d| {
        ev.wait_timeout(0b1_0000, WaitMode::Any, false, d).is_none()
    });

    // Barrier: 4 threads, exactly one leader per round.
    let barrier = Arc::new(Barrier::new(4));
    let leaders = Arc::new(AtomicU32::new(0));
    let ts: Vec<_> = (0..4)
        .map(|_| {
            let (b, l) = (barrier.clone(), leaders.clone());
            thread::spawn(move || {
                for _ in 0..10 {
                    if b.wait().is_leader() {
                        l.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in ts {
        t.join().expect("barrier thread");
    }
    check_eq!(leaders.load(Ordering::Relaxed), 10);

    // RwLock: readers share, a writer excludes.
    let rw = Arc::new(RwLock::new(0u32));
    {
        let r1 = rw.read().expect("r1");
        let Ok(r2) = rw.try_read() else {
            preempt::testing::_fail(file!(), line!(), format_args!("second reader refused"))
        };
        check!(rw.try_write().is_err());
        check_eq!(*r1 + *r2, 0);
    }
    let writers: Vec<_> = (0..3)
        .map(|_| {
            let rw = rw.clone();
            thread::spawn(move || {
                for _ in 0..100 {
                    *rw.write().expect("write") += 1;
                    let _ = *rw.read().expect("read");
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("writer");
    }
    check_eq!(*rw.read().expect("read"), 300);

    // Once / OnceLock.
    static ONCE: Once = Once::new();
    static RUNS: AtomicU32 = AtomicU32::new(0);
    static CELL: OnceLock<u32> = OnceLock::new();
    let ts: Vec<_> = (0..4)
        .map(|i| {
            thread::spawn(move || {
                ONCE.call_once(|| {
                    RUNS.fetch_add(1, Ordering::Relaxed);
                });
                *CELL.get_or_init(|| 40 + i)
            })
        })
        .collect();
    let vals: Vec<u32> = ts.into_iter().map(|t| t.join().expect("once")).collect();
    check_eq!(RUNS.load(Ordering::Relaxed), 1);
    check!(vals.iter().all(|&v| v == vals[0]));
    check!(CELL.set(1).is_err());

    // park / unpark / park_timeout.
    let parked = Builder::new()
        .priority(200)
        .spawn(|| {
            thread::park();
            7
        })
        .expect("spawn");
    check!(!parked.is_finished());
    parked.thread().unpark();
    check_eq!(parked.join().expect("parked"), 7);
    thread::current().unpark();
    let t = Instant::now();
    thread::park(); // token already there: returns at once
    check!(t.elapsed() < Duration::from_millis(1));
    timed(3, |d| {
        thread::park_timeout(d);
        true
    });
    println!("sync_misc: ok");
}
