//! Mutex: mutual exclusion under preemption, try_lock, lock_timeout accuracy, poisoning when
//! an owner panics, and a clear failure (not a hang) on relocking.
//! xtask: expect-output=deadlock: a thread locked a Mutex it already holds
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use preempt::sync::{Arc, Mutex, Semaphore, TryLockError};
use preempt::thread::{self, Builder};
use preempt::time::{Duration, Instant};
use preempt::{check, check_eq, println};

preempt::entry!(main);

static COUNTER: Mutex<u64> = Mutex::new(0);

fn main() {
    preempt::config::set_tick_hz(20_000).expect("tick");
    // 4 threads x 2000 read-modify-write increments with a yield inside the critical section.
    let ts: Vec<_> = (0..4)
        .map(|_| {
            Builder::new()
                .priority(50)
                .spawn(|| {
                    for i in 0..2000 {
                        let mut g = COUNTER.lock().expect("lock");
                        let v = *g;
                        if i % 7 == 0 {
                            thread::yield_now();
                        }
                        *g = v + 1;
                    }
                })
                .expect("spawn")
        })
        .collect();
    for t in ts {
        t.join().expect("worker");
    }
    check_eq!(*COUNTER.lock().expect("lock"), 8000);

    // try_lock and lock_timeout while another thread holds the lock. The holder says when it
    // holds it (with several cores it starts on another one while `main` goes on).
    static LOCKED: Semaphore = Semaphore::new(0);
    let m = Arc::new(Mutex::new(5u32));
    let m2 = m.clone();
    let holder = Builder::new()
        .priority(200)
        .spawn(move || {
            let _g = m2.lock().expect("lock");
            LOCKED.release();
            thread::sleep(Duration::from_millis(20));
        })
        .expect("spawn");
    LOCKED.acquire();
    check!(matches!(m.try_lock(), Err(TryLockError::WouldBlock)));
    let tick = Duration::from_micros(50);
    for ms in [1u64, 3, 5] {
        let t0 = Instant::now();
        check!(matches!(
            m.lock_timeout(Duration::from_millis(ms)),
            Err(TryLockError::WouldBlock)
        ));
        let took = t0.elapsed();
        check!(
            took >= Duration::from_millis(ms),
            "lock_timeout({} ms) returned after {:?}",
            ms,
            took
        );
        check!(
            took <= Duration::from_millis(ms) + tick + Duration::from_micros(100),
            "lock_timeout({} ms) took {:?}",
            ms,
            took
        );
    }
    let Ok(g) = m.lock_timeout(Duration::from_millis(100)) else {
        preempt::testing::_fail(
            file!(),
            line!(),
            format_args!("no lock after the holder left"),
        )
    };
    check_eq!(*g, 5);
    drop(g);
    holder.join().expect("holder");

    // Poisoning: the owner panics while holding the lock.
    let p = Arc::new(Mutex::new(1u32));
    let p2 = p.clone();
    let r = thread::spawn(move || {
        let _g = p2.lock().expect("lock");
        panic!("dying with the lock held");
    })
    .join();
    check!(r.is_err());
    match p.lock() {
        Err(e) => check_eq!(*e.into_inner(), 1),
        Ok(_) => preempt::testing::_fail(file!(), line!(), format_args!("lock was not poisoned")),
    }
    check!(p.is_poisoned());
    p.clear_poison();
    check!(p.lock().is_ok());

    // Relocking is reported, not a silent hang: the thread ends with a panic.
    let r = thread::spawn(|| {
        let m = Mutex::new(());
        let _a = m.lock();
        let _b = m.lock();
    })
    .join();
    check!(r.is_err());
    println!("sync_mutex: ok");
}
