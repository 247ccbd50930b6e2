//! `Mutex` with priority inheritance: a low-priority thread holds a lock that a high-priority
//! thread needs while a medium one hogs the CPU. Watch `low` run at priority 200 while it
//! holds the lock, so `high` is not held up by `medium`. The three threads are pinned to one
//! core (`affinity`), so that they compete for it as on a single-core system: on four cores
//! `medium` would otherwise hog a core of its own and nobody would need to wait.
#![no_std]
#![no_main]

use preempt::println;
use preempt::sync::Mutex;
use preempt::thread::{self, Builder};
use preempt::time::{Duration, Instant};

preempt::entry!(main);

static SHARED: Mutex<u32> = Mutex::new(0);

/// The one core the three threads share (bit 0: core 0).
const ONE_CORE: u32 = 1 << 0;

fn spin(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {}
}

fn main() {
    let t0 = Instant::now();
    let low = Builder::new()
        .name("low")
        .affinity(ONE_CORE)
        .priority(10)
        .spawn(move || {
            let mut g = SHARED.lock().unwrap();
            thread::sleep(Duration::from_millis(2));
            println!(
                "[{:>5} us] low holds the lock, running at priority {}",
                t0.elapsed().as_micros(),
                thread::current().priority()
            );
            spin(Duration::from_millis(2));
            *g += 1;
        })
        .unwrap();
    thread::sleep(Duration::from_millis(1));
    let medium = Builder::new()
        .name("medium")
        .affinity(ONE_CORE)
        .priority(100)
        .spawn(move || {
            spin(Duration::from_millis(20));
            println!(
                "[{:>5} us] medium finished hogging the CPU",
                t0.elapsed().as_micros()
            );
        })
        .unwrap();
    let high = Builder::new()
        .name("high")
        .affinity(ONE_CORE)
        .priority(200)
        .spawn(move || {
            let mut g = SHARED.lock().unwrap();
            *g += 1;
            println!("[{:>5} us] high got the lock", t0.elapsed().as_micros());
        })
        .unwrap();
    high.join().unwrap();
    medium.join().unwrap();
    low.join().unwrap();
    println!("counter = {}", *SHARED.lock().unwrap());
}
