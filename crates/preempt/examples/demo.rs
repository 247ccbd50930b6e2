//! The default demo: two more equal-priority workers than there are cores, none of which ever
//! yields, share the cores in 1 ms time slices, while a high-priority thread wakes every 10 ms
//! and preempts whichever worker runs on the core it takes.
//!
//! Read the output: every worker makes progress although no worker ever gives up a core and
//! there are more of them than cores (that is preemption: round robin among equals), and each
//! `high` line appears on time in the middle of them (that is priority).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use preempt::thread::{self, Builder};
use preempt::time::{Duration, Instant};
use preempt::{cpu, println};

preempt::entry!(main);

const RUN: Duration = Duration::from_millis(60);
/// The workers' names: as many as the cores plus two (four cores at most, so six).
const WORKERS: [&str; 6] = ["A", "B", "C", "D", "E", "F"];

fn main() {
    // More workers than cores, so that every core is busy and equal workers must take turns.
    let names = &WORKERS[..(cpu::count() + 2).min(WORKERS.len())];
    println!(
        "preempt demo on {} core(s): {} busy workers at priority 100, one sleeper at priority 200",
        cpu::count(),
        names.len()
    );
    let start = Instant::now();

    let high = Builder::new()
        .name("high")
        .priority(200)
        .spawn(move || {
            let mut late_max = Duration::ZERO;
            for i in 1..=5u32 {
                let due = start + Duration::from_millis(10 * i as u64);
                thread::sleep_until(due);
                let late = due.elapsed();
                late_max = late_max.max(late);
                println!(
                    "  high: woke at {:>5} us (due {:>5} us) and preempted a worker",
                    start.elapsed().as_micros(),
                    (due - start).as_micros()
                );
            }
            late_max
        })
        .expect("spawn high");

    let workers: Vec<_> = names
        .iter()
        .map(|&name| {
            Builder::new()
                .name(name)
                .priority(100)
                .spawn(move || busy_worker(name, start))
                .expect("spawn worker")
        })
        .collect();

    let late_max = high.join().expect("high thread");
    // The workers end on their own; wait for them without joining, so that the table below
    // still lists them with the CPU time each had.
    while !workers.iter().all(|w| w.is_finished()) {
        thread::sleep(Duration::from_millis(1));
    }
    preempt::stats::print();
    let mut total = 0u64;
    let counts: Vec<u64> = workers
        .into_iter()
        .map(|w| w.join().expect("worker"))
        .collect();
    for c in &counts {
        total += c;
    }
    for (name, c) in names.iter().zip(&counts) {
        println!(
            "worker {name}: {c} iterations ({}% of the work)",
            c * 100 / total.max(1)
        );
    }
    println!(
        "high priority thread was at most {} us late",
        late_max.as_micros()
    );
    println!("demo finished after {} ms", start.elapsed().as_millis());
}

/// Spins without ever yielding, printing a line every 8 ms of wall time.
fn busy_worker(name: &str, start: Instant) -> u64 {
    let mut iterations = 0u64;
    let mut next_report = Duration::from_millis(8);
    loop {
        iterations += 1;
        core::hint::black_box(iterations);
        let t = start.elapsed();
        if t >= next_report {
            println!(
                "worker {name}: {iterations:>8} iterations at {:>5} us",
                t.as_micros()
            );
            next_report += Duration::from_millis(8);
        }
        if t >= RUN {
            return iterations;
        }
    }
}
