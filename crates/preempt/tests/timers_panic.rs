//! A panicking timer callback ends the timer service thread like any thread, but not the
//! system nor the other timers: that timer is stopped (its closure dropped), a new service
//! thread takes over the rest, and new timers work.
//! xtask: expect-output=thread 'timer-service' panicked at
//! xtask: expect-output=deliberate timer panic 3
//! xtask: expect-output=timers_panic: ok
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use preempt::thread;
use preempt::time::Duration;
use preempt::timer::Timer;
use preempt::{check, check_eq, println};

preempt::entry!(main);

const MS: Duration = Duration::from_millis(1);

struct OnDrop(&'static AtomicBool);

impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn main() {
    static STEADY: AtomicU64 = AtomicU64::new(0);
    static DOOMED: AtomicU64 = AtomicU64::new(0);
    static DROPPED: AtomicBool = AtomicBool::new(false);
    let steady = Timer::periodic(MS, || {
        STEADY.fetch_add(1, Ordering::Relaxed);
    });
    let guard = OnDrop(&DROPPED);
    let doomed = Timer::periodic(MS, move || {
        let _keep = &guard;
        let n = DOOMED.fetch_add(1, Ordering::Relaxed) + 1;
        if core::hint::black_box(n) == 3 {
            panic!("deliberate timer panic {n}");
        }
    });
    // A one-shot due after the panic must still fire.
    static LATER: AtomicU64 = AtomicU64::new(0);
    let later = Timer::once(Duration::from_micros(5500), || {
        LATER.fetch_add(1, Ordering::Relaxed);
    });
    thread::sleep(MS * 8);
    check!(!doomed.is_active(), "the panicking timer is still active");
    check_eq!(doomed.fired(), 3);
    check_eq!(DOOMED.load(Ordering::Relaxed), 3);
    check!(
        DROPPED.load(Ordering::Relaxed),
        "the panicking timer's closure was not dropped"
    );
    check_eq!(LATER.load(Ordering::Relaxed), 1);
    check!(!later.is_active());
    let before = STEADY.load(Ordering::Relaxed);
    check!(
        before >= 7,
        "the steady timer fired {} times in 8 ms",
        before
    );
    thread::sleep(MS * 5);
    let after = STEADY.load(Ordering::Relaxed);
    check!(
        after >= before + 4,
        "the steady timer stopped: {} then {}",
        before,
        after
    );
    check!(steady.is_active());
    doomed.cancel(); // over already: nothing happens
                     // Again: a second panic is survived too, and new timers work.
    let again = Timer::once(MS, || panic!("deliberate timer panic again"));
    static NEW: AtomicU64 = AtomicU64::new(0);
    let _new = Timer::once(MS * 2, || {
        NEW.fetch_add(1, Ordering::Relaxed);
    });
    thread::sleep(MS * 4);
    check!(!again.is_active());
    check_eq!(NEW.load(Ordering::Relaxed), 1);
    steady.cancel();
    check!(STEADY.load(Ordering::Relaxed) >= after + 3);
    println!("timers_panic: ok");
}
