//! Strict priority: a ready thread never runs while a higher-priority one is ready, and a
//! sleeping high-priority thread preempts a busy low one as soon as its timer expires.
//!
//! Both are per-core policy: `main` and every thread it spawns share one core on purpose (with
//! several cores the low threads would run beside the high ones on other cores).
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};
use preempt::thread::{self, Builder};
use preempt::time::{Duration, Instant};
use preempt::{check, cpu, println};

preempt::entry!(main);

static LOW_COUNT: AtomicU64 = AtomicU64::new(0);

fn main() {
    let one = 1 << cpu::current();
    check!(thread::set_affinity(one).is_ok(), "pinning main");
    // A low thread spins counting; a high thread spins for 5 ms checking that the count does
    // not move while it runs.
    let low = Builder::new()
        .name("low")
        .priority(10)
        .affinity(one)
        .spawn(|| {
            let start = Instant::now();
            while start.elapsed() < Duration::from_millis(30) {
                LOW_COUNT.fetch_add(1, Ordering::Relaxed);
            }
        })
        .expect("spawn low");
    thread::sleep(Duration::from_millis(2)); // let `low` start counting
    check!(
        LOW_COUNT.load(Ordering::Relaxed) > 0,
        "low never ran while main slept"
    );
    let high = Builder::new()
        .name("high")
        .priority(200)
        .affinity(one)
        .spawn(|| {
            let before = LOW_COUNT.load(Ordering::Relaxed);
            let start = Instant::now();
            while start.elapsed() < Duration::from_millis(5) {}
            LOW_COUNT.load(Ordering::Relaxed) - before
        })
        .expect("spawn high");
    let moved = high.join().expect("high");
    check!(
        moved == 0,
        "the low thread ran {} times while a higher one was busy",
        moved
    );

    // Wake-up preemption: a high thread sleeps while `low2` spins; on waking it must run
    // within about one tick of its deadline even though `low2` never yields.
    let low2 = Builder::new()
        .name("low2")
        .priority(10)
        .affinity(one)
        .spawn(|| {
            let start = Instant::now();
            while start.elapsed() < Duration::from_millis(20) {}
        })
        .expect("spawn low2");
    let sleeper = Builder::new()
        .name("sleeper")
        .priority(220)
        .affinity(one)
        .spawn(|| {
            let due = Instant::now() + Duration::from_millis(5);
            thread::sleep_until(due);
            due.elapsed()
        })
        .expect("spawn sleeper");
    let late = sleeper.join().expect("sleeper");
    let tick = Duration::from_micros(1_000_000 / preempt::config::tick_hz() as u64);
    check!(
        late <= tick + Duration::from_micros(100),
        "woke {:?} late (tick {:?})",
        late,
        tick
    );
    low.join().expect("low");
    low2.join().expect("low2");
    println!("priority: ok (wake-up latency {} us)", late.as_micros());
}
