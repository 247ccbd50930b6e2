//! Time: `Instant`, `sleep`, `sleep_until` for a drift-free periodic loop, sleeps far shorter
//! than a millisecond (there is no tick: each wakes at its deadline), and the time slice.
#![no_std]
#![no_main]

use preempt::println;
use preempt::thread;
use preempt::time::{Duration, Instant};

preempt::entry!(main);

fn main() {
    println!(
        "counter frequency: {} Hz, time slice: {:?}",
        Instant::frequency(),
        preempt::config::time_slice()
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

    // No tick rounds a sleep up: 50 us means 50 us (plus the wake-up's few hundred
    // instructions).
    let t1 = Instant::now();
    thread::sleep(Duration::from_micros(50));
    println!("sleep(50 us) took {} us", t1.elapsed().as_micros());

    preempt::config::set_time_slice(Duration::from_micros(500)).expect("500 us is in range");
    if let Err(e) = preempt::config::set_time_slice(Duration::from_nanos(100)) {
        println!("rejected: {e}");
    }
}
