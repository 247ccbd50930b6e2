//! `sleep` blocks (other threads run meanwhile), never returns early, and returns at most
//! about one tick late; `Instant` arithmetic agrees with the counter.
//!
//! `main` and the low-priority counter share one core on purpose: only then does the counter
//! moving during a sleep show that `main` gave its core up (on another core it would count
//! anyway).
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use preempt::thread::{self, Builder};
use preempt::time::{Duration, Instant};
use preempt::{check, cpu, println};

preempt::entry!(main);

static SPINS: AtomicU64 = AtomicU64::new(0);
static STOP: AtomicBool = AtomicBool::new(false);

fn main() {
    let one = 1 << cpu::current();
    check!(thread::set_affinity(one).is_ok(), "pinning main");
    let tick = Duration::from_micros(1_000_000 / preempt::config::tick_hz() as u64);
    // A low-priority thread counts while main sleeps: proof that sleep blocks rather than spins.
    let counter = Builder::new()
        .name("counter")
        .priority(1)
        .affinity(one)
        .spawn(|| {
            while !STOP.load(Ordering::Relaxed) {
                SPINS.fetch_add(1, Ordering::Relaxed);
            }
        })
        .expect("spawn");
    let mut worst = Duration::ZERO;
    for ms in [1u64, 2, 3, 5, 10, 17] {
        for _ in 0..3 {
            let asked = Duration::from_millis(ms);
            let before = SPINS.load(Ordering::Relaxed);
            let t0 = Instant::now();
            thread::sleep(asked);
            let took = t0.elapsed();
            check!(
                took >= asked,
                "sleep({:?}) returned after {:?}",
                asked,
                took
            );
            let late = took - asked;
            check!(
                late <= tick + Duration::from_micros(100),
                "sleep({:?}) was {:?} late",
                asked,
                late
            );
            worst = worst.max(late);
            check!(
                SPINS.load(Ordering::Relaxed) > before,
                "nothing ran during sleep({:?})",
                asked
            );
        }
    }
    // sleep_until and Instant arithmetic.
    let t0 = Instant::now();
    let due = t0 + Duration::from_millis(4);
    thread::sleep_until(due);
    check!(Instant::now() >= due);
    check!(due.duration_since(t0) >= Duration::from_micros(3999));
    check!(
        t0.duration_since(due) == Duration::ZERO,
        "duration_since must saturate"
    );
    check!(t0.checked_add(Duration::from_secs(u64::MAX)).is_none());
    // A zero sleep is a yield and returns at once.
    let t1 = Instant::now();
    thread::sleep(Duration::ZERO);
    check!(t1.elapsed() < tick);
    STOP.store(true, Ordering::Relaxed);
    counter.join().expect("counter");
    println!(
        "sleep: ok (worst lateness {} us, tick {} us)",
        worst.as_micros(),
        tick.as_micros()
    );
}
