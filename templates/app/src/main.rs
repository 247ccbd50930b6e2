//! A small preempt program: four threads of two priorities share the work of a sum, report
//! to a Mutex-protected tally, and `main` joins them and checks the result.
//!
//! `cargo run` boots it in QEMU; the exit status is the program's (0 when `main` returns,
//! or the code given to `preempt::exit`).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use preempt::println;
use preempt::sync::{Arc, Mutex};
use preempt::thread::{self, Builder};
use preempt::time::{Duration, Instant};

preempt::entry!(main);

/// Numbers summed: 0..N, split evenly between the workers.
const N: u64 = 1_000_000;
const WORKERS: u64 = 4;

fn main() {
    let start = Instant::now();
    let tally = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..WORKERS)
        .map(|i| {
            let tally = Arc::clone(&tally);
            Builder::new()
                .name(alloc::format!("worker-{i}"))
                // Two at a higher priority: they run first; the timer tick round-robins
                // threads of equal priority.
                .priority(if i < 2 { 140 } else { 120 })
                .spawn(move || {
                    let chunk = N / WORKERS;
                    let sum: u64 = (i * chunk..(i + 1) * chunk).sum();
                    thread::sleep(Duration::from_millis(1 + i));
                    let me = thread::current();
                    tally.lock().expect("tally").push((i, sum));
                    println!(
                        "{} (priority {}): partial sum {sum}",
                        me.name().unwrap_or("?"),
                        me.priority()
                    );
                    sum
                })
                .expect("spawn worker")
        })
        .collect();

    let total: u64 = workers.into_iter().map(|w| w.join().expect("worker")).sum();
    let reports = tally.lock().expect("tally").len();
    println!(
        "sum of 0..{N} = {total} from {reports} threads in {} us",
        start.elapsed().as_micros()
    );
    if total != N * (N - 1) / 2 || reports != WORKERS as usize {
        println!("wrong result");
        preempt::exit(1);
    }
}
