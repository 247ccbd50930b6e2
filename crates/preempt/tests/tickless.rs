//! Tickless: while every thread sleeps, the timer fires only for the next deadline; while
//! equal-priority threads compete, it fires at the end of each slice.
//!
//! One core, on every board: under `-icount` with several cores `cargo xtask` gives every
//! core a turn tick for the emulator's sake (`preempt::testing::icount_turn`), which would be
//! counted here; `smp_tickless` checks several cores, in parallel and in real time.
//! xtask: smp=1
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicBool, Ordering};
use preempt::testing::timer_interrupts as ticks_taken;
use preempt::thread::{self, Builder};
use preempt::time::{Duration, Instant};
use preempt::{check, cpu, println};

preempt::entry!(main);

static STOP: AtomicBool = AtomicBool::new(false);

fn main() {
    // Idle for 50 ms: at 1 kHz a periodic tick would fire 50 times.
    let before = ticks_taken();
    let t0 = Instant::now();
    thread::sleep(Duration::from_millis(50));
    let idle_ticks = ticks_taken() - before;
    let took = t0.elapsed();
    check!(took >= Duration::from_millis(50), "woke early: {:?}", took);
    check!(
        took <= Duration::from_micros(50_200),
        "tickless wake-up should be exact, took {:?}",
        took
    );
    check!(
        preempt::testing::icount_turn().is_none(),
        "an emulator turn tick on one core"
    );
    check!(
        idle_ticks <= 2,
        "{} timer interrupts while idle for 50 ms",
        idle_ticks
    );

    // Several sleepers with different deadlines: each wakes on time with few ticks.
    let before = ticks_taken();
    let sleepers: [_; 3] = core::array::from_fn(|i| {
        Builder::new()
            .priority(150)
            .spawn(move || {
                let t = Instant::now();
                thread::sleep(Duration::from_millis(7 * (i as u64 + 1)));
                t.elapsed()
            })
            .expect("spawn")
    });
    for (i, s) in sleepers.into_iter().enumerate() {
        let took = s.join().expect("sleeper");
        check!(
            took >= Duration::from_millis(7 * (i as u64 + 1)),
            "sleeper {} woke early",
            i
        );
    }
    let sleeper_ticks = ticks_taken() - before;
    check!(
        sleeper_ticks <= 8,
        "{} timer interrupts for three sleeps over 21 ms",
        sleeper_ticks
    );

    // Two equal-priority busy threads: each slice (1 ms) ends with a timer interrupt (about
    // 10 in 10 ms).
    let before = ticks_taken();
    let one = 1 << cpu::current();
    let busy: [_; 2] = core::array::from_fn(|_| {
        Builder::new()
            .priority(100)
            .affinity(one)
            .spawn(|| {
                while !STOP.load(Ordering::Relaxed) {
                    core::hint::spin_loop();
                }
            })
            .expect("spawn")
    });
    thread::sleep(Duration::from_millis(10));
    STOP.store(true, Ordering::Relaxed);
    for b in busy {
        b.join().expect("busy");
    }
    let busy_ticks = ticks_taken() - before;
    check!(
        busy_ticks >= 9,
        "only {} timer interrupts while two threads shared the CPU for 10 ms",
        busy_ticks
    );
    println!(
        "tickless: ok (timer interrupts: idle 50 ms: {}; sleepers: {}; busy 10 ms: {})",
        idle_ticks, sleeper_ticks, busy_ticks
    );
}
