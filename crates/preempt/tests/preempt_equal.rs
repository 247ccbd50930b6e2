//! A thread that never yields is preempted by an equal-priority thread, and a higher-priority
//! thread spawned by a lower one runs before `spawn` returns.
//!
//! Both are per-core policy: `main` and every thread it spawns share one core on purpose
//! (with several cores the spinner and the setter would otherwise run side by side, and the
//! high thread would start on an idle core while `main` goes on).
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use preempt::thread::{self, Builder};
use preempt::time::{Duration, Instant};
use preempt::{check, cpu, println};

preempt::entry!(main);

static FLAG: AtomicBool = AtomicBool::new(false);
static HIGH_RAN: AtomicU32 = AtomicU32::new(0);

fn main() {
    let one = 1 << cpu::current();
    check!(thread::set_affinity(one).is_ok(), "pinning main");
    // Two threads at the same priority; the spinner never yields and only stops when the
    // setter has run, which can only happen if the spinner is preempted.
    let spinner = Builder::new()
        .name("spinner")
        .priority(100)
        .affinity(one)
        .spawn(|| {
            let start = Instant::now();
            while !FLAG.load(Ordering::Relaxed) {
                if start.elapsed() > Duration::from_millis(50) {
                    return false;
                }
            }
            true
        });
    let setter = Builder::new()
        .name("setter")
        .priority(100)
        .affinity(one)
        .spawn(|| FLAG.store(true, Ordering::Relaxed));
    let spinner = spinner.expect("spawn spinner");
    setter.expect("spawn setter").join().expect("setter");
    check!(
        spinner.join().expect("spinner"),
        "the spinner was never preempted by its equal"
    );

    // A higher-priority thread runs before spawn returns to its lower-priority parent.
    let high = Builder::new()
        .priority(250)
        .affinity(one)
        .spawn(|| HIGH_RAN.fetch_add(1, Ordering::Relaxed))
        .expect("spawn");
    check!(
        HIGH_RAN.load(Ordering::Relaxed) == 1,
        "higher-priority thread did not run at spawn"
    );
    high.join().expect("high");
    println!("preempt_equal: ok");
}
