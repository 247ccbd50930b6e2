//! The README's tour of the API, built and run by `cargo xtask test` (an xtask unit test
//! checks that the README shows exactly this program).
#![no_std]
#![no_main]
extern crate alloc;

use preempt::println;
use preempt::thread::{self, Builder};
use preempt::time::{Duration, Instant};

preempt::entry!(main);

fn main() {
    // Default priority is 128; higher numbers run first (0..=255).
    let worker = Builder::new()
        .name("worker")
        .priority(100)
        .stack_size(32 * 1024)
        .spawn(|| (1..=10u64).product::<u64>())
        .expect("spawn"); // bad stack sizes or out-of-memory are Err, not panics

    let t0 = Instant::now();
    thread::sleep(Duration::from_millis(5)); // blocks; never early, late by microseconds
    println!("slept {} us", t0.elapsed().as_micros());

    println!("10! = {}", worker.join().unwrap()); // blocks until the worker returns
    println!("I am {:?}", thread::current().name());
} // returning from main shuts the system down with exit status 0
