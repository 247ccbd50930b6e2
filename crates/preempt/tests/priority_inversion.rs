//! Priority inheritance: the classic inversion (low holds a mutex, medium hogs the CPU, high
//! waits) resolves with high getting the lock long before medium finishes; the boost is
//! transitive through a chain of owners and is removed on unlock.
//!
//! Inversion is per-core policy: `main` and every thread it spawns share one core on purpose
//! (with several cores medium would hog one core while low and high run on others).
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use preempt::sync::{Arc, Condvar, Mutex};
use preempt::thread::{self, Builder};
use preempt::time::{Duration, Instant};
use preempt::{check, check_eq, cpu, println};

preempt::entry!(main);

static A: Mutex<()> = Mutex::new(());
static B: Mutex<()> = Mutex::new(());
static HIGH_GOT_LOCK_US: AtomicU64 = AtomicU64::new(0);
static MEDIUM_DONE_US: AtomicU64 = AtomicU64::new(0);
static LOW_BOOSTED_TO: AtomicU8 = AtomicU8::new(0);

fn spin(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {}
}

fn main() {
    let one = 1 << cpu::current();
    check!(thread::set_affinity(one).is_ok(), "pinning main");
    let start = Instant::now();
    let us = move || start.elapsed().as_micros() as u64;
    // main (priority 128) orchestrates; it blocks in join while the scenario plays out.
    let low = Builder::new()
        .name("low")
        .priority(10)
        .affinity(one)
        .spawn(move || {
            let _g = A.lock().expect("A");
            thread::sleep(Duration::from_millis(2)); // let the others line up
            spin(Duration::from_millis(3));
            LOW_BOOSTED_TO.store(thread::current().priority(), Ordering::Relaxed);
            spin(Duration::from_millis(1));
        })
        .expect("low");
    thread::sleep(Duration::from_millis(1)); // low now holds A
    let medium = Builder::new()
        .name("medium")
        .priority(100)
        .affinity(one)
        .spawn(move || {
            spin(Duration::from_millis(30));
            MEDIUM_DONE_US.store(us(), Ordering::Relaxed);
        })
        .expect("medium");
    let high = Builder::new()
        .name("high")
        .priority(200)
        .affinity(one)
        .spawn(move || {
            let _g = A.lock().expect("A");
            HIGH_GOT_LOCK_US.store(us(), Ordering::Relaxed);
        })
        .expect("high");
    high.join().expect("high");
    medium.join().expect("medium");
    low.join().expect("low");
    let got = HIGH_GOT_LOCK_US.load(Ordering::Relaxed);
    let med = MEDIUM_DONE_US.load(Ordering::Relaxed);
    check!(
        got < med,
        "high got the lock at {} us, after medium finished at {} us",
        got,
        med
    );
    check!(got < 10_000, "high waited {} us", got);
    check_eq!(LOW_BOOSTED_TO.load(Ordering::Relaxed), 200);

    // Transitive: t1 (prio 10) holds A; t2 (prio 20) holds B and waits for A; t3 (prio 220)
    // waits for B. t1 must run at 220.
    let seen = Arc::new(AtomicU8::new(0));
    let seen1 = seen.clone();
    let t1 = Builder::new()
        .priority(10)
        .affinity(one)
        .spawn(move || {
            let _a = A.lock().expect("A");
            thread::sleep(Duration::from_millis(3));
            seen1.store(thread::current().priority(), Ordering::Relaxed);
        })
        .expect("t1");
    thread::sleep(Duration::from_millis(1));
    let t2 = Builder::new()
        .priority(20)
        .affinity(one)
        .spawn(|| {
            let _b = B.lock().expect("B");
            let _a = A.lock().expect("A");
        })
        .expect("t2");
    thread::sleep(Duration::from_millis(1));
    let t3 = Builder::new()
        .priority(220)
        .affinity(one)
        .spawn(|| {
            let _b = B.lock().expect("B");
        })
        .expect("t3");
    t3.join().expect("t3");
    t2.join().expect("t2");
    t1.join().expect("t1");
    check_eq!(seen.load(Ordering::Relaxed), 220);
    check_eq!(
        thread::current().priority(),
        preempt::thread::DEFAULT_PRIORITY
    );

    // Condvar wait by a boosted owner: low holds C, high waits for C (boosting low), low waits
    // on the condvar — the mutex goes to high in the same step, and low sleeps until notified.
    let shared = Arc::new((Mutex::new(0u32), Condvar::new()));
    let s1 = shared.clone();
    let low = Builder::new()
        .name("cv-low")
        .priority(10)
        .affinity(one)
        .spawn(move || {
            let (m, cv) = &*s1;
            let mut g = m.lock().expect("C");
            thread::sleep(Duration::from_millis(1)); // high queues on C meanwhile
            *g += 1;
            g = cv.wait_while(g, |v| *v < 2).expect("wait");
            *g += 10;
            *g
        })
        .expect("cv-low");
    thread::sleep(Duration::from_micros(500));
    let s2 = shared.clone();
    let high = Builder::new()
        .name("cv-high")
        .priority(210)
        .affinity(one)
        .spawn(move || {
            let (m, cv) = &*s2;
            let mut g = m.lock().expect("C");
            *g += 1;
            cv.notify_one();
            *g
        })
        .expect("cv-high");
    check_eq!(high.join().expect("cv-high"), 2);
    check_eq!(low.join().expect("cv-low"), 12);
    println!(
        "priority_inversion: ok (high got the lock at {} us; medium finished at {} us)",
        got, med
    );
}
