//! Time: `Instant`, `sleep`, `sleep_until` for a drift-free periodic loop, and changing the
//! tick rate at run time.
#![no_std]
#![no_main]

use preempt::println;
use preempt::thread;
use preempt::time::{Duration, Instant};

preempt::entry!(main);

fn main() {
    println!(
        "counter frequency: {} Hz, tick: {} Hz",
        Instant::frequency(),
        preempt::config::tick_hz()
    );

    let t0 = Instant::now();
    thread::sleep(Duration::from_millis(3));
    println!("sleep(3 ms) took {} us", t0.elapsed().as_micros());

    // A periodic task: sleep_until the next multiple of the period, so lateness never adds up.
    let start = Instant::now();
    let period = Duration::from_millis(2);
    let mut next = start;
    for i in 0..5 {
        next += period;
        thread::sleep_until(next);
        println!(
            "period {i}: woke at {:>5} us (due {:>5} us)",
            start.elapsed().as_micros(),
            (next - start).as_micros()
        );
    }

    // A faster tick shortens the worst-case lateness of every sleep.
    preempt::config::set_tick_hz(10_000).expect("10 kHz is in range");
    let t1 = Instant::now();
    thread::sleep(Duration::from_micros(250));
    println!(
        "at 10 kHz, sleep(250 us) took {} us",
        t1.elapsed().as_micros()
    );
    if let Err(e) = preempt::config::set_tick_hz(5) {
        println!("rejected: {e}");
    }
}
